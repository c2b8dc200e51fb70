"""Delivering notifications without ever holding up or failing what they report on.

:meth:`Notifier.send` returns at once: each channel gets its own thread, which tries up to
``attempts`` times (``timeout_s`` each), pausing 1 s, 2 s, 4 s... between tries when another try
could help. Every outcome is logged through the ``log`` callback (``notify_sent``, or
``notify_failed`` with the reason); nothing is raised. The threads are not daemons, so a command
that prints its report and exits still delivers first, for at most
``attempts x timeout_s`` plus the pauses; :meth:`Notifier.wait` waits for them explicitly.

Sleep is injected, so tests of the retries take no time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ledgerrun.notify.channels import Channel, DeliveryError, channels, redact
from ledgerrun.notify.message import Notification
from ledgerrun.notify.settings import NotifySettings

Log = Callable[[str, str, Mapping[str, Any]], None]
"""``log(event, level, fields)``: ``notify_sent`` (info) or ``notify_failed`` (warning)."""

BACKOFF_S = 1.0

_logger = logging.getLogger("ledgerrun.notify")


def python_log(event: str, level: str, fields: Mapping[str, Any]) -> None:
    """The default: Python's ``logging`` (logger ``ledgerrun.notify``)."""
    detail = ", ".join(f"{k} {v}" for k, v in fields.items())
    _logger.log(logging.INFO if level == "info" else logging.WARNING, f"{event}: {detail}")


class Notifier:
    """The channels of one or more ``[notify]`` tables (a job's and the server's), each once."""

    def __init__(
        self,
        settings: Iterable[NotifySettings | None],
        *,
        env: Mapping[str, str] | None = None,
        log: Log | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        env = os.environ if env is None else env
        self.tables = [s for s in settings if s is not None]
        self.log = log or python_log
        self.sleep = sleep
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._routes: list[tuple[NotifySettings, Channel]] = []
        seen: set[str] = set()
        for table in self.tables:
            for channel in channels(table, env):
                if channel.key not in seen:
                    seen.add(channel.key)
                    self._routes.append((table, channel))

    def __bool__(self) -> bool:
        return bool(self._routes)

    def send(self, note: Notification) -> None:
        """Deliver ``note`` to every channel whose table wants its event, in the background."""
        for table, channel in self._routes:
            if not table.wants(note.event):
                continue
            thread = threading.Thread(
                target=self.deliver,
                args=(channel, note, table.attempts),
                name=f"ledgerrun-notify-{channel.name}",
                daemon=False,
            )
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def deliver(self, channel: Channel, note: Notification, attempts: int) -> bool:
        """Try ``channel`` up to ``attempts`` times; log the outcome; never raise."""
        fields: dict[str, Any] = {"channel": channel.name, "notification": note.event}
        for attempt in range(1, attempts + 1):
            try:
                channel.send(note)
            except DeliveryError as exc:
                if exc.retry and attempt < attempts:
                    self.sleep(BACKOFF_S * 2 ** (attempt - 1))
                    continue
                reason = redact(str(exc), channel.secrets())
                self.log("notify_failed", "warning", {**fields, "attempts": attempt,
                                                      "message": reason})  # fmt: skip
                return False
            except Exception as exc:  # a bug in a channel must not reach the run
                reason = redact(f"{type(exc).__name__}: {exc}", channel.secrets())
                self.log("notify_failed", "warning", {**fields, "attempts": attempt,
                                                      "message": reason})  # fmt: skip
                return False
            self.log("notify_sent", "info", {**fields, "attempts": attempt})
            return True
        return False  # attempts < 1: nothing tried

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the deliveries under way (at most ``timeout`` seconds); True when done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
        return not any(t.is_alive() for t in threads)
