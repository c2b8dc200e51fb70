"""One way from a job to what a run would do: read, validate, and (online) pre-flight.

``validate``, ``plan``, ``run`` (and the web application) all start here, so they agree on every
row. :func:`prepare` reads and validates the ledger; with a Stripe session it also checks each
account (reusing verdicts younger than a day from the store), asks the store what it already
knows of each adjustment, and asks the Stripe guard about the rest. Nothing is sent.

The result is a :class:`Prepared`: the validation with every pre-flight problem on its rows (a
new object: the input validation is never changed), the store's entries, what the guard found
done in Stripe, and the account verdicts.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.clock import Clock, SystemClock
from ledgerrun.ingest.validate import Validation, blocking_problems, check
from ledgerrun.job import Job
from ledgerrun.send.ages import STALE_AFTER, age
from ledgerrun.vocab import Direction, State

# Offline, a ledger is prepared from the file (and the journal, when there is one) alone: what
# only pre-flight and the guard use (their records, Stripe's shapes) is imported where they run.
if TYPE_CHECKING:
    from ledgerrun.send.guard import Guard
    from ledgerrun.send.preflight import AccountCheck, Finding
    from ledgerrun.store.model import Entry, Journal, Seen
    from ledgerrun.stripe.session import Session
    from ledgerrun.stripe.shapes import Platform

PENDING, SUCCEEDED = State.PENDING, State.SUCCEEDED  # as store.model names them


@dataclass
class Prepared:
    """Everything known about a ledger before sending: see the module docstring."""

    job: Job
    validation: Validation
    online: bool = False
    platform: Platform | None = None
    earlier: dict[str, Entry] = field(default_factory=dict)
    found: dict[str, Seen] = field(default_factory=dict)
    checks: dict[str, AccountCheck] = field(default_factory=dict)
    guard: Guard | None = None
    unguarded: dict[str, str] = field(default_factory=dict)  # key -> why Stripe was not asked
    conflicts: dict[str, Seen] = field(default_factory=dict)  # key -> Stripe's object, other values
    consent: dict[int, str] = field(default_factory=dict)  # row index -> consent reference
    requests: int = 0  # requests the preparation sent
    warnings: list[str] = field(default_factory=list)  # pre-flight's, that refuse no row

    @property
    def ok(self) -> bool:
        return self.validation.ok

    # Built on first use: validating a million-row ledger with no journal needs neither, and
    # each costs 0.2 s there (docs/benchmarks.md, ingest).
    @functools.cached_property
    def keys(self) -> list[str]:
        """Each row's canonical id (with the job's prefix), as validation computed it."""
        return [str(k) for k in self.validation.adjustment_key.to_pylist()]

    def forget_keys(self) -> None:
        """Let go of :attr:`keys` once sending is done (200,000 rows: 15 MB of strings); built
        again if asked for."""
        self.__dict__.pop("keys", None)

    @functools.cached_property
    def directions(self) -> list[str]:
        """Each row's direction ("debit" / "credit"), the job's default filled in (one string
        object per direction, not per row)."""
        return [sys.intern(str(d)) for d in self.validation.direction.to_pylist()]

    def done(self) -> list[bool]:
        """Per row: already done (succeeded in the store, or found in Stripe)."""
        out = []
        for key in self.keys:
            entry = self.earlier.get(key)
            out.append((entry is not None and entry.state == SUCCEEDED) or key in self.found)
        return out


def prepare(
    job: Job,
    session: Session | None = None,
    *,
    store: Journal | None = None,
    writable: bool = False,
    clock: Clock | None = None,
) -> Prepared:
    """Read, validate and (with a session) pre-flight the job's ledger. Sends nothing.

    ``store`` may be None (no journal yet); ``writable`` lets the guard and the account checks
    keep what they learn in it (``run`` does, ``validate`` and ``plan`` only read)."""
    prepared = prepare_offline(job, store)
    if session is None or blocking_problems(prepared.validation):
        return prepared
    return prepare_online(prepared, session, store=store, writable=writable, clock=clock)


def prepare_offline(job: Job, store: Journal | None) -> Prepared:
    """Read and validate the ledger, and compare it with what the store knows."""
    validation = check(job)
    prepared = Prepared(job, validation)
    if blocking_problems(validation):
        return prepared
    if store is not None:  # every row's, invalid ones too: an edited row may have moved money
        prepared.earlier = store.entries([k for k in prepared.keys if k])
    findings = [_journal_conflicts(prepared)]
    if job.consent_registry is not None:
        from ledgerrun.send import consent

        registry = consent.load_registry(job.consent_registry)
        finding, prepared.consent = consent.check(
            validation.account,
            validation.currency,
            validation.amount_minor,
            prepared.directions,
            validation.valid,
            registry,
            job.run_date,
        )
        findings.append(finding)
    prepared.validation = _apply(validation, findings)
    return prepared


def prepare_online(
    prepared: Prepared,
    session: Session,
    *,
    store: Journal | None,
    writable: bool,
    clock: Clock | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Prepared:
    """Pre-flight a prepared ledger: the accounts, and the Stripe guard (a store that keeps
    what it finds and has never swept sweeps first, telling ``progress`` (listings done, of
    how many) as it goes)."""
    from ledgerrun.send.guard import Guard
    from ledgerrun.send.preflight import region_warnings, row_findings
    from ledgerrun.send.verdicts import ask_the_guard

    clock = clock or SystemClock()
    job = prepared.job
    prepared.online = True
    prepared.platform = session.platform
    before = session.client.requests
    validation = _apply(
        prepared.validation, [_platform_rows(prepared.validation, session.platform.id)]
    )
    prepared.validation = validation
    guard = Guard(
        session.client,
        store,
        clock,
        group=job.stripe.transfer_group,
        guard_days=job.guard_days,
        concurrency=job.stripe.concurrency,
        server_offset=lambda: session.client.gateway.server_offset,
        writable=writable,
        progress=progress,
    )
    prepared.guard = guard
    offset = session.client.gateway.server_offset
    # The accounts are checked while the guard lists (their requests go to other endpoints, each
    # with its own budget): those of every row the store does not know as done, the guard's
    # finds among them included, which cost a check each but never a wait.
    maybe = _todo_accounts(prepared, clock.now(), offset) if job.preflight else []
    from concurrent.futures import ThreadPoolExecutor  # online only

    with ThreadPoolExecutor(max_workers=1) as pool:
        checking = pool.submit(_account_checks, job, session, store, writable, maybe, clock)
        found = ask_the_guard(prepared, guard, clock, offset)
        prepared.validation = _apply(prepared.validation, found)
        todo = _todo_accounts(prepared, clock.now(), offset) if job.preflight else []
        checked = checking.result()
    if job.preflight and todo:
        prepared.checks = {c.account: c for c in (checked[a] for a in todo)}
        validation = v = prepared.validation
        directions = pa.array(prepared.directions, pa.string())
        findings = row_findings(
            validation.account, validation.currency, directions, validation.valid,
            prepared.checks,
        )  # fmt: skip
        prepared.validation = _apply(validation, list(findings))
        debtors = {a for a, d in zip(v.account.to_pylist(), prepared.directions, strict=True)
                   if d == Direction.DEBIT}  # fmt: skip
        prepared.warnings += region_warnings(
            session.platform, [c for a, c in prepared.checks.items() if a in debtors]
        )
    prepared.requests = session.client.requests - before
    return prepared


# --- steps -------------------------------------------------------------------------------------


def _apply(validation: Validation, findings: Sequence[Finding | None]) -> Validation:
    for finding in findings:
        if finding is None:
            continue
        validation = _flagged(validation, finding)
    return validation


def _flagged(validation: Validation, finding: Finding) -> Validation:
    return validation.flagged(
        finding.mask, finding.column, finding.code, finding.values, finding.word
    )


def _platform_rows(validation: Validation, platform_id: str) -> Finding:
    from ledgerrun.send.preflight import Finding

    mask = pc.and_(validation.valid, pc.equal(validation.account, platform_id))
    return Finding(
        mask,
        "account",
        "bad_account",
        validation.account,
        lambda value, index: (
            f"'{value}' is the platform's own account; name a connected account instead."
        ),
    )


_FIELDS = ("account", "amount_minor", "currency", "direction", "method")


def _journal_conflicts(prepared: Prepared) -> Finding | None:
    """adjustment_conflict: the store holds the id with other values and it moved money (or may
    have: an unsettled attempt). A row whose attempts all failed may be corrected."""
    v = prepared.validation
    if not prepared.earlier:
        return None
    columns = {
        "account": v.account.to_pylist(),
        "amount_minor": v.amount_minor.to_pylist(),
        "currency": v.currency.to_pylist(),
        "direction": prepared.directions,
        "method": v.method.to_pylist(),
    }
    clashes: dict[int, str] = {}
    for i, (key, ok) in enumerate(zip(prepared.keys, v.valid.to_pylist(), strict=True)):
        entry = prepared.earlier.get(key) if ok else None
        if entry is None or entry.state not in (SUCCEEDED, PENDING):
            continue
        diff = [
            f"{name} {getattr(entry, name) or '-'} -> {columns[name][i] or '-'}"
            for name in _FIELDS
            if _norm(name, columns[name][i], prepared.directions[i])
            != _norm(name, getattr(entry, name), entry.direction)
        ]
        if diff:
            verb = "moved money" if entry.state == SUCCEEDED else "was sent (outcome unsettled)"
            clashes[i] = (
                f"Adjustment '{entry.adjustment_id}' {verb} in job {entry.job} on "
                f"{entry.run_date} with other values ({', '.join(diff)})."
            )
    if not clashes:
        return None
    from ledgerrun.send.preflight import Finding

    mask = pa.array([i in clashes for i in range(v.rows)], pa.bool_())
    return Finding(mask, "adjustment_id", "adjustment_conflict", v.adjustment_id,
                   lambda value, index: clashes[index])  # fmt: skip


def _norm(name: str, value: Any, direction: str) -> Any:
    if name == "method" and direction == Direction.CREDIT:
        return ""
    return value


def _todo_accounts(prepared: Prepared, now: dt.datetime, offset: dt.timedelta | None) -> list[str]:
    """Accounts with a valid row still to send: not done in the store, not found done in
    Stripe's books, and not an attempt pending for less than 23 hours (resent as it was). Each
    once, in the order of its first row: made by Arrow from the rows chosen, never a string per
    row (their garbage left the few kept scattered over Python's allocator)."""
    v = prepared.validation
    chosen = []
    for key, ok in zip(prepared.keys, v.valid.to_pylist(), strict=True):
        entry = prepared.earlier.get(key)
        if not ok or key in prepared.found or (entry is not None and entry.state == SUCCEEDED):
            chosen.append(False)
        elif entry is not None and entry.state == PENDING:
            chosen.append(age(entry, now, offset) >= STALE_AFTER)
        else:
            chosen.append(True)
    accounts: list[str] = pc.unique(pc.filter(v.account, pa.array(chosen, pa.bool_()))).to_pylist()
    return accounts


def _account_checks(
    job: Job,
    session: Session,
    store: Journal | None,
    writable: bool,
    accounts: list[str],
    clock: Clock,
) -> dict[str, AccountCheck]:
    from ledgerrun.send.preflight import REUSE_FOR, UNAVAILABLE, AccountCheck, check_accounts
    from ledgerrun.store.model import AccountRecord

    now = clock.now()
    cached: dict[str, AccountRecord] = {}
    if store is not None:
        cached = store.account_records(accounts, now - REUSE_FOR)
    checks = {
        a: AccountCheck(a, r.code, r.message, r.default_currency, r.country,
                        credit_only=r.code == "account_not_eligible")
        for a, r in cached.items()
    }  # fmt: skip
    missing = [a for a in accounts if a not in checks]
    fresh = check_accounts(
        missing, session.platform, session.client.account, job.stripe.concurrency
    )
    checks.update(fresh)
    if store is not None and writable:
        store.record_accounts(
            AccountRecord(c.account, now, c.code, c.message, c.default_currency, c.country)
            for c in fresh.values()
            if c.code != UNAVAILABLE
        )
    return {a: checks[a] for a in accounts}
