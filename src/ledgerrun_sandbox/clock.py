"""The sandbox clock: wall time at start, running on a monotonic clock, movable forward only.

Everything time-based in the sandbox reads this clock: ``created`` fields, the ``Date``
header and idempotency-key expiry. ``POST /_sandbox/clock`` moves it forward so a test can
jump a day ahead without waiting. It never goes backwards, so objects created later never
carry an earlier ``created``.
"""

from __future__ import annotations

import threading
import time


class SandboxClock:
    def __init__(self, start: float | None = None) -> None:
        self._start_wall = time.time() if start is None else start
        self._start_mono = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, as the sandbox sees it."""
        return self._start_wall + (time.monotonic() - self._start_mono) + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0) and return the new time."""
        if not seconds >= 0:
            raise ValueError(f"the clock only moves forward; got {seconds!r} seconds")
        with self._lock:
            self._offset += seconds
        return self.now()
