"""Group commit: one writer at a time, and the writes that wait behind it committed together.

A store's writes are serialised (SQLite has one writer; the PostgreSQL store takes a write lock),
and a durable commit waits for the disk, a millisecond or several. So a thread that finds the
writer busy does not wait for a turn of its own at the disk: it queues its write, and when the
commit under way ends, the next writer commits every write queued so far in one transaction,
one flush for all of them.

* A **durable** write (an intent) waits: when :meth:`GroupCommit.write` returns, it is committed,
  on disk, and its own rules were checked; an intent is on disk before its request is sent.
* Any other write (an outcome) does not wait for a commit under way: the writer commits it with
  the next transaction, before it gives the writer's place up. A crash may lose it; its attempt
  then stays ``pending`` under its durable intent, and the next run settles it under the same
  idempotency key, exactly as after a crash before the answer arrived. Reads wait for such
  writes (:meth:`GroupCommit.settle`), so a thread always reads what it wrote. If one fails,
  its error is raised to the next writer of the store (which stops a run, as a journal that
  cannot take an outcome always has).

A :class:`Write` is a few statements whose last one's row count says whether it applied; the
store runs a batch of them (:data:`Runner`) in one transaction. A write that did not apply is
looked at alone by :attr:`Write.otherwise` (the rules one by one: its error is made there).
:meth:`GroupCommit.exclusive` gives a caller the writer's place for a transaction of its own (the
store's other writes: runs, listings, the web's records), after every write queued before it.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ledgerrun.errors import JournalError

Statement = tuple[str, Sequence[Any]]


@dataclass(frozen=True, slots=True)
class Write:
    """Statements committed together; applied when the last one's row count is above zero."""

    doing: str  # what it does, for an error message ("record the intent of adjustment ...")
    row: str  # the row it writes (writes of distinct rows may be sent grouped by statement)
    statements: tuple[Statement, ...]
    durable: bool  # committed, and on disk, before the call returns
    otherwise: Callable[[], None]  # when it did not apply: the rules one by one, alone


Runner = Callable[[Sequence[Write]], list[bool]]
"""Runs writes in one transaction and returns whether each applied; raises when the
transaction fails (then none of them is committed)."""


class _Ticket:
    __slots__ = ("_wake", "applied", "deferred", "error", "lead", "write")

    def __init__(self, write: Write | None) -> None:
        self.write = write  # None: the caller wants the writer's place for its own transaction
        self.deferred = False  # its caller did not wait
        self.lead = False  # its caller was handed the writer's place
        self.applied = False
        self.error: BaseException | None = None
        self._wake: threading.Lock | None = None

    def sleep(self) -> None:
        assert self._wake is not None
        self._wake.acquire()

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.release()


class GroupCommit:
    """The writer's place of one store, and its queue: see the module docstring."""

    def __init__(self, run: Runner, limit: int = 256) -> None:
        self._run = run
        self._limit = limit  # writes per transaction at most
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)  # no deferred write left
        self._busy = False  # a thread holds the writer's place (or is being handed it)
        self._owner: int | None = None  # the thread holding it
        self._queue: deque[_Ticket] = deque()
        self._deferred = 0  # writes whose callers did not wait, not committed yet
        self._failed: BaseException | None = None  # one of them failed: for the next writer

    def write(self, write: Write) -> None:
        """Commit ``write`` (see the module docstring); raises its error, or the error of an
        earlier write that did not wait."""
        if self._owner == threading.get_ident():
            raise RuntimeError(
                "a write inside a transaction of the writer's own would wait forever"
            )
        ticket = _Ticket(write)
        if self._enter(ticket):
            self._serve([ticket])
        if ticket.deferred:
            return
        if ticket.error is not None:
            raise ticket.error
        if not ticket.applied:
            write.otherwise()

    @contextlib.contextmanager
    def exclusive(self, report: bool = True) -> Iterator[None]:
        """The writer's place for a transaction of the caller's own, once every write queued
        before it is committed. Within it, the caller may ask for the place again."""
        if self._owner == threading.get_ident():
            yield
            return
        self._enter(_Ticket(None), report)
        try:
            self._serve([], drain=True)
            yield
        finally:
            self._serve([])

    def settle(self) -> None:
        """Wait until every write whose caller did not wait is committed."""
        if not self._deferred or self._owner == threading.get_ident():
            return
        with self._settled:
            while self._deferred:
                self._settled.wait()

    # --- the writer's place ---------------------------------------------------------------------

    def _enter(self, ticket: _Ticket, report: bool = True) -> bool:
        """True when the caller holds the writer's place now; False when another writer took
        its write (committed, or to be committed when it does not wait)."""
        with self._lock:
            failed, self._failed = (self._failed, None) if report else (None, self._failed)
            if failed is not None:
                raise _shared(failed, ticket.write)
            if not self._busy:
                self._busy, self._owner = True, threading.get_ident()
                return True
            self._queue.append(ticket)
            if ticket.write is not None and not ticket.write.durable:
                ticket.deferred = True
                self._deferred += 1
                return False
            ticket._wake = threading.Lock()
            ticket._wake.acquire()
        try:
            ticket.sleep()  # woken done, or as the next writer
        except BaseException:  # interrupted while queued (Ctrl-C in the main thread)
            with self._lock:
                queued = ticket in self._queue
                if queued:
                    self._queue.remove(ticket)
            if not queued and ticket.lead:
                self._give_up()  # handed the place meanwhile: hand it on
            raise
        if ticket.lead:
            with self._lock:
                self._owner = threading.get_ident()
        return ticket.lead

    def _serve(self, first: list[_Ticket], drain: bool = False) -> None:
        """Holding the writer's place: commit ``first`` with the writes queued behind it, and go
        on while writes are queued that nobody waits for (all writes, if ``drain``); then hand
        the place to the next caller waiting, or give it up (``drain``: the caller keeps it)."""
        own = first[0] if first else None
        following: _Ticket | None = None
        with self._lock:
            batch = self._take(first)
        try:
            while True:
                if batch:
                    self._round(batch, own)
                    own = None
                with self._lock:
                    if not drain:
                        following = next((t for t in self._queue if t._wake is not None), None)
                    if following is not None:
                        self._queue.remove(following)
                        following.lead, self._owner = True, None  # still busy: handed on
                        break
                    batch = self._take([])
                    if not batch:
                        if not drain:
                            self._busy, self._owner = False, None
                        break
        except BaseException:
            if not drain:
                self._give_up()
            raise
        if following is not None:
            following.wake()

    def _give_up(self) -> None:
        """Leave the writer's place after an interruption: to the next caller waiting, if any
        (writes nobody waits for are taken by the next writer)."""
        with self._lock:
            following = next((t for t in self._queue if t._wake is not None), None)
            if following is None:
                self._busy, self._owner = False, None
            else:
                self._queue.remove(following)
                following.lead, self._owner = True, None
        if following is not None:
            following.wake()

    def _round(self, batch: list[_Ticket], own: _Ticket | None) -> None:
        """One transaction of writes; each ticket gets its answer (``own``: the caller's)."""
        stop: BaseException | None = None
        try:
            applied = self._run([t.write for t in batch])  # type: ignore[misc]
        except BaseException as exc:
            for t in batch:
                t.error = exc if t is own else _shared(exc, t.write)
            if not isinstance(exc, Exception):
                stop = exc  # Ctrl-C or exit: still ours to raise, once the batch is answered
        else:
            for t, done in zip(batch, applied, strict=True):
                t.applied = done
        for t in batch:
            if t.deferred:
                stop = self._settle_deferred(t) or stop
            elif t is not own:
                t.wake()
        if stop is not None:
            raise stop

    def _settle_deferred(self, ticket: _Ticket) -> BaseException | None:
        """A write nobody waits for, committed or not: looked at alone if it did not apply
        (still in the writer's place, which it may ask for again); its error kept for the next
        writer. Returns an interruption to raise once the batch is answered."""
        assert ticket.write is not None
        error, stop = ticket.error, None
        if error is None and not ticket.applied:
            try:
                ticket.write.otherwise()
            except BaseException as exc:
                error = exc
                stop = None if isinstance(exc, Exception) else exc
        with self._lock:
            if error is not None and self._failed is None:
                self._failed = error
            self._deferred -= 1
            if not self._deferred:
                self._settled.notify_all()
        return stop

    def _take(self, first: list[_Ticket]) -> list[_Ticket]:
        """``first`` and the writes queued behind it (a transaction of its own waits)."""
        batch = list(first)
        kept: deque[_Ticket] = deque()
        while self._queue:
            t = self._queue.popleft()
            if t.write is not None and len(batch) < self._limit:
                batch.append(t)
            else:
                kept.append(t)
        self._queue = kept
        return batch


def _shared(exc: BaseException, write: Write | None) -> BaseException:
    """A failed commit's error, for another write of the same transaction (or the next one)."""
    doing = write.doing if write is not None else "write"
    if isinstance(exc, JournalError):  # JournalError or StoreUnavailableError, as it was
        error: BaseException = type(exc)(str(exc), exit_code=exc.exit_code)
    else:
        error = JournalError(
            f"the journal could not {doing}: a commit it depended on failed"
            f" ({type(exc).__name__}: {exc})"
        )
    error.__cause__ = exc
    return error
