"""Lanes: the tasks of one account one at a time, in order; accounts side by side.

Money leaves an account in ledger order (a later row must not overtake an earlier one that the
balance was planned for), so each account's tasks form a lane worked by one thread at a time;
up to ``concurrency`` lanes run at once, the longest first. The threads belong to :class:`Lanes`:
:meth:`Lanes.wait` returns when every lane is done or a hard stop is asked for, and
:meth:`Lanes.close` joins the threads before the command closes its store (threads still held by
a request on the wire after ``timeout`` are left to finish it; the engine has already stopped
them writing to the journal, see :meth:`~ledgerrun.send.attempts.engine.Engine.close`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Lanes(Generic[T]):
    def __init__(
        self,
        lanes: Sequence[Sequence[T]],
        work: Callable[[T], None],
        *,
        concurrency: int,
        done: Callable[[Sequence[T]], None] = lambda lane: None,
        name: str = "lane",
    ) -> None:
        self._work = work
        self._done = done
        self._queue: queue.Queue[Sequence[T]] = queue.Queue()
        for lane in sorted((lane for lane in lanes if lane), key=len, reverse=True):
            self._queue.put(lane)
        count = max(1, min(concurrency, self._queue.qsize()))
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{n}", daemon=True)
            for n in range(count)
        ]

    def start(self) -> Lanes[T]:
        for thread in self._threads:
            thread.start()
        return self

    def wait(self, hard_stop: threading.Event | None = None, poll_s: float = 0.1) -> bool:
        """Wait for every lane; True when all finished, False when ``hard_stop`` came first."""
        for thread in self._threads:
            while thread.is_alive():
                if hard_stop is not None and hard_stop.is_set():
                    return False
                thread.join(poll_s)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Join every thread, waiting at most ``timeout`` seconds in all."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _loop(self) -> None:
        while True:
            try:
                lane = self._queue.get_nowait()
            except queue.Empty:
                return
            for task in lane:
                self._work(task)
            self._done(lane)
