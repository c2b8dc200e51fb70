"""Group commit: one writer at a time, and the writes that wait behind it committed together.

A store's writes are serialised (SQLite has one writer; the PostgreSQL store takes a write lock),
and a durable commit waits for the disk, a millisecond or several. So a thread that finds the
writer busy does not wait for a turn of its own at the disk: it queues its write, and when the
commit under way ends, the next writer commits every write queued so far in one transaction,
one flush for all of them.

* A write **waits** by default: when :meth:`GroupCommit.write` returns, it is committed (a
  durable one on disk: an intent is on disk before its request is sent), or its error raised.
* A non-durable write whose caller says it need not wait (``wait=False``: the engine's outcomes)
  is queued, and committed with the store's next transaction: the next write of any thread, or
  the next read (reads commit what is queued first, so a thread always reads what it wrote), or
  closing the store. A crash may lose it; its attempt then stays ``pending`` under its durable
  intent, and the next run settles it under the same idempotency key, exactly as after a crash
  before Stripe's answer arrived. If it is refused or its commit fails, the error is raised to
  the store's next writer (which stops a run, as a journal that cannot take an outcome always
  has).

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
from typing import Any, NamedTuple

from ledgerrun.errors import JournalError

Statement = tuple[str, Sequence[Any]]


class Write(NamedTuple):
    """Statements committed together; applied when the last one's row count is above zero."""

    doing: str  # what it does, for an error message ("record the intent of adjustment ...")
    row: str  # the row it writes (writes of distinct rows may be sent grouped by statement)
    statements: tuple[Statement, ...]
    durable: bool  # on disk once committed (else committed without waiting for the disk)
    otherwise: Callable[[], None]  # when it did not apply: the rules one by one, alone
    single: Statement | None = None  # the same as one statement, where the dialect allows it


Runner = Callable[[Sequence[Write]], list[bool]]
"""Runs writes in one transaction and returns whether each applied; raises when the
transaction fails (then none of them is committed)."""


class _Ticket:
    __slots__ = ("_wake", "applied", "error", "lead", "waits", "write")

    def __init__(self, write: Write | None, waits: bool = True) -> None:
        self.write = write  # None: the caller wants the writer's place for its own transaction
        self.waits = waits  # its caller waits for its answer
        self.lead = False  # its caller was handed the writer's place
        self.applied = False
        self.error: BaseException | None = None
        self._wake: threading.Lock | None = None

    def arm(self) -> None:
        """Ready to sleep: a wake that comes before the sleep is not lost."""
        self._wake = threading.Lock()
        self._wake.acquire()

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
        self._changed = threading.Condition(self._lock)  # the place was left, or all committed
        self._busy = False  # a thread holds the writer's place (or is being handed it)
        self._owner: int | None = None  # the thread holding it
        self._queue: deque[_Ticket] = deque()
        self._deferred = 0  # writes queued whose callers did not wait
        self._failed: BaseException | None = None  # one of them failed: for the next writer

    def write(self, write: Write, wait: bool = True) -> None:
        """Commit ``write`` (see the module docstring); raises its error, or the error of an
        earlier write that did not wait."""
        if self._owner == threading.get_ident():
            raise RuntimeError("a write inside the writer's own transaction would wait forever")
        ticket = _Ticket(write, wait or write.durable)
        if self._enter(ticket):
            self._serve([ticket])
        if not ticket.waits:
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
        """Commit the writes queued whose callers did not wait (or wait for the writer who
        does), so that what follows reads them."""
        me = threading.get_ident()
        while self._deferred and self._owner != me:
            with self._lock:
                if self._busy:
                    self._changed.wait()
                    continue
                if not self._deferred:
                    return
                self._busy, self._owner = True, me
            self._serve([])

    # --- the writer's place ---------------------------------------------------------------------

    def _enter(self, ticket: _Ticket, report: bool = True) -> bool:
        """True when the caller holds the writer's place now; False when its write was taken
        by another writer (committed), or queued for the next one (when it does not wait)."""
        with self._lock:
            failed, self._failed = (self._failed, None) if report else (None, self._failed)
            if failed is not None:
                raise _shared(failed, ticket.write)
            if not ticket.waits:
                self._queue.append(ticket)
                self._deferred += 1
                return False
            if not self._busy:
                self._busy, self._owner = True, threading.get_ident()
                return True
            self._queue.append(ticket)
            ticket.arm()
        try:
            ticket.sleep()  # woken done, or as the next writer
        except BaseException:  # interrupted while queued (Ctrl-C in the main thread)
            with self._lock:
                queued = ticket in self._queue
                if queued:
                    self._queue.remove(ticket)
            if not queued and ticket.lead:
                self._leave()  # handed the place meanwhile: hand it on
            raise
        if ticket.lead:
            with self._lock:
                self._owner = threading.get_ident()
        return ticket.lead

    def _serve(self, first: list[_Ticket], drain: bool = False) -> None:
        """Holding the writer's place: commit ``first`` with every write queued behind it (and
        again, while writes are queued, if ``drain``); then hand the place to the next caller
        waiting, or leave it (``drain``: the caller keeps it)."""
        own = first[0] if first else None
        try:
            while True:
                with self._lock:
                    batch = self._take(first)
                first = []
                if batch:
                    self._round(batch, own)
                    own = None
                if not (drain and batch):
                    break
        finally:
            if not drain:
                self._leave()

    def _leave(self) -> None:
        """Hand the writer's place to the first caller waiting, or leave it free (writes queued
        that nobody waits for go with the next transaction)."""
        with self._lock:
            following = next((t for t in self._queue if t.waits), None)
            self._owner = None
            if following is None:
                self._busy = False
                self._changed.notify_all()
            else:
                self._queue.remove(following)
                following.lead = True  # the place stays busy: handed on
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
            if not t.waits:
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
                self._changed.notify_all()
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
