"""``ledgerrun run`` as a library call: a short composition of stages, each a function that
returns a value (dlt's ``Pipeline.run`` is the model)::

    open the store, take the job's lock      -> store
    read and validate the ledger, offline    -> Prepared     (refused: ConfigError, exit 2)
    check the approval policy
    connect to Stripe                         -> Session
    pre-flight and the Stripe guard           -> Prepared
    record the run's start                    -> Run
    decide each row                           -> Decisions
    send                                      -> Sent
    sum up                                    -> RunResult
    keep its own record; the date's view      -> Written
    publish the files, record the run's end

Files are written by the publisher the caller passes (the command line and the web application
pass :func:`ledgerrun.send.publish.publish_run`). What it writes (:mod:`ledgerrun.send.records`):
the run date's results as the store knows them, so no later run can leave the date's files
holding less; a refused run (its ledger invalid, nothing sent) writes only its own rows, beside
them as ``<results stem>.rejected-<run id>.csv``; a dry run its own ``.dry-run`` files.

Exit codes (:class:`~ledgerrun.errors.ExitCode`): 0 every row succeeded (now or earlier); 1 some
rows failed for good, or were left out as invalid or over a limit, none unknown or unsent; 2
invalid input or configuration, nothing sent; 3 incomplete: rows unknown or unsent (a stop, an
outage, the store lost or a full disk after sending began), so run again; 4 another run of the
job holds its lock. Once the run's start is recorded, money may move: a store that fails from
then on makes the run incomplete (3), never "invalid" (2).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa

from ledgerrun.clock import Clock, SystemClock
from ledgerrun.errors import ConfigError, ExitCode, JournalError, OutputError
from ledgerrun.events import BreakerOpen, Events, GuardSweep, RunEnd, RunStart
from ledgerrun.ingest.read import give_back
from ledgerrun.ingest.validate import blocking_problems
from ledgerrun.job import Job
from ledgerrun.send import dateview, decide, records, summarise
from ledgerrun.send.connection import api_version, connected, nothing_to_send
from ledgerrun.send.execute import Executor
from ledgerrun.send.outcomes import OutcomeLog, Outcomes
from ledgerrun.send.paths import check_outputs, outputs_for
from ledgerrun.send.prepare import Prepared, prepare_offline, prepare_online
from ledgerrun.send.summarise import exit_code, who
from ledgerrun.send.table import results_table
from ledgerrun.store import open_store
from ledgerrun.store.model import Run, Store
from ledgerrun.stripe.client import Listener
from ledgerrun.stripe.session import Session
from ledgerrun.summary import Outputs, Summary

__all__ = ["Publisher", "RunResult", "exit_code", "run_job", "who"]

Publisher = Callable[["RunResult"], None]


class Written(NamedTuple):
    """What the run's files hold: the results table and the summary (None: no summary file)."""

    table: pa.Table
    summary: dict[str, Any] | None


@dataclass
class RunResult:
    """What a run did: its exit code, its rows' outcomes and where its files go."""

    exit_code: ExitCode
    job: Job
    prepared: Prepared
    outcomes: Outcomes  # each row's, in ledger order (a sequence of RowOutcome)
    summary: Summary  # this run's own
    outputs: Outputs
    table: pa.Table | None = None  # this run's own rows, once recorded
    notes: list[str] = field(default_factory=list)
    written: Written | None = None  # what goes into the files at ``outputs``
    refused: bool = False  # the ledger was invalid and nothing was sent

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.summary.counts)


class Sent(NamedTuple):
    """What the sending stage did."""

    outcomes: Outcomes
    notes: list[str]
    rows: int  # rows handed to the executor
    seconds: float


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
    batch: str | None = None,
) -> RunResult:
    """Run ``job`` once. Raises FatalError (exit 2, 3 or 4) when nothing can be sent at all.
    ``batch`` names what is run (a web upload's id); by default the ledger's path."""
    clock = clock or SystemClock()
    events = events or Events()
    started = clock.now()
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    outputs = outputs_for(job.results, dry_run=dry_run)
    check_outputs(
        outputs.all(), ledger=job.ledger, journal=None if job.journal_url else job.journal
    )
    if listener is None:
        listener = Listener(breaker_opened=lambda reason: events.emit(BreakerOpen(reason=reason)))
    with locked_store(job) as store:
        prepared = prepare_ledger(job, store)
        if not dry_run:
            check_approval(job, prepared, store)
        job = job.replace(api_version=api_version(job, store))
        with connected(
            job,
            os.environ if env is None else env,
            needed=dry_run or not nothing_to_send(prepared),
            live=live,
            clock=clock,
            jitter=jitter or random.Random().random,
            stop=stop or threading.Event(),
            listener=listener,
        ) as (session, mode):
            if session is not None:
                prepared = prepare_online(
                    prepared, session, store=store, writable=True, clock=clock,
                    progress=lambda n, of: events.emit(GuardSweep(n, of, job.name, run_id)),
                )  # fmt: skip
            record = start_run(
                store, job, mode, prepared, run_id, dry_run, outputs, started,
                batch or f"ledger:{job.ledger}",
            )  # fmt: skip
            events.emit(
                RunStart(
                    job=job.name,
                    run_id=run_id,
                    ledger=record.ledger_path,
                    ledger_sha256=record.ledger_sha256,
                    rows=record.rows,
                    dry_run=dry_run,
                    mode=record.mode,
                )
            )
            with money_may_move():
                plan = decide.rows(
                    prepared, store=store, run_id=run_id, dry_run=dry_run, clock=clock
                )
                summarise.announce_invalid(prepared, plan.outcomes, events)
                give_back()
                sent = send(plan, prepared, session, store, clock, events, hard_stop, record)
        with money_may_move():
            result = summarise.result(
                RunResult, job, prepared, record, session, plan, sent, outputs, store, clock
            )
            # What only deciding and sending needed is let go before the run's rows are kept
            # and the date's view is built, the peak of a large night (docs/benchmarks.md).
            del plan, sent
            prepared.forget_keys()
            give_back()
            recorded(result, store, record)
            give_back()
            published(result, publish, store)
            finished(store, result)
        events.emit(
            RunEnd(
                run_id=run_id,
                exit_code=int(result.exit_code),
                counts=result.summary.counts,
                totals=result.summary.totals,
                results=str(outputs.results),
                report=str(outputs.report),
                job=job.name,
                run_date=job.run_date.isoformat(),
                dry_run=dry_run,
                duration_s=(result.summary.ended_at - result.summary.started_at).total_seconds(),
            )
        )
        return result


# --- the stages ----------------------------------------------------------------------------------


@contextlib.contextmanager
def locked_store(job: Job) -> Iterator[Store]:
    """The job's store, with the job's run lock held until the block ends."""
    store = open_store(job.store_location)
    try:
        store.lock(job.name)
        yield store
    finally:
        store.close()


def prepare_ledger(job: Job, store: Store) -> Prepared:
    """The ledger read, validated and compared with the store; ConfigError (exit 2) when the
    file as a whole cannot be run."""
    prepared = prepare_offline(job, store)
    blocking = blocking_problems(prepared.validation)
    if blocking:
        raise ConfigError(
            f"{prepared.validation.ledger.path.name} cannot be run: "
            + " ".join(p.message for p in blocking[:3])
        )
    return prepared


def check_approval(job: Job, prepared: Prepared, store: Store) -> None:
    """A job whose approval policy asks for approvers runs only the very ledger (and plan
    totals) they approved: as many distinct approvers as its rules ask, none its uploader."""
    from ledgerrun.send import approval

    approval.check(job, prepared, store)


def start_run(
    store: Store,
    job: Job,
    mode: str,
    prepared: Prepared,
    run_id: str,
    dry_run: bool,
    outputs: Outputs,
    started: dt.datetime,
    batch: str,
) -> Run:
    """Record the run's start: from here on, money may move."""
    record = summarise.run_record(
        job, run_id=run_id, kind="dry_run" if dry_run else "run", started=started, mode=mode,
        ledger_path=str(job.ledger), ledger_sha256=prepared.validation.ledger.sha256,
        results_path=str(outputs.results), rows=prepared.validation.rows, batch=batch,
    )  # fmt: skip
    store.start_run(record)
    return record


def send(
    plan: decide.Decisions,
    prepared: Prepared,
    session: Session | None,
    store: Store,
    clock: Clock,
    events: Events,
    hard_stop: threading.Event | None,
    record: Run,
) -> Sent:
    """Send what the decisions left to send; every row gets its outcome."""
    rows = prepared.validation.rows
    if not plan.lanes or session is None:
        return Sent(Outcomes.merged(rows, plan.outcomes, OutcomeLog()), [], 0, 0.0)
    executor = Executor(
        job=record.job,
        run_id=record.run_id,
        run_date=record.run_date,
        client=session.client,
        store=store,
        clock=clock,
        events=events,
        concurrency=prepared.job.stripe.concurrency,
        found=prepared.found,
        hard_stop=hard_stop,
        batch=record.batch,
    )
    try:
        log = executor.send(plan.lanes, prepared.earlier, prepared.keys.__getitem__)
    finally:
        # No thread writes to the store once this returns. After a hard stop the threads still
        # waiting for Stripe are not waited for: they end with the command.
        executor.close(timeout=1.0 if hard_stop is not None and hard_stop.is_set() else 30.0)
    outcomes = Outcomes.merged(rows, plan.outcomes, log)
    give_back()  # what the sending threads freed, before the run is summed up
    return Sent(outcomes, list(executor.notes), plan.sending, executor.sending_s)


def recorded(result: RunResult, store: Store, record: Run) -> None:
    """Keep the run's own record in the store, and decide what its files hold."""
    job = result.job
    made = results_table(result.prepared, result.outcomes)
    result.outcomes.set_aside()  # the rows hold them now: out of memory until asked for
    own = records.overlay(made, store, job.id_prefix)
    del made
    give_back()  # the outcomes and the overlay's work, before the rows are written
    result.table = own
    summary = result.summary.to_json()
    records.keep(store, record.run_id, own, summary)
    if record.dry_run:
        result.written = Written(own, summary)
    elif result.exit_code == ExitCode.INVALID and not result.summary.sent_now:
        result.refused = True
        result.outputs = Outputs.beside(rejected_path(job.results, record.run_id))
        result.written = Written(own, None)
    else:
        view = dateview.date_view(store, job, record.run_date, kept=(record.run_id, own))
        result.written = Written(view, dateview.date_summary(store, job, record.run_date, view))


def rejected_path(results: Path, run_id: str) -> Path:
    """``out/x.results.csv`` -> ``out/x.results.rejected-<run id>.csv``: a refused run's rows."""
    return results.with_name(f"{results.with_suffix('').name}.rejected-{run_id}.csv")


def published(result: RunResult, publish: Publisher | None, store: Store) -> None:
    """Write the run's files, and keep copies in the store. A results file that cannot be
    written leaves the run incomplete (exit 3; every outcome is in the journal)."""
    if publish is None:
        return
    try:
        publish(result)
    except OSError as exc:
        dry_run = result.summary.dry_run
        code = ExitCode.INVALID if dry_run else ExitCode.INCOMPLETE
        if not dry_run and result.exit_code != ExitCode.INVALID:
            result.exit_code = ExitCode.INCOMPLETE
            result.summary.exit_code = int(ExitCode.INCOMPLETE)
        finished(store, result)
        raise OutputError(
            f"the results could not be written to {result.outputs.results}: "
            f"{exc.strerror or exc}. Every row's outcome is in the journal, and `ledgerrun "
            "results` writes the files again from it; free the space (or fix the path): nothing "
            "is sent twice",
            exit_code=code,
        ) from None


def finished(store: Store, result: RunResult) -> None:
    """Record the end of the run."""
    store.finish_run(
        result.summary.run_id, result.summary.ended_at, result.exit_code, result.summary.counts
    )


@contextlib.contextmanager
def money_may_move() -> Iterator[None]:
    """From the run's recorded start on, a store that fails makes the run incomplete (exit 3:
    run it again, nothing is sent twice), never "invalid input" (exit 2)."""
    try:
        yield
    except JournalError as exc:
        if exc.exit_code == ExitCode.INCOMPLETE:
            raise
        raise JournalError(
            f"{exc}. Money may have moved: run the job again when the store can be written; "
            "nothing is sent twice",
            exit_code=ExitCode.INCOMPLETE,
        ) from exc
