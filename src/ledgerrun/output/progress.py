"""A one-line progress display for `ledgerrun run` on a terminal.

It redraws a few times a second: rows settled out of the total, a bar, debits per second over the
last few seconds, failures and unknowns so far, an estimate of the time left, and the busiest
large accounts (their rows go one at a time, so they set the pace). It is only used when stdout
is a terminal; in cron the closing summary and the logs say everything.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import deque
from typing import Any, TextIO

from ledgerrun.events import Event, RowDone, RunEnd, Sending
from ledgerrun.vocab import FAILED, UNKNOWN

REDRAW_S = 0.2
RATE_WINDOW_S = 5.0


class Progress:
    def __init__(self, stream: TextIO, clock: Any = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.total = 0
        self.done = 0
        self.failed = 0
        self.unknown = 0
        self.per_account: dict[str, list[int]] = {}  # account -> [done, total]
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- events --------------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunEnd):
            self.close()
            return
        with self._lock:
            if isinstance(event, Sending):
                self.total = event.rows
                self.per_account = {a: [0, n] for a, n in event.accounts.items()}
                self._start()
            elif isinstance(event, RowDone):
                self.done += 1
                self._stamps.append(self.clock())
                status = event.outcome.status
                self.failed += status == FAILED
                self.unknown += status == UNKNOWN
                counts = self.per_account.get(event.account)
                if counts is not None:
                    counts[0] += 1

    # --- drawing -------------------------------------------------------------------------------

    def line(self, width: int = 100) -> str:
        """The progress line as it would be drawn now."""
        with self._lock:
            now = self.clock()
            while self._stamps and self._stamps[0] < now - RATE_WINDOW_S:
                self._stamps.popleft()
            span = (now - self._stamps[0]) if len(self._stamps) > 1 else 0.0
            rate = (len(self._stamps) - 1) / span if span > 0 else 0.0
            left = self.total - self.done
            share = self.done / self.total if self.total else 1.0
            bar = "#" * round(share * 20) + "." * (20 - round(share * 20))
            eta = _duration(left / rate) if rate > 0 and left else "-"
            parts = [
                f"{self.done:,}/{self.total:,} rows [{bar}] {share:4.0%}",
                f"{rate:5.1f}/s",
                f"failed {self.failed}",
                f"unknown {self.unknown}",
                f"left {eta}",
            ]
            busy = self._busiest()
            if busy:
                parts.append("busiest " + ", ".join(busy))
        return "  ".join(parts)[: max(20, width - 1)]

    def _busiest(self) -> list[str]:
        """The large accounts still going, by rows left (a large account holds >= 5% of rows)."""
        floor = max(20, self.total // 20)
        going = [(t - d, a, d, t) for a, (d, t) in self.per_account.items() if t >= floor and d < t]
        return [f"{a} {d}/{t}" for _, a, d, t in sorted(going, reverse=True)[:2]]

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(REDRAW_S):
            self._draw()

    def _draw(self) -> None:
        width = shutil.get_terminal_size((100, 20)).columns
        self.stream.write("\r\x1b[K" + self.line(width))
        self.stream.flush()

    def close(self) -> None:
        """Stop redrawing and clear the line (safe to call more than once)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
