"""The exactly-once engine: one attempt at one operation, written once for every operation.

An :class:`~ledgerrun.send.attempts.operation.Operation` says what is particular to it (how its
request is built and sent, how it finds itself in Stripe, how it is recorded); the engine owns
the rest, the same for a debit, a credit, a reversal or a refund:

1. **In flight first.** The attempt is marked in flight before anything is written or sent, and
   stays so until its outcome is recorded: a run stopped at any instant reports every attempt
   whose request may have left as ``unknown``, never ``skipped``.
2. **Intent, then request.** Nothing known, or only a definitive failure: the intent (the next
   generation after a failure, hence a new idempotency key) is durable in the journal before the
   request is sent. A pending attempt younger than 23 hours is resent as recorded, under its
   recorded key (Stripe replays it if it executed). An older one is looked for in Stripe first
   (:meth:`Operation.find`): found, it is done; not found, it is re-stamped (on our clock and on
   Stripe's, by the offset read from Stripe's answers) and sent again under the same key.
3. **Outcome, then answer.** What Stripe answered is recorded, then returned as an
   :class:`Outcome`. A refusal is ``failed`` (no money moved; the next attempt gets a new key);
   an answer that may have executed is ``unknown``; a request Stripe never executed (a 429, no
   connection, the breaker open, a stop) is ``skipped``, unless an earlier attempt of the same
   generation may have executed, then ``unknown``. The outcome is recorded without waiting
   (``wait=False``): the store commits it with its next transaction (another lane's intent, the
   command's next read). A crash before that loses nothing: the attempt is pending under its
   durable intent, and the next run settles it exactly as after a crash before the answer came,
   by the same key; it is never sent under another.
4. **The journal failing stops everything.** A journal that cannot take an intent or an outcome
   stops the operation's whole command: nothing more is sent, the reason goes to the notes (the
   summary) and the event stream (the logs). What was sent stays pending in the journal and the
   next run settles it under the same key. (An outcome that did not wait is refused at the
   journal's next write, which then stops the command the same way.)
5. **A bug stops everything too.** An unexpected exception while handling an attempt leaves it
   ``unknown`` (its request may have left), stops the command, and keeps the traceback for the
   logs.

After :meth:`Engine.close`, nothing more is written to the journal: the command can close its
store while a request of a stopped command is still on the wire.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import traceback
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any, TypeVar

from ledgerrun.clock import Clock
from ledgerrun.errors import (
    FatalError,
    JournalError,
    NotExecutedError,
    RefusedError,
    StripeError,
)
from ledgerrun.events import Events, RunStopping
from ledgerrun.send.ages import STALE_AFTER, age
from ledgerrun.send.attempts.operation import Operation, Record, Stamp
from ledgerrun.send.attempts.outcome import STOPPED_IN_FLIGHT, Outcome, not_sent
from ledgerrun.store.model import FAILED, SUCCEEDED
from ledgerrun.stripe.client import Client, SentCount
from ledgerrun.vocab import Status

R = TypeVar("R", bound=Record)
A = TypeVar("A")


class Engine:
    """Attempts for one command (a run, a reversal): see the module docstring."""

    def __init__(
        self,
        *,
        client: Client,
        clock: Clock,
        run_id: str,
        events: Events,
        sink: Callable[[Hashable, Outcome[Any]], None] | None = None,
    ) -> None:
        self.client = client
        # Where each outcome goes as its attempt ends (in the same instant the attempt stops
        # being in flight): kept here by default; a command with many tasks keeps its own,
        # compact, and asks :meth:`settled` only about the tasks it holds no outcome of.
        self._sink = sink
        self.clock = clock
        self.run_id = run_id
        self.events = events
        self.stop = client.stop
        self.fatal: FatalError | None = None
        self.crash: BaseException | None = None
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._inflight: set[Hashable] = set()
        self._outcomes: dict[Hashable, Outcome[Any]] = {}
        self._closed = False
        self._writing = 0  # journal writes under way
        self._idle = threading.Condition(self._lock)

    # --- the command's state ------------------------------------------------------------------

    def settled(self, tasks: Mapping[Hashable, Record | None]) -> dict[Hashable, Outcome[Any]]:
        """Where each task (token -> the journal's record of it before this command) stands
        now, taken in one instant: its outcome when it has one; ``unknown`` while it is in
        flight (its request may be on the wire: the journal holds it pending and the next run
        settles it); never started: ``skipped``, or ``unknown`` when an earlier attempt is
        still pending. With a ``sink``, the outcomes went there: a task the caller found no
        outcome of before asking, and that is neither in flight nor here, may have ended since
        (the caller looks in its sink again, after this)."""
        code, message = self.stop_reason()
        out: dict[Hashable, Outcome[Any]] = {}
        with self._lock:
            for token, earlier in tasks.items():
                if token in self._outcomes:
                    out[token] = self._outcomes[token]
                elif token in self._inflight:
                    out[token] = Outcome(
                        Status.UNKNOWN, error_code="stopped", error_message=STOPPED_IN_FLIGHT
                    )
                else:
                    out[token] = not_sent(earlier, code, message)
        return out

    @property
    def stopping(self) -> bool:
        return self.stop.is_set() or self.client.breaker.is_open or self.fatal is not None

    def close(self, timeout: float = 30.0) -> None:
        """No more journal writes from any thread: the command is about to close its store.
        Waits (at most ``timeout`` seconds) for the writes already under way."""
        with self._idle:
            self._closed = True
            self._idle.wait_for(lambda: self._writing == 0, timeout)

    def stop_reason(self) -> tuple[str, str]:
        """Why a task was not started: (error code, message)."""
        if self.client.breaker.is_open:
            return "stripe_unavailable", (
                "Not sent: Stripe stopped answering, so the command stopped sending; run it "
                "again later."
            )
        if self.fatal is not None:
            return "stopped", f"Not sent: the command stopped ({self.fatal})."
        return "stopped", "Not sent: the command was stopped before this; run it again."

    # --- one attempt ----------------------------------------------------------------------------

    def attempt(self, op: Operation[R, A], earlier: R | None, token: Hashable) -> Outcome[A]:
        """Carry ``op`` out once, exactly once across every command that ever tries it.
        ``earlier`` is the journal's record of it (None: never tried); ``token`` names the task
        among the command's in-flight ones."""
        if earlier is not None and earlier.state == SUCCEEDED:
            raise AssertionError(f"{earlier.key} is done already: it is never attempted again")
        with self._lock:
            self._inflight.add(token)
        outcome = self._guarded(op, earlier)
        with self._lock:  # one instant: in flight until its outcome is known (see settled())
            if self._sink is None:
                self._outcomes[token] = outcome
            else:
                self._sink(token, outcome)
            self._inflight.discard(token)
        return outcome

    def _guarded(self, op: Operation[R, A], earlier: R | None) -> Outcome[A]:
        if self.stopping:
            code, message = self.stop_reason()
            return not_sent(earlier, code, message)
        try:
            return self._attempt(op, earlier)
        except Exception as exc:  # a bug: stop everything, keep the trace for the logs
            self._crashed(exc)
            return Outcome(
                Status.UNKNOWN,
                idempotency_key=earlier.idempotency_key if earlier else None,
                error_code="crashed",
                error_message=(
                    f"ledgerrun stopped on an internal error while handling this "
                    f"({type(exc).__name__}: {exc}); {op.again} to settle it: it is never "
                    "sent twice."
                ),
                attempts=earlier.attempts if earlier else 0,
            )

    def _attempt(self, op: Operation[R, A], earlier: R | None) -> Outcome[A]:
        try:
            if earlier is None or earlier.state == FAILED:
                generation = 0 if earlier is None else earlier.generation + 1
                record = op.intent(earlier, generation, self._stamp())
                self._intent(lambda: op.save_intent(record))
                return self._send(op, record, fresh=True)
            if age(earlier, self.clock.now(), self.client.gateway.server_offset) < STALE_AFTER:
                return self._send(op, earlier, fresh=False)
            found = op.find(self.client, earlier)
            if found is not None:
                return self._succeeded(op, earlier, found, 0, earlier=True)
            stamp = self._stamp()
            record = dataclasses.replace(  # type: ignore[type-var]
                earlier,
                attempted_at=stamp.at,
                attempted_at_server=stamp.at_server,
                run_id=self.run_id,
            )
            self._intent(lambda: op.save_intent(record))
            return self._send(op, record, fresh=False)
        except JournalError as exc:
            self._fatal(exc)
            return not_sent(
                earlier,
                "journal_unavailable",
                f"Not sent: the journal could not record it ({exc}).",
            )
        except StripeError as exc:  # looking a stale attempt up in Stripe got no answer
            return not_sent(earlier, exc.code, f"Not settled: {exc}; {op.again}.")

    def _stamp(self) -> Stamp:
        now = self.clock.now()
        offset = self.client.gateway.server_offset or dt.timedelta()
        return Stamp(now, now + offset, self.run_id)

    def _send(self, op: Operation[R, A], record: R, *, fresh: bool) -> Outcome[A]:
        """Send the record's request under its key. ``fresh``: no earlier attempt of this
        generation may have executed, so a request Stripe never executed leaves it skipped."""
        counter = SentCount()
        try:
            answer = op.send(self.client, record, counter)
        except RefusedError as exc:
            return self._failed(op, record, exc, counter.sent)
        except NotExecutedError as exc:
            if fresh and not exc.uncertain:
                message = f"Not sent: {exc} (nothing was executed; {op.again})."
                self._note(op, record, exc.code, message, exc.request_id, counter.sent)
                return Outcome(
                    Status.SKIPPED,
                    idempotency_key=record.idempotency_key,
                    request_id=exc.request_id,
                    error_code=exc.code,
                    error_message=message,
                    attempts=record.attempts + counter.sent,
                )
            return self._unknown(op, record, exc, counter.sent)
        except StripeError as exc:
            return self._unknown(op, record, exc, counter.sent)
        except FatalError as exc:  # Stripe refused the key: nothing more can be sent
            self._fatal(exc)
            code = "stopped"
            message = f"Not sent: {exc}"
            if not fresh:
                return not_sent(record, code, message)
            return Outcome(
                Status.SKIPPED,
                idempotency_key=record.idempotency_key,
                error_code=code,
                error_message=message,
                attempts=record.attempts + counter.sent,
            )
        return self._succeeded(op, record, answer, counter.sent)

    # --- outcomes -------------------------------------------------------------------------------

    def _succeeded(
        self, op: Operation[R, A], record: R, answer: A, sent: int, *, earlier: bool = False
    ) -> Outcome[A]:
        mismatch = op.mismatch(record, answer)
        request_id = op.request_id(answer)
        if mismatch:
            self._note(op, record, "verification_failed", mismatch, request_id, sent)
            return Outcome(
                Status.UNKNOWN,
                answer,
                record.idempotency_key,
                request_id,
                "verification_failed",
                mismatch,
                record.attempts + sent,
            )
        done = self.clock.now()
        self._record(
            lambda: op.save_success(record, answer, run_id=self.run_id, at=done, sent=sent)
        )
        return Outcome(
            Status.SUCCEEDED,
            answer,
            record.idempotency_key,
            request_id,
            attempts=record.attempts + sent,
            completed_at=done,
            earlier=earlier,
        )

    def _failed(self, op: Operation[R, A], record: R, exc: StripeError, sent: int) -> Outcome[A]:
        done = self.clock.now()
        self._record(lambda: op.save_failure(record, exc, run_id=self.run_id, at=done, sent=sent))
        return Outcome(
            Status.FAILED,
            None,
            record.idempotency_key,
            exc.request_id,
            exc.code,
            f"{exc} ({op.refused})",
            record.attempts + sent,
            done,
        )

    def _unknown(self, op: Operation[R, A], record: R, exc: StripeError, sent: int) -> Outcome[A]:
        message = f"Outcome unknown ({exc}); {op.again} to settle it."
        self._note(op, record, exc.code, message, exc.request_id, sent)
        return Outcome(
            Status.UNKNOWN,
            None,
            record.idempotency_key,
            exc.request_id,
            exc.code,
            message,
            record.attempts + sent,
        )

    def _note(
        self,
        op: Operation[R, A],
        record: R,
        code: str,
        message: str,
        request_id: str | None,
        sent: int,
    ) -> None:
        """Record what is known of an attempt that is still pending (it stays pending)."""
        self._record(
            lambda: op.save_unknown(
                record,
                run_id=self.run_id,
                code=code,
                message=message,
                request_id=request_id,
                sent=sent,
            )
        )

    # --- the journal and stopping ---------------------------------------------------------------

    def _intent(self, write: Callable[[], None]) -> None:
        """Write an intent; JournalError when it cannot be (then nothing is sent)."""
        with self._journal() as open_:
            if not open_:
                raise JournalError("the command has ended: its journal is closed")
            write()

    def _record(self, write: Callable[[], None]) -> None:
        """Write an outcome. A journal that cannot take it stops the command: the attempt stays
        pending and the next run settles it under the same key. After :meth:`close`, nothing
        is written (the same holds)."""
        try:
            with self._journal() as open_:
                if open_:
                    write()
        except JournalError as exc:
            self._fatal(exc)

    @contextlib.contextmanager
    def _journal(self) -> Iterator[bool]:
        """A journal write: yields False once the command has closed, and keeps :meth:`close`
        waiting until the write is over."""
        with self._idle:
            if self._closed:
                yield False
                return
            self._writing += 1
        try:
            yield True
        finally:
            with self._idle:
                self._writing -= 1
                self._idle.notify_all()

    def _fatal(self, exc: FatalError) -> None:
        with self._lock:
            first = self.fatal is None
            if first:
                self.fatal = exc
                self.notes.append(f"The command stopped early: {exc}")
        self.stop.set()
        if first:
            self.events.emit(RunStopping(reason=str(exc)))

    def _crashed(self, exc: BaseException) -> None:
        trace = "".join(traceback.format_exception(exc))
        with self._lock:
            first = self.crash is None
            if first:
                self.crash = exc
                self.notes.append(
                    f"The command stopped on an internal error ({type(exc).__name__}: {exc}): "
                    "please report it; running it again settles every row, never twice."
                )
        self.stop.set()
        if first:
            self.events.emit(RunStopping(reason=f"internal error: {exc}", traceback=trace))
