"""``ledgerrun run`` as a library call: ledger -> validation -> pre-flight and guard -> execute ->
store, and the exit code that sums it up. Files are written by the publisher the caller passes
(the command line and the web application pass ``ledgerrun.output.publish``).

Exit codes (:class:`~ledgerrun.errors.ExitCode`): 0 every row succeeded (now or earlier); 1 some
rows failed for good, or were left out as invalid or over a limit, none unknown or unsent; 2
invalid input or configuration, nothing sent; 3 incomplete: rows unknown or unsent (a stop, an
outage, a full disk after sending began), so run again; 4 another run of the job holds its lock.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import random
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa

import ledgerrun
from ledgerrun.clock import Clock, SystemClock
from ledgerrun.errors import ConfigError, ExitCode, JournalError, OutputError
from ledgerrun.events import BreakerOpen, Events, RowInvalid, RunEnd, RunStart
from ledgerrun.ingest.validate import blocking_problems
from ledgerrun.job import Job
from ledgerrun.send import decide
from ledgerrun.send.execute import Executor
from ledgerrun.send.paths import check_outputs, outputs_for
from ledgerrun.send.prepare import Prepared, prepare_offline, prepare_online
from ledgerrun.store import open_store
from ledgerrun.store.model import Run, Store
from ledgerrun.stripe.client import Listener
from ledgerrun.stripe.session import connect
from ledgerrun.summary import Outputs, Summary, count, totals
from ledgerrun.vocab import Mode, RowOutcome, Status

Publisher = Callable[["RunResult"], None]


@dataclass
class RunResult:
    """What a run did: its exit code, its rows' outcomes and where its files go."""

    exit_code: ExitCode
    job: Job
    prepared: Prepared
    outcomes: list[RowOutcome]
    summary: Summary
    outputs: Outputs
    table: pa.Table | None = None  # the results table, once built by the publisher
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.summary.counts)


def who() -> tuple[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return user, socket.gethostname()


def run_job(
    job: Job,
    *,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    live: bool = False,
    clock: Clock | None = None,
    jitter: Callable[[], float] | None = None,
    events: Events | None = None,
    stop: threading.Event | None = None,
    hard_stop: threading.Event | None = None,
    publish: Publisher | None = None,
    listener: Listener | None = None,
) -> RunResult:
    """Run ``job`` once. Raises FatalError (exit 2, 3 or 4) when nothing can be sent at all."""
    clock = clock or SystemClock()
    events = events or Events()
    stop = stop or threading.Event()
    if listener is None:
        listener = Listener(breaker_opened=lambda reason: events.emit(BreakerOpen(reason=reason)))
    started = clock.now()
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    outputs = outputs_for(job.results, dry_run=dry_run)
    journal = None if job.journal_url else job.journal
    check_outputs(outputs.all(), ledger=job.ledger, journal=journal)
    store = open_store(job.store_location)
    try:
        store.lock(job.name)
        prepared = prepare_offline(job, store)
        blocking = blocking_problems(prepared.validation)
        if blocking:
            raise ConfigError(
                f"{job.ledger.name} cannot be run: " + " ".join(p.message for p in blocking[:3])
            )
        if job.approval == "required" and not dry_run:
            _check_approval(job, prepared, store)
        with connect(
            job,
            os.environ if env is None else env,
            live=live,
            clock=clock,
            jitter=jitter or random.Random().random,
            stop=stop,
            listener=listener,
        ) as session:
            prepared = prepare_online(prepared, session, store=store, writable=True, clock=clock)
            user, host = who()
            record = Run(
                run_id=run_id,
                job=job.name,
                kind="dry_run" if dry_run else "run",
                run_date=job.run_date.isoformat(),
                started_at=started,
                mode=session.mode,
                username=user,
                host=host,
                pid=os.getpid(),
                job_file=str(job.source or ""),
                ledger_path=str(job.ledger),
                ledger_sha256=prepared.validation.ledger.sha256,
                results_path=str(outputs.results),
                rows=prepared.validation.rows,
            )
            store.start_run(record)
            events.emit(
                RunStart(
                    job=job.name,
                    run_id=run_id,
                    ledger=str(job.ledger),
                    ledger_sha256=record.ledger_sha256,
                    rows=record.rows,
                    dry_run=dry_run,
                    mode=str(session.mode),
                )
            )
            plan = decide.rows(prepared, store=store, run_id=run_id, dry_run=dry_run, clock=clock)
            _announce_invalid(prepared, plan.outcomes, events)
            executor: Executor | None = None
            if plan.items:
                executor = Executor(
                    job=job.name,
                    run_id=run_id,
                    run_date=job.run_date.isoformat(),
                    client=session.client,
                    store=store,
                    clock=clock,
                    events=events,
                    concurrency=job.stripe.concurrency,
                    found=prepared.found,
                )
                if hard_stop is not None:
                    executor.hard_stop = hard_stop
                for index, outcome in executor.run(plan.items, prepared.earlier).items():
                    plan.outcomes[index] = outcome
            outcomes = decide.complete(plan.outcomes)
            mode = session.mode
            requests = session.client.requests
        notes = list(plan.notes) + _removed_rows(job, prepared, store)
        fatal = executor.fatal if executor is not None else None
        if fatal is not None:
            notes.append(f"The run stopped early: {fatal}")
        if session.client.breaker.is_open:
            notes.append(
                "Stripe stopped answering, so the run stopped sending; the rows it never sent "
                "are 'skipped'. Run the job again later: nothing is sent twice."
            )
        code = exit_code(outcomes, aborted=plan.aborted, dry_run=dry_run)
        summary = _summary(
            job, prepared, outcomes, run_id, record, mode, dry_run, code, outputs, clock
        )
        summary.sending = {
            "rows": len(plan.items),
            "requests": requests,
            "seconds": round(executor.sending_s, 3) if executor else 0.0,
        }
        summary.notes = notes
        result = RunResult(code, job, prepared, outcomes, summary, outputs, notes=notes)
        if publish is not None:
            try:
                publish(result)
            except OSError as exc:
                if not dry_run and code != ExitCode.INVALID:
                    result.exit_code = summary.exit_code = ExitCode.INCOMPLETE
                raise_later = OutputError(
                    f"the results could not be written to {outputs.results}: "
                    f"{exc.strerror or exc}. Every row's outcome is in the journal; free the "
                    "space (or fix the path) and run the job again: nothing is sent twice"
                )
                _finish(store, run_id, clock.now(), result)
                raise_later.exit_code = ExitCode.INCOMPLETE if not dry_run else ExitCode.INVALID
                raise raise_later from None
        if publish is not None:
            _keep_files(store, run_id, outputs)
        _finish(store, run_id, summary.ended_at, result)
        events.emit(
            RunEnd(
                run_id=run_id,
                exit_code=int(result.exit_code),
                counts=summary.counts,
                totals=summary.totals,
                results=str(outputs.results),
                report=str(outputs.report),
                job=job.name,
                run_date=job.run_date.isoformat(),
                dry_run=dry_run,
                duration_s=(summary.ended_at - summary.started_at).total_seconds(),
            )
        )
        return result
    finally:
        store.close()


def _check_approval(job: Job, prepared: Prepared, store: Store) -> None:
    """A job that needs four eyes runs only the very ledger an approver approved."""
    sha256 = prepared.validation.ledger.sha256
    if store.approval_for(job.name, sha256) is None:
        raise ConfigError(
            f"job {job.name} needs an approval before it runs: an approver (not the person who "
            f"uploaded it) must approve ledger {job.ledger.name} (SHA-256 {sha256[:12]}...) in "
            "the web application (ledgerrun serve). Any change to the file needs a new approval"
        )


def _keep_files(store: Store, run_id: str, outputs: Outputs) -> None:
    """Keep this run's files in the store, so that no later run (of the same date, writing to
    the same paths) destroys its record. Losing them is not worth failing a run over."""
    names = {
        outputs.results: "results" + outputs.results.suffix.lower(),
        outputs.summary: "summary.json",
        outputs.report: "report.html",
    }
    for path, name in names.items():
        try:
            store.save_run_file(run_id, name, path.read_bytes())
        except (OSError, JournalError):
            continue


def _finish(store: Store, run_id: str, ended: dt.datetime, result: RunResult) -> None:
    """Record the end of the run. Money may have moved: a store that cannot take it now makes
    the run incomplete (exit 3), never invalid."""
    try:
        store.finish_run(run_id, ended, result.exit_code, result.summary.counts)
    except JournalError as exc:
        error = JournalError(
            f"{exc}. The results file was written; run the job again when the journal can be "
            "written: nothing is sent twice"
        )
        error.exit_code = ExitCode.INCOMPLETE
        raise error from None


def _removed_rows(job: Job, prepared: Prepared, store: Store) -> list[str]:
    """Adjustments this job sent for this run date that the ledger no longer holds."""
    keys = set(prepared.keys)
    gone = [
        e
        for e in store.iter_entries(job.name, job.run_date.isoformat())
        if e.key not in keys and e.state != "failed"
    ]
    if not gone:
        return []
    shown = ", ".join(e.adjustment_id for e in gone[:10]) + (", ..." if len(gone) > 10 else "")
    moved = sum(1 for e in gone if e.state == "succeeded")
    return [
        f"{len(gone)} adjustment(s) this job sent for {job.run_date} are no longer in the "
        f"ledger ({shown}); {moved} of them moved money. `ledgerrun reconcile` lists them "
        "(removed_from_ledger): put each row back, or reverse it if it should not have moved."
    ]


def _announce_invalid(
    prepared: Prepared, outcomes: list[RowOutcome | None], events: Events
) -> None:
    v = prepared.validation
    numbers = v.ledger.rows.to_pylist()
    ids = v.adjustment_id.to_pylist()
    accounts = v.account.to_pylist()
    for index, outcome in enumerate(outcomes):
        if outcome is not None and outcome.status == Status.INVALID:
            events.emit(
                RowInvalid(
                    row=numbers[index],
                    adjustment_id=ids[index],
                    account=accounts[index],
                    code=outcome.error_code or "",
                    message=outcome.error_message or "",
                )
            )


def _summary(
    job: Job,
    prepared: Prepared,
    outcomes: list[RowOutcome],
    run_id: str,
    record: Run,
    mode: Mode,
    dry_run: bool,
    code: ExitCode,
    outputs: Outputs,
    clock: Clock,
) -> Summary:
    v = prepared.validation
    rows = zip(
        v.currency.to_pylist(),
        prepared.directions,
        v.amount_minor.to_pylist(),
        (o.status for o in outcomes),
        strict=True,
    )
    line = v.control_total
    return Summary(
        run_id=run_id,
        job=job.name,
        job_file=str(job.source or ""),
        run_date=job.run_date.isoformat(),
        mode=str(mode),
        user=record.username,
        host=record.host,
        version=ledgerrun.__version__,
        dry_run=dry_run,
        exit_code=int(code),
        started_at=record.started_at,
        ended_at=clock.now(),
        ledger=str(job.ledger),
        ledger_sha256=record.ledger_sha256,
        results=str(outputs.results),
        rows=len(outcomes),
        counts=count(o.status for o in outcomes),
        totals=totals(rows),
        sent_now=sum(1 for o in outcomes if o.attempts and not o.earlier and o.status != "skipped"),
        done_earlier=sum(1 for o in outcomes if o.earlier),
        control_total=line,
        consent_checked=job.consent_registry is not None,
        api_base=job.stripe.api_base,
        sandbox_embedded=job.stripe.sandbox is not None and not job.stripe.api_base,
    )


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


def exit_code(outcomes: list[RowOutcome], *, aborted: bool, dry_run: bool) -> ExitCode:
    statuses = [o.status for o in outcomes]
    if aborted:
        return ExitCode.INVALID
    if Status.UNKNOWN in statuses:
        return ExitCode.INCOMPLETE
    if any(o.status == Status.SKIPPED and o.error_code in RETRY_LATER for o in outcomes):
        return ExitCode.INCOMPLETE
    left_out = [
        o
        for o in outcomes
        if o.status == Status.INVALID
        or (o.status == Status.SKIPPED and not (dry_run and o.error_code == "dry_run"))
    ]
    if Status.FAILED in statuses or left_out:
        return ExitCode.FAILED
    return ExitCode.OK
