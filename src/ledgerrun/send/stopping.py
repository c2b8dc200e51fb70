"""Stopping a run from the keyboard or a scheduler, without losing track of a single row.

The first Ctrl-C or SIGTERM asks the run to stop: the requests in flight finish, nothing new is
sent, the results are written (exit 3: running the job again finishes it). A second one stops at
once: the rows in flight are left unknown, and the next run settles them from the journal. The
command line and the Python API (where a notebook's "interrupt" is a Ctrl-C) both use this.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from ledgerrun.errors import ExitCode

Notify = Callable[[str, str], None]
"""Tells the operator what is happening: ``notify(message, event)``."""


class stop_on_signals:
    """While the block runs (in the main thread), SIGINT and SIGTERM set ``stop``, then
    ``hard_stop``; the previous handlers are put back when it ends. Elsewhere it does nothing:
    only the main thread may handle signals."""

    def __init__(self, stop: threading.Event, hard_stop: threading.Event, notify: Notify) -> None:
        self.stop = stop
        self.hard_stop = hard_stop
        self.notify = notify
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set():
            self.hard_stop.set()
            self.notify(
                f"{name} again: stopping now; rows in flight are left unknown for the next run "
                "to settle.",
                "stop_now",
            )
            return
        self.stop.set()
        self.notify(
            f"{name}: stopping; finishing the requests in flight, sending nothing new "
            f"(exit {int(ExitCode.INCOMPLETE)}: run the job again to finish).",
            "stopping",
        )

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous.clear()
