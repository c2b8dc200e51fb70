"""``ledgerrun reverse`` as a library call: undo all or part of a batch, exactly once.

A debit is reversed on its connected account's transfer (for the charge method, the ``tr_`` the
payment's ``source_transfer`` names), as that account; a credit on the platform's transfer, as
the platform. Each reversal is journalled like a debit: the intent (with its own deterministic
key: operation ``reversal`` and the canonical ``reversal_id``) is durable before the request,
the outcome after; a pending reversal is resent under its key within 23 hours, later looked up
among the transfer's reversals first. Reversals of one account go one at a time.

Before anything is sent, each adjustment's transfer is fetched from Stripe (confirming it, and
reading what was reversed outside ledgerrun), reversals Stripe holds that the journal lacks are
taken as done, and the paying side's balance is compared with what it would pay back (a
warning: Stripe refuses a reversal the balance cannot cover, and it is then ``failed``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ledgerrun.clock import Clock, SystemClock
from ledgerrun.errors import ConfigError, ExitCode, JournalError
from ledgerrun.events import Events
from ledgerrun.job import Job
from ledgerrun.output.results import csv_bytes
from ledgerrun.send.attempts.undo import undo_for
from ledgerrun.send.connection import api_version
from ledgerrun.send.paths import check_outputs
from ledgerrun.send.reversal import books, files
from ledgerrun.send.reversal import requests as rq
from ledgerrun.send.reversal.sender import Line, Sender
from ledgerrun.send.runner import locked_store, money_may_move
from ledgerrun.send.summarise import RETRY_LATER, run_record
from ledgerrun.store.model import Journal, Run
from ledgerrun.stripe.session import Session, connect
from ledgerrun.vocab import Status


@dataclass
class ReverseResult:
    exit_code: ExitCode
    job: Job
    run_id: str
    dry_run: bool
    lines: list[Line]
    results_path: Path
    summary_path: Path
    warnings: list[str] = field(default_factory=list)
    # currency -> minor units reversed now (a dry run: what it would reverse)
    totals: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # why the command stopped early, if it did
    # what its reversals file holds: the run date's reversals (a refused or dry run: its own)
    written: list[Line] = field(default_factory=list)


def reverse_job(
    job: Job,
    *,
    adjustments: Path | None,
    every: bool = False,
    reason: str = "",
    dry_run: bool = False,
    live: bool = False,
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
    hard_stop: threading.Event | None = None,
    events: Events | None = None,
    publish: Callable[[ReverseResult], None] | None = None,
) -> ReverseResult:
    """Reverse what ``adjustments`` asks (or ``every`` succeeded adjustment of the run date)."""
    clock = clock or SystemClock()
    started = clock.now()
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    results_path, summary_path = files.outputs(job, dry_run)
    check_outputs(
        (results_path, summary_path, results_path.with_name(results_path.name + ".report.html")),
        ledger=adjustments,
        journal=None if job.journal_url else job.journal,
    )
    if not job.has_store():
        raise ConfigError(
            f"there is no journal at {job.store_location}: ledgerrun has moved nothing for this "
            "job to reverse"
        )
    with locked_store(job) as store:
        job = job.replace(api_version=api_version(job, store))
        requests = asked(job, store, adjustments, every, reason)
        with connect(
            job,
            os.environ if env is None else env,
            live=live,
            clock=clock,
            jitter=random.Random().random,
            stop=stop or threading.Event(),
            standing=True,
        ) as session:
            in_stripe, warnings = books.look_in_stripe(requests, session, store, job, clock)
            books.settle_refunds(requests, session.client, store, clock)
            rq.limit(requests, store, in_stripe)
            aborting = bool(requests.problems) and job.on_invalid == "abort"
            start(store, job, session, requests, run_id, dry_run, results_path, started)
            with money_may_move():
                lines = _decide(requests, aborting, dry_run)
                notes = send(lines, job, session, store, clock, events, hard_stop, run_id)
        with money_may_move():
            if aborting and not dry_run:  # refused: the date's file stays as it was
                results_path = files.rejected_path(job, run_id)
                summary_path = results_path.with_name(results_path.name + ".summary.json")
            own = aborting or dry_run
            result = ReverseResult(
                exit_code(lines, aborting=aborting),
                job,
                run_id,
                dry_run,
                lines,
                results_path,
                summary_path,
                warnings,
                moved(lines, dry_run),
                notes,
                lines if own else files.date_lines(store, job, lines),
            )
            if publish is not None:
                publish(result)
                keep_files(store, result)
            counts = Counter(line.status for line in lines)
            store.finish_run(run_id, clock.now(), int(result.exit_code), dict(counts))
        return result


def asked(
    job: Job, store: Journal, adjustments: Path | None, every: bool, reason: str
) -> rq.Requests:
    """What is asked for, checked against the journal (offline)."""
    requests = (
        rq.every_adjustment(store, job, reason)
        if every
        else rq.from_file(adjustments or Path(), job)
    )
    rq.check(requests, store, job, reason)
    return requests


def start(
    store: Journal,
    job: Job,
    session: Session,
    requests: rq.Requests,
    run_id: str,
    dry_run: bool,
    results_path: Path,
    started: dt.datetime,
) -> Run:
    """Record the command's start: from here on, money may move."""
    record = run_record(
        job, run_id=run_id, kind="reverse_dry_run" if dry_run else "reverse", started=started,
        mode=str(session.mode), ledger_path=requests.source, ledger_sha256="",
        results_path=str(results_path), rows=len(requests.items),
    )  # fmt: skip
    store.start_run(record)
    return record


def send(
    lines: list[Line],
    job: Job,
    session: Session,
    store: Journal,
    clock: Clock,
    events: Events | None,
    hard_stop: threading.Event | None,
    run_id: str,
) -> list[str]:
    """Send the lines left to send; returns the notes on why sending stopped early, if it did."""
    todo = [line for line in lines if line.status == ""]
    if not todo:
        return []
    sender = Sender(job, run_id, session.client, store, clock, events, hard_stop)
    try:
        sender.send(todo)
    finally:
        sender.close(timeout=1.0 if hard_stop is not None and hard_stop.is_set() else 30.0)
    return list(sender.notes)


def moved(lines: list[Line], dry_run: bool) -> dict[str, int]:
    """Per currency, what this command reversed (a dry run: what it would reverse)."""
    totals: dict[str, int] = {}
    for line in lines:
        now = line.status == Status.SUCCEEDED and not line.earlier
        would = dry_run and line.error_code == "dry_run"
        if (now or would) and line.request.entry:
            currency = line.request.entry.currency
            totals[currency] = totals.get(currency, 0) + int(line.request.amount_minor or 0)
    return totals


def keep_files(store: Journal, result: ReverseResult) -> None:
    """Keep the command's own lines and summary in the store (losing them is not worth failing
    the command over)."""
    own = files.reversal_table(result.lines, result.run_id)
    kept = (
        ("reversals.csv", csv_bytes(own)),
        (
            "summary.json",
            (json.dumps(files.summary_of(result, result.lines), indent=2) + "\n").encode(),
        ),
    )
    for name, data in kept:
        try:
            store.save_run_file(result.run_id, name, data)
        except JournalError:
            continue


def exit_code(lines: list[Line], *, aborting: bool) -> ExitCode:
    statuses = [line.status for line in lines]
    if aborting:
        return ExitCode.INVALID
    if Status.UNKNOWN in statuses or any(
        line.status == Status.SKIPPED and line.error_code in RETRY_LATER for line in lines
    ):
        return ExitCode.INCOMPLETE
    left_out = [
        line
        for line in lines
        if line.status == Status.SKIPPED and line.error_code not in ("already_reversed", "dry_run")
    ]
    if Status.FAILED in statuses or Status.INVALID in statuses or left_out:
        return ExitCode.FAILED
    return ExitCode.OK


def _decide(requests: rq.Requests, aborting: bool, dry_run: bool) -> list[Line]:
    lines = []
    for r in requests.items:
        if r.problem is not None:
            line = Line(r, Status.INVALID, error_code=r.problem.code, error=r.problem.message)
        elif r.done is not None:
            line = Line.of(r, r.done)
        elif r.nothing_left:
            why = "Nothing left to reverse: it was reversed in full already."
            line = Line(r, Status.SKIPPED, error_code="already_reversed", error=why)
        elif aborting:
            why = "Not sent: the request has problems and the job aborts on them."
            line = Line(r, Status.SKIPPED, error_code="aborted", error=why)
        elif dry_run:
            line = Line(r, Status.SKIPPED, error_code="dry_run", error="Dry run: would be sent.")
            line.method = undo_for(r).method
        else:
            line = Line(r, "")
        lines.append(line)
    return lines
