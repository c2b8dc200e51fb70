"""``ledgerrun run`` as a library call: ledger -> validation -> plan -> pre-flight -> execute ->
journal -> results and summary, and the exit code that sums it up.

Exit codes: 0 every row succeeded (now or earlier); 1 some rows failed at Stripe (or were left out:
invalid rows skipped, a limit reached), none unknown; 2 invalid input or configuration, nothing
sent; 3 some outcomes unknown (a re-run settles them); 4 another run of the job holds its lock.
"""

from __future__ import annotations

import os
import random
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun.clock import Clock, SystemClock
from ledgerrun.errors import ConfigError
from ledgerrun.events import Events
from ledgerrun.ingest.read import read_ledger
from ledgerrun.ingest.validate import Validation, blocking_problems, validate
from ledgerrun.job import Job
from ledgerrun.outcome import FAILED, INVALID, SKIPPED, SUCCEEDED, UNKNOWN, RowOutcome
from ledgerrun.output import html as report
from ledgerrun.output import results
from ledgerrun.send import preflight
from ledgerrun.send.execute import Executor, Item, earlier_outcome
from ledgerrun.send.keys import debit_metadata, transfer_group
from ledgerrun.store import sqlite as jr
from ledgerrun.stripe.session import Session, connect
from ledgerrun.vocab import Problem

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_UNKNOWN, EXIT_LOCKED = 0, 1, 2, 3, 4


@dataclass
class RunReport:
    """What a run did: its exit code, its rows' outcomes and where the results went."""

    exit_code: int
    validation: Validation
    outcomes: list[RowOutcome]
    summary: dict[str, Any]
    results_path: Path
    summary_path: Path
    report_path: Path
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.summary["counts"])


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
) -> RunReport:
    """Run ``job`` once. Raises FatalError (exit 2 or 4) when nothing can be sent at all."""
    clock = clock or SystemClock()
    events = events or Events()
    stop = stop or threading.Event()
    started = clock.now()
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    ledger = read_ledger(job.ledger, job.columns, job.sheet)  # LedgerFileError: nothing to do
    validation = validate(ledger, job)
    blocking = blocking_problems(validation)
    if blocking:
        raise ConfigError(
            f"{ledger.path.name} cannot be run: " + " ".join(p.message for p in blocking[:3])
        )
    journal = jr.SQLiteJournal.open(job.journal)
    try:
        journal.lock(job.name)
        with connect(
            job,
            os.environ if env is None else env,
            live=live,
            clock=clock,
            jitter=jitter,
            stop=stop,
        ) as session:
            journal.start_run(
                jr.Run(
                    run_id,
                    job.name,
                    started,
                    str(ledger.path),
                    ledger.sha256,
                    ledger.num_rows,
                    dry_run,
                )
            )
            events.emit(
                "run_start",
                job=job.name,
                run_id=run_id,
                ledger=str(ledger.path),
                ledger_sha256=ledger.sha256,
                rows=ledger.num_rows,
                dry_run=dry_run,
            )
            outcomes, notes, aborted, executor = _run(
                job,
                session,
                journal,
                validation,
                run_id,
                dry_run=dry_run,
                clock=clock,
                events=events,
            )
        code = _exit_code(outcomes, aborted=aborted, dry_run=dry_run)
        ended = clock.now()
        table = results.results_table(validation, outcomes)
        results.write_results(table, job.results)
        summary = results.summarize(
            validation,
            outcomes,
            run_id=run_id,
            job=job.name,
            started_at=started,
            ended_at=ended,
            dry_run=dry_run,
            exit_code=code,
            results_path=job.results,
        )
        if executor is not None:
            sent = len(executor.items)
            summary["sending"] = {
                "rows": sent,
                "seconds": round(executor.sending_s, 3),
                "rows_per_s": round(sent / executor.sending_s, 2) if executor.sending_s else None,
            }
        summary_file = results.write_summary(summary, job.results)
        report_file = report.write_report(job.results, summary, table)
        journal.finish_run(run_id, ended, code, summary["counts"])
        if executor is not None and executor.fatal is not None:
            notes.append(f"The run stopped early: {executor.fatal}")
        events.emit(
            "run_end",
            run_id=run_id,
            exit_code=code,
            counts=summary["counts"],
            totals=summary["totals"],
            results=str(job.results),
            report=str(report_file),
        )
        return RunReport(
            code, validation, outcomes, summary, job.results, summary_file, report_file, notes
        )
    finally:
        journal.close()


def _run(
    job: Job,
    session: Session,
    journal: jr.Journal,
    validation: Validation,
    run_id: str,
    *,
    dry_run: bool,
    clock: Clock,
    events: Events,
) -> tuple[list[RowOutcome], list[str], bool, Executor | None]:
    n = validation.rows
    ids = validation.adjustment_id.to_pylist()
    earlier = journal.entries(job.name, ids)
    checks = preflight.run_preflight(job, session, validation, earlier)
    outcomes: list[RowOutcome | None] = [None] * n
    _mark_invalid(validation, outcomes)
    for index, adjustment_id in enumerate(ids):
        entry = earlier.get(adjustment_id)
        if outcomes[index] is None and entry is not None and entry.state == jr.SUCCEEDED:
            outcomes[index] = earlier_outcome(entry)
    notes: list[str] = []
    row_problems = any(p.row != 1 for p in validation.problems)
    over_total = any(p.code == "over_max_total" for p in validation.problems)
    if (row_problems or over_total) and job.on_invalid == "abort":
        _fill(outcomes, "aborted", "Not sent: the ledger has problems and the job aborts on them.")
        notes.append("Nothing was sent: fix the invalid rows, or run with --skip-invalid.")
        return _complete(outcomes), notes, True, None
    _skip_unchecked(validation, checks, outcomes)
    _skip_over_total(job, validation, outcomes)
    if dry_run:
        _fill(outcomes, "dry_run", "Dry run: this debit would be sent.")
        return _complete(outcomes), notes, False, None
    items = _items(job, session, validation, outcomes)
    executor = Executor(
        job=job.name,
        run_id=run_id,
        gateway=session.gateway,
        journal=journal,
        caller=session.caller,
        clock=clock,
        events=events,
        concurrency=job.stripe.concurrency,
    )
    for index, outcome in executor.run(items, earlier).items():
        outcomes[index] = outcome
    return _complete(outcomes), notes, False, executor


def _mark_invalid(validation: Validation, outcomes: list[RowOutcome | None]) -> None:
    by_row: dict[int, list[Problem]] = {}
    for p in validation.problems:
        by_row.setdefault(p.row, []).append(p)
    rows = validation.ledger.rows.to_pylist()
    for index, ok in enumerate(validation.valid.to_pylist()):
        if not ok:
            found = by_row.get(rows[index], [])
            outcomes[index] = RowOutcome(
                INVALID,
                error_code=found[0].code if found else "invalid",
                error_message=" ".join(p.message for p in found),
            )


def _fill(outcomes: list[RowOutcome | None], code: str, message: str) -> None:
    for index, outcome in enumerate(outcomes):
        if outcome is None:
            outcomes[index] = RowOutcome(SKIPPED, error_code=code, error_message=message)


def _skip_unchecked(
    validation: Validation,
    checks: Mapping[str, preflight.AccountCheck],
    outcomes: list[RowOutcome | None],
) -> None:
    unchecked = {a: c for a, c in checks.items() if c.code == preflight.UNAVAILABLE}
    for index, account in enumerate(validation.account.to_pylist()):
        if outcomes[index] is None and account in unchecked:
            outcomes[index] = RowOutcome(
                SKIPPED, error_code=preflight.UNAVAILABLE, error_message=unchecked[account].message
            )


def _skip_over_total(job: Job, validation: Validation, outcomes: list[RowOutcome | None]) -> None:
    """With on_invalid = skip, send rows in ledger order until a currency's limit is reached."""
    running: Counter[str] = Counter()
    currencies = validation.currency.to_pylist()
    amounts = validation.amount_minor.to_pylist()
    for index, outcome in enumerate(outcomes):
        currency = currencies[index]
        limit = job.limits.max_total.get(currency)
        if limit is None or (outcome is not None and outcome.status != SUCCEEDED):
            continue
        running[currency] += amounts[index]
        if outcome is None and running[currency] > limit:
            outcomes[index] = RowOutcome(
                SKIPPED,
                error_code="over_max_total",
                error_message=f"Not sent: the job's {currency.upper()} total limit was reached.",
            )
            running[currency] -= amounts[index]


def _items(
    job: Job, session: Session, validation: Validation, outcomes: list[RowOutcome | None]
) -> list[Item]:
    todo = [i for i, o in enumerate(outcomes) if o is None]
    if not todo:
        return []
    take = pa.array(todo, pa.int64())

    def column(values: pa.Array) -> list[Any]:
        picked: list[Any] = pc.take(values, take).to_pylist()
        return picked

    meta = {key: column(values) for key, values in validation.metadata.items()}
    group = transfer_group(job.name)
    items = []
    for k, (index, row, adjustment_id, account, currency, amount, method, description) in enumerate(
        zip(
            todo,
            column(validation.ledger.rows),
            column(validation.adjustment_id),
            column(validation.account),
            column(validation.currency),
            column(validation.amount_minor),
            column(validation.method),
            column(validation.description),
            strict=True,
        )
    ):
        request: dict[str, Any] = {"amount": amount, "currency": currency}
        if method == "transfer":
            request["destination"] = session.platform.id
        else:
            request["source"] = account
        request["transfer_group"] = group
        if description:
            request["description"] = description
        request["metadata"] = debit_metadata(
            job.name, adjustment_id, {key: values[k] for key, values in meta.items()}
        )
        items.append(Item(index, row, adjustment_id, account, currency, amount, method, request))
    return items


def _complete(outcomes: list[RowOutcome | None]) -> list[RowOutcome]:
    missing = [i for i, o in enumerate(outcomes) if o is None]
    if missing:
        raise AssertionError(f"rows without an outcome: {missing[:5]}")  # a bug, never data
    return [o for o in outcomes if o is not None]


def _exit_code(outcomes: list[RowOutcome], *, aborted: bool, dry_run: bool) -> int:
    counts = Counter(o.status for o in outcomes)
    if aborted:
        return EXIT_INVALID
    if counts[UNKNOWN]:
        return EXIT_UNKNOWN
    left_out = counts[INVALID] + counts[SKIPPED]
    if dry_run:
        left_out = counts[INVALID] + sum(
            1 for o in outcomes if o.status == SKIPPED and o.error_code != "dry_run"
        )
    if counts[FAILED] or left_out:
        return EXIT_FAILED
    return EXIT_OK


def new_jitter(seed: int | None = None) -> Callable[[], float]:
    return random.Random(seed).random
