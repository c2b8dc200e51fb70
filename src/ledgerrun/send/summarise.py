"""Summing a run up: its exit code, its summary and notes, and what it keeps in the store.

Exit codes (:class:`~ledgerrun.errors.ExitCode`) from the rows' outcomes: 2 when the ledger had
problems and the job aborts on them (nothing sent); 3 when a row is unknown or was left unsent
for a reason a later run finishes (:data:`RETRY_LATER`); 1 when a row failed for good or was left
out (invalid, over a limit); else 0.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

import ledgerrun
from ledgerrun import compute as pc
from ledgerrun.clock import Clock
from ledgerrun.errors import ExitCode, JournalError
from ledgerrun.events import Events, RowInvalid
from ledgerrun.job import Job
from ledgerrun.send.outcomes import Outcomes, zipped
from ledgerrun.send.prepare import Prepared
from ledgerrun.store.model import Journal, Run
from ledgerrun.summary import Outputs, Summary, count, totals
from ledgerrun.vocab import RowOutcome, Status

if TYPE_CHECKING:
    from ledgerrun.send.decide import Decisions
    from ledgerrun.send.runner import RunResult, Sent
    from ledgerrun.stripe.session import Session

RETRY_LATER = frozenset(
    (
        "stopped",
        "stripe_unavailable",
        "rate_limit",
        "lock_timeout",
        "connection_failed",
        "account_check_unavailable",
        "guard_unavailable",
        "journal_unavailable",
    )
)
"""Skip reasons that a later run finishes (exit 3): nothing was executed, nothing is final."""

BREAKER_NOTE = (
    "Stripe stopped answering, so the run stopped sending; the rows it never sent are "
    "'skipped'. Run the job again later: nothing is sent twice."
)

R = TypeVar("R", bound="RunResult")


def who() -> tuple[str, str]:
    """The user and host a command runs as (the run records and the summary name them)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return user, socket.gethostname()


def run_record(
    job: Job,
    *,
    run_id: str,
    kind: str,
    started: dt.datetime,
    mode: str,
    ledger_path: str,
    ledger_sha256: str,
    results_path: str,
    rows: int,
    batch: str = "",
) -> Run:
    """The store's record of a command that may move money, as it starts: who runs it, where,
    for which job, date and API version."""
    user, host = who()
    return Run(
        run_id=run_id, job=job.name, kind=kind, run_date=job.run_date.isoformat(),
        started_at=started, mode=mode, username=user, host=host, pid=os.getpid(),
        job_file=str(job.source or ""), ledger_path=ledger_path, ledger_sha256=ledger_sha256,
        results_path=results_path, rows=rows, batch=batch,
        api_version=job.stripe.api_version or "",
    )  # fmt: skip


def exit_code(outcomes: Sequence[RowOutcome], *, aborted: bool, dry_run: bool) -> ExitCode:
    if aborted:
        return ExitCode.INVALID
    kept = Outcomes.of(outcomes)
    pairs = list(Counter(zipped(kept.column("status"), kept.column("error_code"))))
    if any(status == Status.UNKNOWN for status, _ in pairs):
        return ExitCode.INCOMPLETE
    if any(status == Status.SKIPPED and code in RETRY_LATER for status, code in pairs):
        return ExitCode.INCOMPLETE
    left_out = [
        (status, code)
        for status, code in pairs
        if status == Status.INVALID
        or code == "adjustment_conflict"  # a problem of the ledger, though it moved
        or (status == Status.SKIPPED and not (dry_run and code == "dry_run"))
    ]
    if any(status == Status.FAILED for status, _ in pairs) or left_out:
        return ExitCode.FAILED
    return ExitCode.OK


def result(
    kind: type[R],
    job: Job,
    prepared: Prepared,
    record: Run,
    session: Session | None,
    plan: Decisions,
    sent: Sent,
    outputs: Outputs,
    store: Journal,
    clock: Clock,
) -> R:
    """The run's result: its exit code, summary and notes."""
    dry_run = record.dry_run
    notes = [*prepared.warnings, *plan.notes, *removed_rows(job, prepared, store), *sent.notes]
    if session is not None and session.client.breaker.is_open:
        notes.append(BREAKER_NOTE)
    if session is None:
        notes.append("Every row was done already: Stripe was not asked anything.")
    code = exit_code(sent.outcomes, aborted=plan.aborted, dry_run=dry_run)
    summary = _summary(job, prepared, sent.outcomes, record, code, outputs, clock)
    summary.sending = {
        "rows": sent.rows,
        "requests": session.client.requests if session is not None else 0,
        "seconds": round(sent.seconds, 3),
    }
    summary.notes = notes
    summary.api_version = job.stripe.api_version or ""
    summary.limits = session.limits if session is not None else ""
    notes.extend(session.warnings if session is not None else [])
    return kind(code, job, prepared, sent.outcomes, summary, outputs, notes=notes)


def announce_invalid(prepared: Prepared, outcomes: list[RowOutcome | None], events: Events) -> None:
    v = prepared.validation
    invalid = [i for i, o in enumerate(outcomes) if o is not None and o.status == Status.INVALID]
    if not invalid:
        return
    numbers = pc.take(v.ledger.rows, invalid).to_pylist()
    ids = pc.take(v.adjustment_id, invalid).to_pylist()
    accounts = pc.take(v.account, invalid).to_pylist()
    for n, index in enumerate(invalid):
        outcome = outcomes[index]
        if outcome is not None:
            events.emit(
                RowInvalid(
                    row=numbers[n],
                    adjustment_id=ids[n],
                    account=accounts[n],
                    code=outcome.error_code or "",
                    message=outcome.error_message or "",
                )
            )


def removed_rows(job: Job, prepared: Prepared, store: Journal) -> list[str]:
    """Adjustments this job sent for this run date that the ledger no longer holds."""
    keys = set(prepared.keys)
    try:
        gone = [
            e
            for e in store.iter_entry_facts(job.name, job.run_date.isoformat())
            if e.key not in keys and e.state != "failed"
        ]
    except JournalError as exc:
        return [f"The journal could not be read to check for rows removed from the ledger: {exc}"]
    if not gone:
        return []
    shown = ", ".join(e.adjustment_id for e in gone[:10]) + (", ..." if len(gone) > 10 else "")
    moved = sum(1 for e in gone if e.state == "succeeded")
    return [
        f"{len(gone)} adjustment(s) this job sent for {job.run_date} are no longer in the "
        f"ledger ({shown}); {moved} of them moved money. `ledgerrun reconcile` lists them "
        "(removed_from_ledger): put each row back, or reverse it if it should not have moved."
    ]


def _summary(
    job: Job,
    prepared: Prepared,
    outcomes: Outcomes,
    record: Run,
    code: ExitCode,
    outputs: Outputs,
    clock: Clock,
) -> Summary:
    v = prepared.validation
    status = outcomes.column("status")
    rows: Any = zipped(v.currency, _directions(prepared), v.amount_minor, status)
    sent, earlier = _sent_and_earlier(outcomes)
    return Summary(
        run_id=record.run_id,
        job=job.name,
        job_file=str(job.source or ""),
        run_date=job.run_date.isoformat(),
        mode=str(record.mode),
        user=record.username,
        host=record.host,
        version=ledgerrun.__version__,
        dry_run=record.dry_run,
        exit_code=int(code),
        started_at=record.started_at,
        ended_at=clock.now(),
        ledger=str(job.ledger),
        ledger_sha256=record.ledger_sha256,
        results=str(outputs.results),
        rows=len(outcomes),
        counts=count(s for (s,) in zipped(status)),
        totals=totals(rows),
        sent_now=sent,
        done_earlier=earlier,
        control_total=v.control_total,
        consent_checked=job.consent_registry is not None,
        api_base=job.stripe.api_base,
        sandbox_embedded=job.stripe.sandbox is not None and not job.stripe.api_base,
        timezone=job.timezone,
        id_prefix=job.id_prefix,
    )


def _directions(prepared: Prepared) -> pa.Array:
    return pa.array(prepared.directions, pa.string())


def _sent_and_earlier(outcomes: Outcomes) -> tuple[int, int]:
    """Rows sent now (attempted by this run, not skipped) and rows done before this run."""
    attempts = pc.fill_null(outcomes.column("attempts"), 0)
    earlier = pc.fill_null(outcomes.column("earlier"), False)
    sent = pc.and_(
        pc.and_(pc.greater(attempts, 0), pc.invert(earlier)),
        pc.not_equal(outcomes.column("status"), "skipped"),
    )
    return int(pc.sum(sent).as_py() or 0), int(pc.sum(earlier).as_py() or 0)
