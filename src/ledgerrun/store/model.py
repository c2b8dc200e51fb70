"""What the store holds, and what any store must do: ledgerrun's only state.

Guarantee. For every adjustment (keyed by its canonical id, platform-wide: see
:mod:`ledgerrun.ingest.identity`) the store holds the latest *intent* (the idempotency key and the
exact request parameters about to be sent) and, once known, the *outcome*. The intent is durable
before the caller sends anything, so whatever instant a run dies at, the next run finds the
adjustment ``pending`` with its key and resends the very same request under the very same key:
Stripe then answers with the original result instead of moving money twice. A ``succeeded``
adjustment never takes a new intent, and an intent cannot swap the key or parameters of its
generation.

An outcome is committed before its call returns, or, when the caller says it need not wait
(``wait=False``, as the exactly-once engine does), with the store's next transaction: the next
write of any thread, the next read, or closing the store; not waiting for the disk either way.
Losing it to a crash loses nothing that matters: its intent is durable, so the adjustment is
``pending`` and the next run settles it under the same key, as after a crash before the answer
came. A refusal of an outcome that did not wait is raised to the store's next writer.

Besides the journal of adjustments, the store keeps the runs (who, where, what, how it ended),
what the Stripe guard has seen in Stripe's books (objects carrying ledgerrun metadata, with a
high-water mark per listing, so nightly runs list only what is new), and recent account checks
(so a second run within a day does not ask Stripe again). The web application's records (users,
sessions, batches, approvals, audit, work) are :mod:`ledgerrun.store.web_model`'s, behind their
own protocol here, :class:`WebRecords`; what uses them imports them from there, so the commands
that move money never load them.

Implementations: :mod:`ledgerrun.store.sqlite` (a file, the default) and, for several hosts,
PostgreSQL. They pass the same contract tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from ledgerrun.vocab import State

if TYPE_CHECKING:  # their records are imported from web_model by what uses them, not by a run
    from ledgerrun.store.web_model import (
        Approval,
        AuditEvent,
        AuditQuery,
        Batch,
        BatchQuery,
        User,
        WebSession,
        WorkItem,
    )

PENDING, SUCCEEDED, FAILED = State.PENDING, State.SUCCEEDED, State.FAILED
TRANSFER_REVERSAL, REFUND = "transfer_reversal", "refund"  # the ways a reversal is made
STATES: tuple[str, ...] = tuple(s.value for s in State)
SCHEMA_VERSION = 4


@dataclass(frozen=True)
class Entry:
    """One adjustment, as the store holds it."""

    key: str  # canonical id, with the job's id_prefix: the identity of the adjustment
    adjustment_id: str  # as written in the ledger that sent it last
    job: str
    run_date: str  # YYYY-MM-DD of the run that wrote the latest intent
    direction: str  # "debit" | "credit"
    account: str
    currency: str  # lower-case ISO code
    amount_minor: int
    method: str  # "transfer" | "charge" for debits, "" for credits
    state: str  # PENDING | SUCCEEDED | FAILED
    generation: int  # attempt generation of the latest intent (0 first)
    idempotency_key: str  # key of the latest intent
    request: dict[str, Any]  # the exact API params of the latest intent, resent as-is
    attempts: int  # HTTP requests sent for this adjustment, over all runs
    attempted_at: dt.datetime  # local UTC time the latest intent was written
    attempted_at_server: dt.datetime  # the same moment on Stripe's clock
    transfer_id: str | None = None
    payment_id: str | None = None
    request_id: str | None = None  # Stripe request id of the latest answer, if any
    error_code: str | None = None
    error_message: str | None = None
    completed_at: dt.datetime | None = None  # when SUCCEEDED/FAILED was recorded
    run_id: str | None = None  # the run that wrote it last
    batch: str = ""  # what its latest intent was sent from: a web upload, "ledger:<path>"


@dataclass(frozen=True)
class Run:
    """One run of a job: who ran what, where, and once it ended, how."""

    run_id: str
    job: str
    kind: str  # "run" | "dry_run" | "reverse" | "reverse_dry_run"
    run_date: str  # YYYY-MM-DD
    started_at: dt.datetime
    mode: str  # "sandbox" | "test" | "live"
    username: str
    host: str
    pid: int
    job_file: str
    ledger_path: str
    ledger_sha256: str
    results_path: str
    rows: int
    ended_at: dt.datetime | None = None
    exit_code: int | None = None
    counts: dict[str, int] | None = None  # results statuses -> count, written at the end
    batch: str = ""  # what it read: a web upload's id, or "ledger:<path>"
    api_version: str = ""  # the Stripe-Version its requests were sent with

    @property
    def dry_run(self) -> bool:
        return self.kind.endswith("dry_run")


@dataclass(frozen=True)
class Seen:
    """An object ledgerrun made, as the guard found it in Stripe's books."""

    object_id: str  # the object holding the metadata: the tr_ (or the py_ of a charge debit)
    key: str  # canonical id from the metadata
    adjustment_id: str  # as the metadata wrote it
    job: str
    run_date: str
    direction: str
    method: str
    account: str
    amount: int
    currency: str
    created: int
    transfer_id: str
    payment_id: str
    amount_reversed: int = 0
    bare: str = ""  # the canonical id without the id_prefix (to find a prefix changed since)

    @property
    def ids(self) -> set[str]:
        """The Stripe ids the object goes by (its transfer, its payment)."""
        return {i for i in (self.transfer_id, self.payment_id) if i}


@dataclass(frozen=True)
class AccountRecord:
    """A pre-flight verdict on an account, kept so a later run within a day can reuse it."""

    account: str
    checked_at: dt.datetime
    code: str | None  # None: usable
    message: str
    default_currency: str | None
    country: str | None


class JournalStore(Protocol):
    """The journal of adjustments and runs, and what the guard and pre-flight keep (one half of
    :class:`Journal`)."""

    location: str

    # fmt: off
    def close(self) -> None: ...
    def lock(self, job: str) -> None: ...
    def lock_holder(self, job: str) -> dict[str, Any] | None: ...
    # runs
    def start_run(self, run: Run) -> None: ...
    def finish_run(self, run_id: str, ended_at: dt.datetime, exit_code: int,
                   counts: dict[str, int]) -> None: ...
    def runs(self, job: str) -> list[Run]: ...
    def last_api_version(self) -> str | None: ...
    # adjustments
    def entries(self, keys: Iterable[str]) -> dict[str, Entry]: ...
    def iter_entries(self, job: str | None = None,
                     run_date: str | None = None) -> Iterator[Entry]: ...
    # the same without the request, never read (what results and reconcile compare; a request
    # is only ever resent from the two above)
    def entry_facts(self, keys: Iterable[str]) -> dict[str, Entry]: ...
    def iter_entry_facts(self, job: str | None = None,
                         run_date: str | None = None) -> Iterator[Entry]: ...
    def counts(self, job: str, run_date: str | None = None) -> dict[str, int]: ...
    def record_intent(self, entry: Entry) -> None: ...
    def record_found(self, entry: Entry) -> None: ...
    def record_success(self, key: str, *, run_id: str, transfer_id: str, payment_id: str,
                       request_id: str | None, completed_at: dt.datetime,
                       attempts: int = 0, wait: bool = True) -> None: ...
    def record_failure(self, key: str, *, run_id: str, error_code: str, error_message: str,
                       request_id: str | None, completed_at: dt.datetime,
                       attempts: int = 0, wait: bool = True) -> None: ...
    def record_unknown(self, key: str, *, run_id: str, error_code: str, error_message: str,
                       request_id: str | None, attempts: int = 0,
                       wait: bool = True) -> None: ...
    # what the guard saw in Stripe
    def high_water(self, listing: str) -> int | None: ...
    def record_listing(self, listing: str, objects: Iterable[Seen], high_water: int,
                       listed_at: dt.datetime) -> None: ...
    def seen(self, keys: Iterable[str]) -> dict[str, list[Seen]]: ...
    def seen_bare(self, bares: Iterable[str]) -> dict[str, list[Seen]]: ...
    def allowed_prefix(self, job: str) -> str | None: ...
    def allow_prefix(self, job: str, prefix: str) -> None: ...
    def legacy_groups(self) -> list[str]: ...
    # account checks
    def account_records(self, accounts: Iterable[str],
                        newer_than: dt.datetime) -> dict[str, AccountRecord]: ...
    def record_accounts(self, records: Iterable[AccountRecord]) -> None: ...
    # every run's files
    def save_run_file(self, run_id: str, name: str, data: bytes | BinaryIO) -> None: ...
    def run_file(self, run_id: str, name: str) -> bytes | None: ...
    def run_file_names(self, run_id: str) -> list[str]: ...
    # fmt: on


@dataclass(frozen=True)
class ReversalEntry:
    """One reversal (of all or part of an adjustment's transfer), as the store holds it."""

    key: str  # canonical reversal id, with the job's id_prefix: its identity
    reversal_id: str  # as written (by default the adjustment's own id)
    adjustment_key: str
    adjustment_id: str
    job: str
    run_date: str
    direction: str  # of the adjustment reversed
    account: str  # the connected account
    transfer_id: str  # the tr_ reversed
    context: str  # who made the transfer and so reverses it: the account, or "" (platform)
    currency: str
    amount_minor: int
    reason: str
    state: str
    generation: int
    idempotency_key: str
    request: dict[str, Any]
    attempts: int
    attempted_at: dt.datetime
    attempted_at_server: dt.datetime
    reversal_object_id: str | None = None  # the trr_ (of a refund: the one Stripe made)
    request_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    completed_at: dt.datetime | None = None
    run_id: str | None = None
    method: str = TRANSFER_REVERSAL  # how it is undone: a transfer reversal or a refund
    payment_id: str = ""  # the py_ refunded (a refund)
    refund_id: str | None = None  # the re_ (a refund)
    refund_status: str | None = None  # pending, succeeded, failed, canceled (a refund)


# --- the web application's records (their own module) ------------------------------------------


class ReversalStore(Protocol):
    """The journal's reversals (the other half of :class:`Journal`)."""

    # fmt: off
    def reversal_entries(self, keys: Iterable[str]) -> dict[str, ReversalEntry]: ...
    def reversals_of(self, adjustment_keys: Iterable[str]) -> dict[str, list[ReversalEntry]]: ...
    def iter_reversals(self, job: str | None = None) -> Iterator[ReversalEntry]: ...
    def record_reversal_intent(self, entry: ReversalEntry) -> None: ...
    def record_reversal_success(self, key: str, *, run_id: str, reversal_object_id: str,
                                request_id: str | None, completed_at: dt.datetime,
                                attempts: int = 0, refund_id: str | None = None,
                                refund_status: str | None = None,
                                wait: bool = True) -> None: ...
    def settle_refund(self, key: str, *, status: str, reversal_object_id: str | None,
                      at: dt.datetime) -> None: ...
    def record_reversal_failure(self, key: str, *, run_id: str, error_code: str,
                                error_message: str, request_id: str | None,
                                completed_at: dt.datetime, attempts: int = 0,
                                wait: bool = True) -> None: ...
    def record_reversal_unknown(self, key: str, *, run_id: str, error_code: str,
                                error_message: str, request_id: str | None,
                                attempts: int = 0, wait: bool = True) -> None: ...
    # fmt: on


class WebRecords(Protocol):
    """The web application's records: users, sign-ins, sessions, batches, approvals, the audit
    trail and the work queue. Nothing that moves money reads or writes them."""

    # fmt: off
    def add_user(self, user: User) -> None: ...
    def user(self, name: str) -> User | None: ...
    def users(self) -> list[User]: ...
    def update_user(self, name: str, *, role: str | None = None,
                    password_hash: str | None = None, disabled: bool | None = None) -> None: ...
    def record_signin(self, name: str, address: str, ok: bool, at: dt.datetime,
                      device: str = "") -> None: ...
    def signin_failures(self, since: dt.datetime, *, name: str | None = None,
                        address: str | None = None,
                        device: str | None = None) -> tuple[int, dt.datetime | None]: ...
    def add_session(self, session: WebSession) -> None: ...
    def web_session(self, session_key: str) -> WebSession | None: ...
    def open_sessions(self, at: dt.datetime) -> list[WebSession]: ...
    def end_session(self, session_key: str, at: dt.datetime, why: str) -> None: ...
    def end_sessions(self, user: str, at: dt.datetime, why: str) -> int: ...
    def add_batch(self, batch: Batch) -> None: ...
    def batch(self, batch_id: str) -> Batch | None: ...
    def batches(self, limit: int = 200, query: BatchQuery | None = None) -> list[Batch]: ...
    def update_batch(self, batch_id: str, **changes: Any) -> None: ...
    def add_approval(self, approval: Approval) -> None: ...
    def approvals(self, batch_id: str) -> list[Approval]: ...
    def approval_for(self, job: str, sha256: str) -> Approval | None: ...
    def decisions(self, job: str, sha256: str) -> list[Approval]: ...
    def add_audit(self, event: AuditEvent) -> int: ...
    def audit_events(self, limit: int = 500, before: int | None = None,
                     query: AuditQuery | None = None) -> list[AuditEvent]: ...
    def enqueue(self, item: WorkItem) -> None: ...
    def claim_work(self, worker: str, at: dt.datetime,
                   lease: dt.timedelta = ...) -> WorkItem | None: ...
    def renew_lease(self, work_id: str, worker: str, until: dt.datetime) -> bool: ...
    def update_work(self, work_id: str, **changes: Any) -> None: ...
    def work_item(self, work_id: str) -> WorkItem | None: ...
    def work_items(self, batch_id: str) -> list[WorkItem]: ...
    # fmt: on


class Journal(JournalStore, ReversalStore, Protocol):
    """The money journal: what every stage that moves or checks money may ask of a store."""


class Store(Journal, WebRecords, Protocol):
    """A whole store (SQLite or PostgreSQL): the money journal and the web application's
    records, each a protocol of its own. Only the web application needs both."""
