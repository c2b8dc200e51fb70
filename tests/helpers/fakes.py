"""In-process test doubles: a clock, the Stripe client and the store, for unit tests that run in
milliseconds (no HTTP, no processes, no disk).

* :class:`FakeClock`: time that moves only when told to (or when slept on).
* :class:`FakeGateway`: Stripe in memory, behind the gateway protocol (one request per call),
  the way httpx's tests fake a transport. By default a tiny, well-behaved Stripe: debits and
  credits succeed and land in its books (a replay of an idempotency key returns the first
  answer), listings list the books. Any request can be scripted instead.
* :class:`FakeClient`: the real :class:`ledgerrun.stripe.client.Client` on a fake gateway, so
  unit tests of the engine, the executor, the guard, pre-flight and reconcile run the real
  pacing, retries and circuit breaker.
* :class:`FakeStore`: the journal (:class:`ledgerrun.store.model.JournalStore`) in dictionaries,
  keeping the rules that protect an idempotency key, with faults on demand
  (:meth:`FakeStore.fail`). ``tests/unit/test_fakes.py`` runs the same story on it and on a real
  SQLite store and checks that they agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, TypeVar, cast

from ledgerrun.errors import (
    AccountCheckError,
    JournalError,
    KeyConflictError,
    NetworkError,
    RefusedError,
    StripeError,
)
from ledgerrun.store.model import (
    FAILED,
    PENDING,
    STATES,
    SUCCEEDED,
    AccountRecord,
    Entry,
    Journal,
    ReversalEntry,
    Run,
    Seen,
)
from ledgerrun.stripe.client import Client
from ledgerrun.stripe.pacing import Pacer
from ledgerrun.stripe.policy import Policy
from ledgerrun.stripe.shapes import Account, Movement, Page, Platform, Refund, Reversal
from ledgerrun.vocab import Direction, Method
from tests.helpers.constants import PLATFORM, RUN_DATE

# --- time --------------------------------------------------------------------------------------


class FakeClock:
    """A clock whose sleep() advances time instantly and records how long was slept."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
        self._mono = 1000.0
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        with self._lock:
            self.slept.append(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += dt.timedelta(seconds=seconds)
            self._mono += seconds


# --- Stripe ------------------------------------------------------------------------------------

T = TypeVar("T")  # what a request of the gateway answers

ANY: Any = object()
"""``when=ANY`` (the default): a scripted answer applies to every call of the method."""


@dataclass(frozen=True)
class Call:
    """One request the code under test made, as :attr:`FakeGateway.calls` records it."""

    method: str
    subject: Any  # what ``script(..., when=...)`` matches: see FakeGateway.script
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


class FakeGateway:
    """An in-memory Stripe behind the :class:`~ledgerrun.stripe.gateway.Gateway` protocol: one
    "request" per call, as the real gateway sends one HTTP request per call. The real
    :class:`~ledgerrun.stripe.client.Client` runs on it (see :class:`FakeClient`), so its pacing,
    retries and breaker are what the code under test meets.

    By default it is a tiny, well-behaved Stripe: debits and credits succeed and land in
    :attr:`books` (a replay of an idempotency key returns the first answer; the same key with
    other parameters is ``idempotency_error``), listings list the books (one page), reversals
    reverse. Any request can be scripted instead (:meth:`script`).
    """

    def __init__(
        self,
        *,
        clock: FakeClock,
        platform: Platform | None = None,
        accounts: Iterable[Account] = (),
        server_offset: dt.timedelta | None = None,
    ) -> None:
        self.clock = clock
        self.platform_object = platform or Platform(PLATFORM, "US", "usd")
        self.accounts: dict[str, Account] = {a.id: a for a in accounts}
        self.balances: dict[str | None, dict[str, int]] = {}
        self.books: list[Movement] = []  # every money movement "Stripe" holds, oldest first
        self.reversal_books: dict[str, list[Reversal]] = {}  # transfer id -> its reversals
        self.refund_books: dict[str, list[Refund]] = {}  # payment id -> its refunds
        self.refund_status = "succeeded"  # what a new refund is: "pending" until settled
        self.server_offset = server_offset
        self.calls: list[Call] = []
        self.closed = False
        self._scripts: dict[str, list[tuple[Any, deque[Any]]]] = {}
        self._keys: dict[str, tuple[dict[str, Any], Movement | Reversal | Refund]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # --- scripting ------------------------------------------------------------------------------

    def script(self, method: str, *answers: Any, when: Any = ANY) -> FakeGateway:
        """The next requests of ``method`` (those whose subject equals ``when``, if given) get
        ``answers``, one per request, in order; later requests fall back to the default.

        An answer is a value to return (for a listing: a list of :class:`Movement` or
        :class:`Reversal`), an exception to raise (one whose ``attempts`` is N answers the next
        N requests: ``raised(error, 6)`` is an error that outlasts the client's six tries), or a
        callable taking the :class:`Call` (it may block, raise, or return a value; ``DEFAULT``
        from it means "behave as usual"), or ``LOST``: Stripe executes the request and its answer
        never arrives.

        Methods and their subjects: ``account`` and ``available``: the account id;
        ``transfers``: the account (None for the platform's credits); ``accounts``: None;
        ``search``: the query; ``transfer``, ``reversals`` and
        ``reverse``: the transfer id; ``charge``: the
        payment id; ``debit``: the account; ``credit``: the destination account; ``refunds`` and
        ``refund``: the payment id; ``get_refund``: the refund id; ``platform``: None.
        """
        if method not in _METHODS:
            raise AttributeError(f"the gateway has no method {method!r}")
        expanded: list[Any] = []
        for answer in answers:
            repeat = answer.attempts if isinstance(answer, StripeError) else 1
            expanded.extend([answer] * max(1, repeat))
        with self._lock:
            self._scripts.setdefault(method, []).append((when, deque(expanded)))
        return self

    def holds(self, movement: Movement) -> Movement:
        """Put a movement in Stripe's books (as if made earlier, by anyone); returns it."""
        with self._lock:
            self.books.append(movement)
        return movement

    def sent(self, method: str = "debit") -> list[Call]:
        """The requests of one method, in order."""
        return [c for c in self.calls if c.method == method]

    # --- the Gateway protocol ---------------------------------------------------------------

    def close(self) -> None:
        self.closed = True

    def platform(self) -> Platform:
        return self._do("platform", None, (), lambda: self.platform_object)

    def account(self, account_id: str) -> Account:
        return self._do("account", account_id, (account_id,), lambda: self._account(account_id))

    def available(self, account_id: str | None) -> dict[str, int]:
        return self._do(
            "available", account_id, (account_id,), lambda: dict(self.balances.get(account_id, {}))
        )

    def list_transfers(
        self, account: str | None, *, group: str | None, created_gte: int, after: str | None = None
    ) -> Page[Movement]:
        def listed() -> list[Movement]:
            if account is None:
                return self._listed(Direction.CREDIT, "", None, group, created_gte)
            made = self._listed(Direction.DEBIT, Method.TRANSFER, account, group, created_gte)
            # A debit by charge shows on the account as the transfer Stripe made for it,
            # without metadata (that is on the platform's charge).
            made += [
                m._replace(method=Method.TRANSFER, metadata={}, transfer_group=None)
                for m in self._listed(Direction.DEBIT, Method.CHARGE, account, None, created_gte)
            ]
            return sorted(made, key=lambda m: -m.created)

        kwargs = {"group": group, "created_gte": created_gte}
        return _page(self._do("transfers", account, (account,), listed, kwargs=kwargs))

    def list_accounts(self, after: str | None = None) -> Page[str]:
        return _page(self._do("accounts", None, (), lambda: sorted(self.accounts)))

    def search_charges(self, query: str, page: str | None = None) -> Page[Movement]:
        """The subset of Stripe's search the guard asks: by ``ledgerrun_account`` and
        ``created>=``."""

        def found() -> list[Movement]:
            account = re.search(r"metadata\['ledgerrun_account'\]:'([^']*)'", query)
            since = re.search(r"created>=(-?[0-9]+)", query)
            with self._lock:
                hits = [
                    m
                    for m in self.books
                    if m.method == Method.CHARGE
                    and account is not None
                    and m.metadata.get("ledgerrun_account") == account[1]
                    and (since is None or m.created >= int(since[1]))
                ]
            return sorted(hits, key=lambda m: -m.created)

        return _page(self._do("search", query, (query,), found))

    def list_reversals(
        self, transfer_id: str, account: str | None, after: str | None = None
    ) -> Page[Reversal]:
        listed = lambda: sorted(self.reversal_books.get(transfer_id, []), key=lambda r: -r.created)  # noqa: E731
        return _page(self._do("reversals", transfer_id, (transfer_id, account), listed))

    def get_transfer(self, transfer_id: str, account: str | None) -> Movement:
        def find() -> Movement:
            for m in self.books:
                if m.transfer_id == transfer_id and m.method != Method.CHARGE:
                    return m
            raise RefusedError(f"No such transfer: '{transfer_id}'", code="resource_missing")

        return self._do("transfer", transfer_id, (transfer_id, account), find)

    def get_charge(self, payment_id: str) -> Movement:
        def find() -> Movement:
            for m in self.books:
                if m.payment_id == payment_id and m.method == Method.CHARGE:
                    return m
            raise RefusedError(f"No such charge: '{payment_id}'", code="resource_missing")

        return self._do("charge", payment_id, (payment_id,), find)

    def debit(self, method: str, account: str, request: Mapping[str, Any], key: str) -> Movement:
        return self._do(
            "debit",
            account,
            (method, account, dict(request), key),
            lambda: self._made(key, request, Direction.DEBIT, method, account),
        )

    def credit(self, request: Mapping[str, Any], key: str) -> Movement:
        account = str(request.get("destination") or "")
        return self._do(
            "credit",
            account,
            (dict(request), key),
            lambda: self._made(key, request, Direction.CREDIT, "", account),
        )

    def reverse(
        self, transfer_id: str, account: str | None, request: Mapping[str, Any], key: str
    ) -> Reversal:
        args = (transfer_id, account, dict(request), key)
        return self._do(
            "reverse", transfer_id, args, lambda: self._reversed(transfer_id, request, key)
        )

    def list_refunds(self, charge: str, after: str | None = None) -> Page[Refund]:
        listed = lambda: sorted(self.refund_books.get(charge, []), key=lambda r: -r.created)  # noqa: E731
        return _page(self._do("refunds", charge, (charge,), listed))

    def get_refund(self, refund_id: str) -> Refund:
        def find() -> Refund:
            for refunds in self.refund_books.values():
                for r in refunds:
                    if r.id == refund_id:
                        return r
            raise RefusedError(f"No such refund: '{refund_id}'", code="resource_missing")

        return self._do("get_refund", refund_id, (refund_id,), find)

    def refund(self, request: Mapping[str, Any], key: str) -> Refund:
        charge = str(request.get("charge") or "")
        return self._do(
            "refund", charge, (dict(request), key), lambda: self._refunded(request, key)
        )

    def settle_refunds(self, status: str = "succeeded") -> None:
        """Every pending refund ends ``status`` (a failed one gives the transfer back)."""
        with self._lock:
            for payment, refunds in self.refund_books.items():
                for i, r in enumerate(refunds):
                    if r.status == "pending":
                        refunds[i] = r._replace(status=status)
                        if status != "succeeded":
                            self._unreverse(payment, r.amount)

    # --- the default Stripe ------------------------------------------------------------------

    def _account(self, account_id: str) -> Account:
        found = self.accounts.get(account_id)
        if found is None:
            raise AccountCheckError(
                f"No such account: '{account_id}'", code="account_not_found", http_status=404
            )
        return found

    def _listed(
        self,
        direction: str,
        method: str,
        account: str | None,
        group: str | None,
        created_gte: int,
    ) -> list[Movement]:
        with self._lock:
            found = [
                m
                for m in self.books
                if m.direction == direction
                and m.method == method
                and (account is None or m.account == account)
                and (group is None or m.transfer_group == group)
                and m.created >= created_gte
            ]
        return sorted(found, key=lambda m: -m.created)  # newest first, as Stripe lists

    def _made(
        self, key: str, request: Mapping[str, Any], direction: str, method: str, account: str
    ) -> Movement:
        with self._lock:
            earlier = self._replay(key, request)
            if earlier is not None:
                assert isinstance(earlier, Movement)
                return earlier._replace(replayed=True)
            n = next(self._ids)
            made = Movement(
                direction=Direction(direction),
                method=method,
                transfer_id=f"tr_fake{n:06d}",
                payment_id=f"py_fake{n:06d}",
                account=account,
                amount=int(request["amount"]),
                currency=str(request["currency"]),
                created=int(self.clock.now().timestamp()),
                transfer_group=request.get("transfer_group"),
                metadata={str(k): str(v) for k, v in (request.get("metadata") or {}).items()},
                request_id=f"req_fake{n:06d}",
            )
            self.books.append(made)
            self._keys[key] = (dict(request), made)
            return made

    def _reversed(self, transfer_id: str, request: Mapping[str, Any], key: str) -> Reversal:
        with self._lock:
            earlier = self._replay(key, request)
            if earlier is not None:
                assert isinstance(earlier, Reversal)
                return earlier
            index = next(
                (i for i, m in enumerate(self.books) if m.transfer_id == transfer_id), None
            )
            if index is None:
                raise RefusedError(f"No such transfer: '{transfer_id}'", code="resource_missing")
            movement = self.books[index]
            amount = int(request.get("amount") or movement.amount - movement.amount_reversed)
            if movement.amount_reversed + amount > movement.amount:
                raise RefusedError("The transfer is already reversed", code="amount_too_large")
            self.books[index] = movement._replace(amount_reversed=movement.amount_reversed + amount)
            n = next(self._ids)
            made = Reversal(
                id=f"trr_fake{n:06d}",
                transfer_id=transfer_id,
                amount=amount,
                currency=movement.currency,
                created=int(self.clock.now().timestamp()),
                metadata={str(k): str(v) for k, v in (request.get("metadata") or {}).items()},
                request_id=f"req_fake{n:06d}",
            )
            self.reversal_books.setdefault(transfer_id, []).append(made)
            self._keys[key] = (dict(request), made)
            return made

    def _refunded(self, request: Mapping[str, Any], key: str) -> Refund:
        """A refund of a debit's payment: it reverses the account's transfer."""
        with self._lock:
            earlier = self._replay(key, request)
            if earlier is not None:
                assert isinstance(earlier, Refund)
                return earlier
            payment = str(request["charge"])
            movement = next((m for m in self.books if m.payment_id == payment), None)
            if movement is None:
                raise RefusedError(f"No such charge: '{payment}'", code="resource_missing")
            amount = int(request.get("amount") or movement.amount - movement.amount_reversed)
            if movement.amount_reversed + amount > movement.amount:
                raise RefusedError(
                    f"Charge {payment} has already been refunded.", code="charge_already_refunded"
                )
            trr = self._reversed(movement.transfer_id, {"amount": amount}, f"{key}:transfer")
            n = next(self._ids)
            made = Refund(
                id=f"re_fake{n:06d}",
                charge=payment,
                amount=amount,
                currency=movement.currency,
                status=self.refund_status,
                created=int(self.clock.now().timestamp()),
                source_transfer_reversal=trr.id,
                metadata={str(k): str(v) for k, v in (request.get("metadata") or {}).items()},
                request_id=f"req_fake{n:06d}",
            )
            self.refund_books.setdefault(payment, []).append(made)
            self._keys[key] = (dict(request), made)
            return made

    def _unreverse(self, payment: str, amount: int) -> None:
        for i, m in enumerate(self.books):
            if m.payment_id == payment:
                self.books[i] = m._replace(amount_reversed=m.amount_reversed - amount)

    def _replay(self, key: str, request: Mapping[str, Any]) -> Movement | Reversal | Refund | None:
        """Stripe's idempotency: the same key and parameters get the first answer again; the
        same key with other parameters is refused (``idempotency_error``)."""
        if key not in self._keys:
            return None
        sent, answer = self._keys[key]
        if sent != dict(request):
            raise KeyConflictError(
                "Keys for idempotent requests can only be used with the same parameters they "
                "were first used with.",
                code="idempotency_error",
                http_status=400,
            )
        return answer

    # --- plumbing --------------------------------------------------------------------------

    def _do(
        self,
        method: str,
        subject: Any,
        args: tuple[Any, ...],
        default: Callable[[], T],
        kwargs: dict[str, Any] | None = None,
    ) -> T:
        call = Call(method, subject, args, kwargs or {})
        with self._lock:
            self.calls.append(call)
        answer = self._next(call)
        if answer is DEFAULT:
            return default()
        if answer is LOST:
            default()  # Stripe executes it...
            raise NetworkError("read timed out", code="network_error")  # ...the answer is lost
        if isinstance(answer, StripeError):
            raise answer.after(0)  # a fresh error per request, as an HTTP answer would be
        if isinstance(answer, BaseException):
            raise answer
        # A scripted answer stands for what Stripe would have answered: the test vouches for it.
        if callable(answer):
            got = answer(call)
            return default() if got is DEFAULT else cast(T, got)
        return cast(T, answer)

    def _next(self, call: Call) -> Any:
        with self._lock:
            for when, answers in self._scripts.get(call.method, []):
                if answers and (when is ANY or when == call.subject):
                    return answers.popleft()
        return DEFAULT


_METHODS = frozenset(
    "platform account available accounts transfers search reversals transfer charge debit "
    "credit reverse refunds get_refund refund".split()
)


def _page(items: list[Any]) -> Page[Any]:
    return Page(list(items), False, None)


class FakeClient(Client):
    """The real :class:`~ledgerrun.stripe.client.Client` (its token bucket, retries and circuit
    breaker) on a :class:`FakeGateway`, with the fake clock, no jitter and no pacing to speak
    of. What tests script and inspect (``script``, ``books``, ``holds``, ``sent``, ``calls``,
    ``balances``, ``accounts``, ``reversal_books``) is the gateway's."""

    gateway: FakeGateway
    clock: FakeClock

    def __init__(
        self,
        *,
        clock: FakeClock | None = None,
        platform: Platform | None = None,
        accounts: Iterable[Account] = (),
        server_offset: dt.timedelta | None = None,
        breaker_after: int = 12,
        max_attempts: int = 6,
    ) -> None:
        clock = clock or FakeClock()
        gateway = FakeGateway(
            clock=clock, platform=platform, accounts=accounts, server_offset=server_offset
        )
        super().__init__(
            gateway,
            pacer=Pacer(clock, overall=None),
            clock=clock,
            jitter=lambda: 0.0,
            policy=Policy(max_attempts=max_attempts, breaker_threshold=breaker_after),
        )

    def script(self, method: str, *answers: Any, when: Any = ANY) -> FakeClient:
        self.gateway.script(method, *answers, when=when)
        return self

    def holds(self, movement: Movement) -> Movement:
        return self.gateway.holds(movement)

    def sent(self, method: str = "debit") -> list[Call]:
        return self.gateway.sent(method)

    @property
    def calls(self) -> list[Call]:
        return self.gateway.calls

    @property
    def books(self) -> list[Movement]:
        return self.gateway.books

    @property
    def balances(self) -> dict[str | None, dict[str, int]]:
        return self.gateway.balances

    @property
    def accounts(self) -> dict[str, Account]:
        return self.gateway.accounts

    @property
    def reversal_books(self) -> dict[str, list[Reversal]]:
        return self.gateway.reversal_books

    @property
    def refund_books(self) -> dict[str, list[Refund]]:
        return self.gateway.refund_books

    @property
    def closed(self) -> bool:
        return self.gateway.closed


DEFAULT: Any = object()
"""Returned by a scripted callable (or scripted itself): behave as the default Stripe would."""

LOST: Any = object()
"""Scripted: Stripe executes the request, and its answer is lost on the way back."""


_BY_TYPE: Any = object()


def account(
    account_id: str,
    *,
    type: str | None = "express",
    country: str | None = "US",
    currency: str | None = "usd",
    losses: str | None = _BY_TYPE,
) -> Account:
    """A connected account as the gateway returns it: ``controller.losses.payments`` is the
    platform's (``application``) unless the account is Standard, or as given (``None``: an
    account object without ``controller``)."""
    if losses is _BY_TYPE:
        losses = "stripe" if type == "standard" else "application"
    return Account(account_id, type, country, currency, losses)


def movement(
    adjustment_id: str,
    *,
    account: str = "acct_1ConnAA000000",
    amount: int = 100,
    currency: str = "usd",
    direction: str = "debit",
    method: str | None = None,
    created: int | dt.datetime | None = None,
    job: str = "nightly",
    run_date: str = RUN_DATE.isoformat(),
    group: str | None = "ledgerrun",
    transfer_id: str | None = None,
    payment_id: str | None = None,
    amount_reversed: int = 0,
    metadata: dict[str, str] | None = None,
) -> Movement:
    """A money movement as Stripe lists it, made by ledgerrun (its metadata names the
    adjustment) unless ``metadata`` says otherwise. ``created`` defaults to the run date's
    02:00 UTC."""
    if method is None:
        method = Method.TRANSFER if direction == Direction.DEBIT else ""
    if created is None:
        created = dt.datetime.combine(RUN_DATE, dt.time(2, 0), dt.UTC)
    if isinstance(created, dt.datetime):
        created = int(created.timestamp())
    suffix = adjustment_id.lower().replace("-", "")
    meta = (
        {"ledgerrun_job": job, "ledgerrun_adjustment_id": adjustment_id,
         "ledgerrun_account": account, "ledgerrun_run_date": run_date}
        if metadata is None
        else metadata
    )  # fmt: skip
    return Movement(
        direction=Direction(direction),
        method=method,
        transfer_id=transfer_id or f"tr_{suffix}",
        payment_id=payment_id or f"py_{suffix}",
        account=account,
        amount=amount,
        currency=currency,
        created=created,
        transfer_group=group,
        metadata=meta,
        amount_reversed=amount_reversed,
    )


# --- the store ---------------------------------------------------------------------------------


def as_journal(store: FakeStore) -> Journal:
    """``store`` where the code under test is typed to take a whole :class:`Journal`. A FakeStore
    keeps the parts that the executor, the guard, pre-flight and reconcile use, not the reversal
    store's ``reversal_entries`` and writes: a call to one fails the test (AttributeError)."""
    return cast(Journal, store)


class FakeStore:
    """The journal in dictionaries: the parts of :class:`ledgerrun.store.model.JournalStore`
    (and :meth:`iter_reversals` of the reversal store) that the executor, the guard,
    pre-flight, ``prepare`` and reconcile use, with the same rules as the SQL stores
    (``ledgerrun.store.journal_sql``): an intent must be pending, a succeeded adjustment takes
    no new intent, an intent cannot swap the key or parameters of its generation, attempts
    never go down, an outcome needs an intent, a listing's mark never moves back.

    :meth:`fail` makes a method raise (a full disk, a broken file) from its next call on.
    ``writes`` records every write asked for (a failed one too), in order, as
    ``(method, key or name)``.
    """

    def __init__(self, *, legacy: Iterable[str] = ()) -> None:
        self.location = ":fake:"
        self.adjustments: dict[str, Entry] = {}
        self.reversal_entries_: dict[str, ReversalEntry] = {}
        self.runs_: dict[str, Run] = {}
        self.marks: dict[str, int] = {}
        self.seen_: dict[str, Seen] = {}  # object id -> what the guard saw
        self.checks: dict[str, AccountRecord] = {}
        self.files: dict[tuple[str, str], bytes] = {}
        self.legacy = list(legacy)
        self.allowed: dict[str, str] = {}  # job -> the id_prefix it was allowed to change to
        self.locked: set[str] = set()
        self.writes: list[tuple[str, str]] = []
        self.closed = False
        self._faults: dict[str, tuple[int, BaseException]] = {}
        self._lock = threading.RLock()

    # --- faults ----------------------------------------------------------------------------

    def fail(self, method: str, error: BaseException | None = None, *, after: int = 0) -> None:
        """From the ``after``-th next call on (0: the next one), ``method`` raises ``error``
        (by default a JournalError saying the disk is full)."""
        if not hasattr(self, method):
            raise AttributeError(f"the store has no method {method!r}")
        self._faults[method] = (after, error or JournalError("the journal's disk is full"))

    def _check(self, method: str, what: str = "") -> None:
        with self._lock:
            if method.startswith(("record_", "start_", "finish_", "save_")):
                self.writes.append((method, what))
            fault = self._faults.get(method)
            if fault is not None:
                left, error = fault
                if left <= 0:
                    raise error
                self._faults[method] = (left - 1, error)

    # --- life cycle ------------------------------------------------------------------------

    def close(self) -> None:
        self.closed = True

    def lock(self, job: str) -> None:
        self._check("lock", job)
        self.locked.add(job)

    def lock_holder(self, job: str) -> dict[str, Any] | None:
        return {"job": job} if job in self.locked else None

    # --- runs ------------------------------------------------------------------------------

    def start_run(self, run: Run) -> None:
        self._check("start_run", run.run_id)
        with self._lock:
            if run.run_id in self.runs_:
                raise JournalError(f"the journal already holds a run {run.run_id}")
            self.runs_[run.run_id] = run

    def finish_run(
        self, run_id: str, ended_at: dt.datetime, exit_code: int, counts: dict[str, int]
    ) -> None:
        self._check("finish_run", run_id)
        with self._lock:
            if run_id not in self.runs_:
                raise JournalError(f"the journal holds no run {run_id} to finish")
            self.runs_[run_id] = replace(
                self.runs_[run_id], ended_at=ended_at, exit_code=int(exit_code), counts=counts
            )

    def runs(self, job: str) -> list[Run]:
        return sorted(
            (r for r in self.runs_.values() if r.job == job), key=lambda r: (r.started_at, r.run_id)
        )

    def last_api_version(self) -> str | None:
        found = sorted(
            (r for r in self.runs_.values() if r.api_version),
            key=lambda r: (r.started_at, r.run_id),
        )
        return found[-1].api_version if found else None

    # --- adjustments -----------------------------------------------------------------------

    def entries(self, keys: Iterable[str]) -> dict[str, Entry]:
        if isinstance(keys, str):
            raise JournalError("keys must be a collection of canonical ids, not one string")
        self._check("entries")
        with self._lock:
            return {k: self.adjustments[k] for k in keys if k in self.adjustments}

    def iter_entries(self, job: str | None = None, run_date: str | None = None) -> Iterator[Entry]:
        self._check("iter_entries")
        with self._lock:
            chosen = [
                e
                for _, e in sorted(self.adjustments.items())
                if (job is None or e.job == job) and (run_date is None or e.run_date == run_date)
            ]
        yield from chosen

    def entry_facts(self, keys: Iterable[str]) -> dict[str, Entry]:
        if isinstance(keys, str):
            raise JournalError("keys must be a collection of canonical ids, not one string")
        self._check("entry_facts")
        with self._lock:
            held = {k: self.adjustments[k] for k in keys if k in self.adjustments}
        return {k: dataclasses.replace(e, request={}) for k, e in held.items()}

    def iter_entry_facts(
        self, job: str | None = None, run_date: str | None = None
    ) -> Iterator[Entry]:
        self._check("iter_entry_facts")
        with self._lock:
            chosen = [
                e
                for _, e in sorted(self.adjustments.items())
                if (job is None or e.job == job) and (run_date is None or e.run_date == run_date)
            ]
        for e in chosen:
            yield dataclasses.replace(e, request={})

    def counts(self, job: str, run_date: str | None = None) -> dict[str, int]:
        found = {state: 0 for state in STATES}
        for e in self.iter_entries(job, run_date):
            found[e.state] += 1
        return found

    def record_intent(self, entry: Entry) -> None:
        self._check("record_intent", entry.key)
        what = f"adjustment {entry.adjustment_id} ({entry.key})"
        if entry.state != PENDING:
            raise JournalError(f"an intent must be {PENDING}, not {entry.state} ({what})")
        with self._lock:
            old = self.adjustments.get(entry.key)
            if old is not None:
                if old.state == SUCCEEDED:
                    raise JournalError(f"{what} already succeeded: it must not be sent again")
                if entry.generation < old.generation or (
                    entry.generation == old.generation
                    and (old.idempotency_key, old.request) != (entry.idempotency_key, entry.request)
                ):
                    raise JournalError(
                        f"{what}: an intent of generation {entry.generation} cannot replace "
                        f"generation {old.generation}"
                    )
                entry = replace(entry, attempts=max(old.attempts, entry.attempts))
            # A new intent clears the outcome of an earlier generation, as the SQL upsert does.
            self.adjustments[entry.key] = _copy(entry)

    def record_found(self, entry: Entry) -> None:
        self._check("record_found", entry.key)
        if entry.state != SUCCEEDED:
            raise JournalError(f"a found adjustment must be {SUCCEEDED} ({entry.key})")
        with self._lock:
            old = self.adjustments.get(entry.key)
            if old is not None and old.state == SUCCEEDED:
                return
            self.adjustments[entry.key] = _copy(entry)

    def record_success(
        self,
        key: str,
        *,
        run_id: str,
        transfer_id: str,
        payment_id: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int = 0,
        wait: bool = True,  # committed at once either way: a fake has no disk
    ) -> None:
        self._check("record_success", key)
        self._outcome(
            key,
            "success",
            attempts,
            state=SUCCEEDED,
            run_id=run_id,
            transfer_id=transfer_id,
            payment_id=payment_id,
            request_id=request_id,
            completed_at=completed_at,
            error_code=None,
            error_message=None,
        )

    def record_failure(
        self,
        key: str,
        *,
        run_id: str,
        error_code: str,
        error_message: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int = 0,
        wait: bool = True,  # committed at once either way: a fake has no disk
    ) -> None:
        self._check("record_failure", key)
        self._outcome(
            key,
            "failure",
            attempts,
            state=FAILED,
            run_id=run_id,
            request_id=request_id,
            error_code=error_code,
            error_message=error_message,
            completed_at=completed_at,
        )

    def record_unknown(
        self,
        key: str,
        *,
        run_id: str,
        error_code: str,
        error_message: str,
        request_id: str | None,
        attempts: int = 0,
        wait: bool = True,  # committed at once either way: a fake has no disk
    ) -> None:
        self._check("record_unknown", key)
        self._outcome(
            key,
            "unknown",
            attempts,
            run_id=run_id,
            request_id=request_id,
            error_code=error_code,
            error_message=error_message,
        )

    def _outcome(self, key: str, kind: str, attempts: int, **values: Any) -> None:
        if attempts < 0:
            raise JournalError(f"attempts cannot go down (count {attempts})")
        with self._lock:
            old = self.adjustments.get(key)
            if old is None:
                raise JournalError(f"cannot record the {kind} of adjustment {key}: no intent")
            same = (values.get("transfer_id"), values.get("payment_id"))
            if (
                kind == "success"
                and old.state == SUCCEEDED
                and same
                == (
                    old.transfer_id,
                    old.payment_id,
                )
            ):
                return
            if old.state != PENDING:
                raise JournalError(f"cannot record the {kind} of adjustment {key}: {old.state}")
            self.adjustments[key] = replace(old, attempts=old.attempts + attempts, **values)

    # --- what the guard saw ----------------------------------------------------------------

    def high_water(self, listing: str) -> int | None:
        self._check("high_water")
        return self.marks.get(listing)

    def record_listing(
        self, listing: str, objects: Iterable[Seen], high_water: int, listed_at: dt.datetime
    ) -> None:
        self._check("record_listing", listing)
        with self._lock:
            for seen in objects:
                self.seen_[seen.object_id] = seen
            self.marks[listing] = max(self.marks.get(listing, high_water), high_water)

    def seen(self, keys: Iterable[str]) -> dict[str, list[Seen]]:
        self._check("seen")
        wanted = set(keys)
        found: dict[str, list[Seen]] = {}
        with self._lock:
            for seen in self.seen_.values():
                if seen.key in wanted:
                    found.setdefault(seen.key, []).append(seen)
        return found

    def seen_bare(self, bares: Iterable[str]) -> dict[str, list[Seen]]:
        self._check("seen_bare")
        wanted = set(bares)
        found: dict[str, list[Seen]] = {}
        with self._lock:
            for seen in self.seen_.values():
                if seen.bare in wanted:
                    found.setdefault(seen.bare, []).append(seen)
        return found

    def allowed_prefix(self, job: str) -> str | None:
        return self.allowed.get(job)

    def allow_prefix(self, job: str, prefix: str) -> None:
        self._check("allow_prefix", job)
        self.allowed[job] = prefix

    def legacy_groups(self) -> list[str]:
        return list(self.legacy)

    # --- account checks --------------------------------------------------------------------

    def account_records(
        self, accounts: Iterable[str], newer_than: dt.datetime
    ) -> dict[str, AccountRecord]:
        self._check("account_records")
        with self._lock:
            return {
                a: self.checks[a]
                for a in accounts
                if a in self.checks and self.checks[a].checked_at > newer_than
            }

    def record_accounts(self, records: Iterable[AccountRecord]) -> None:
        records = list(records)
        if not records:
            return
        self._check("record_accounts", ",".join(r.account for r in records))
        with self._lock:
            for record in records:
                self.checks[record.account] = record

    # --- every run's files -----------------------------------------------------------------

    def save_run_file(self, run_id: str, name: str, data: bytes | BinaryIO) -> None:
        self._check("save_run_file", f"{run_id}/{name}")
        self.files[(run_id, name)] = data if isinstance(data, bytes) else data.read()

    def run_file(self, run_id: str, name: str) -> bytes | None:
        return self.files.get((run_id, name))

    def run_file_names(self, run_id: str) -> list[str]:
        return sorted(name for rid, name in self.files if rid == run_id)

    # --- reversals (what reconcile reads) --------------------------------------------------

    def iter_reversals(self, job: str | None = None) -> Iterator[ReversalEntry]:
        self._check("iter_reversals")
        with self._lock:
            chosen = [r for _, r in sorted(self.reversal_entries_.items()) if job in (None, r.job)]
        yield from chosen

    def reversals_of(self, adjustment_keys: Iterable[str]) -> dict[str, list[ReversalEntry]]:
        self._check("reversals_of")
        wanted = set(adjustment_keys)
        out: dict[str, list[ReversalEntry]] = {}
        with self._lock:
            for _, r in sorted(self.reversal_entries_.items()):
                if r.adjustment_key in wanted:
                    out.setdefault(r.adjustment_key, []).append(r)
        return out

    def add_reversal(self, entry: ReversalEntry) -> None:
        """Put a reversal in the journal as it stands (tests set up reconcile with it)."""
        self.reversal_entries_[entry.key] = entry


def _copy(entry: Entry) -> Entry:
    """A stored entry owns its request: a caller changing its dict later changes nothing."""
    import copy

    return dataclasses.replace(entry, request=copy.deepcopy(entry.request))
