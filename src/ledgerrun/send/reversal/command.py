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
import os
import random
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from ledgerrun.clock import Clock, SystemClock, iso
from ledgerrun.errors import (
    ExitCode,
    JournalError,
    RefusedError,
    StripeError,
)
from ledgerrun.job import Job
from ledgerrun.send import reversals as rq
from ledgerrun.send.keys import (
    META_REVERSAL,
)
from ledgerrun.send.paths import check_outputs
from ledgerrun.send.reverse_send import Line, Sender
from ledgerrun.send.runner import who
from ledgerrun.store import open_store
from ledgerrun.store.model import FAILED, SUCCEEDED, ReversalEntry, Run, Store
from ledgerrun.stripe.client import Client
from ledgerrun.stripe.session import Session, connect
from ledgerrun.stripe.shapes import Reversal
from ledgerrun.vocab import Direction, Status, money_text

COLUMNS = (
    *("row", "adjustment_id", "transfer_id", "reversal_id", "amount", "currency", "status"),
    *("error", "reason", "reversal", "amount_minor", "idempotency_key", "stripe_request_id"),
    *("error_code", "attempts", "completed_at"),
)
"""The reversals results file: ``reversal_id`` is Stripe's ``trr_``; ``reversal`` the request's
own identity (the reversal_id it was asked under)."""


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


def outputs(job: Job, dry_run: bool) -> tuple[Path, Path]:
    """``out/x.results.csv`` -> ``out/x.results.reversals.csv`` (and its summary)."""
    stem = job.results.with_suffix("").name
    tag = ".reversals.dry-run" if dry_run else ".reversals"
    path = job.results.with_name(f"{stem}{tag}.csv")
    return path, path.with_name(path.name + ".summary.json")


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
    publish: Callable[[ReverseResult], None] | None = None,
) -> ReverseResult:
    """Reverse what ``adjustments`` asks (or ``every`` succeeded adjustment of the run date)."""
    clock = clock or SystemClock()
    stop = stop or threading.Event()
    started = clock.now()
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    results_path, summary_path = outputs(job, dry_run)
    check_outputs(
        (results_path, summary_path, results_path.with_name(results_path.name + ".report.html")),
        ledger=adjustments,
        journal=None if job.journal_url else job.journal,
    )
    if not job.has_store():
        from ledgerrun.errors import ConfigError

        raise ConfigError(
            f"there is no journal at {job.store_location}: ledgerrun has moved nothing for this "
            "job to reverse"
        )
    store = open_store(job.store_location)
    try:
        store.lock(job.name)
        requests = (
            rq.every_adjustment(store, job, reason)
            if every
            else rq.from_file(adjustments or Path(), job)
        )
        rq.check(requests, store, job, reason)
        env = os.environ if env is None else env
        jitter = random.Random().random
        with connect(
            job, env, live=live, clock=clock, jitter=jitter, stop=stop, standing=True
        ) as session:
            in_stripe, warnings = _look_in_stripe(requests, session, store, job)
            rq.limit(requests, store, in_stripe)
            aborting = bool(requests.problems) and job.on_invalid == "abort"
            user, host = who()
            record = Run(
                run_id,
                job.name,
                "reverse_dry_run" if dry_run else "reverse",
                job.run_date.isoformat(),
                started,
                str(session.mode),
                user,
                host,
                os.getpid(),
                str(job.source or ""),
                requests.source,
                "",
                str(results_path),
                len(requests.items),
            )
            store.start_run(record)
            lines = _decide(requests, aborting, dry_run)
            todo = [line for line in lines if line.status == ""]
            if todo:
                Sender(job, run_id, session.client, store, clock).send(todo)
        code = exit_code(lines, aborting=aborting)
        result = ReverseResult(
            code, job, run_id, dry_run, lines, results_path, summary_path, warnings
        )
        for line in lines:
            moved = line.status == Status.SUCCEEDED and not line.earlier
            would = dry_run and line.error_code == "dry_run"
            if (moved or would) and line.request.entry:
                currency = line.request.entry.currency
                result.totals[currency] = result.totals.get(currency, 0) + int(
                    line.request.amount_minor or 0
                )
        if publish is not None:
            publish(result)
            for path, name in ((results_path, "reversals.csv"), (summary_path, "summary.json")):
                try:
                    store.save_run_file(run_id, name, path.read_bytes())
                except (OSError, JournalError):
                    continue
        counts: dict[str, int] = defaultdict(int)
        for line in lines:
            counts[line.status] += 1
        store.finish_run(run_id, clock.now(), int(code), dict(counts))
        return result
    finally:
        store.close()


def exit_code(lines: list[Line], *, aborting: bool) -> ExitCode:
    statuses = [line.status for line in lines]
    if aborting:
        return ExitCode.INVALID
    if Status.UNKNOWN in statuses or any(
        line.status == Status.SKIPPED and line.error_code in ("stopped", "stripe_unavailable")
        for line in lines
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


def _look_in_stripe(
    requests: rq.Requests, session: Session, store: Store, job: Job
) -> tuple[dict[str, int], list[str]]:
    """Each transfer's ``amount_reversed``; reversals Stripe holds that the journal lacks (taken
    as done); and warnings when the paying side's balance looks short."""
    client = session.client
    wanted = {r.entry.transfer_id: r for r in requests.items if r.entry and r.entry.transfer_id}
    reversed_now: dict[str, int] = {}

    def fetch(item: tuple[str, rq.Request]) -> tuple[str, int, list[Reversal]]:
        transfer_id, request = item
        try:
            movement = client.transfer(transfer_id, request.context)
        except RefusedError:
            return transfer_id, -1, []
        found = (
            list(client.reversals(transfer_id, request.context)) if movement.amount_reversed else []
        )
        return transfer_id, movement.amount_reversed, found

    with ThreadPoolExecutor(max(1, min(job.stripe.concurrency, len(wanted) or 1))) as pool:
        answers = list(pool.map(fetch, wanted.items()))
    by_key: dict[str, Reversal] = {}
    for transfer_id, amount_reversed, found in answers:
        if amount_reversed < 0:
            for r in requests.items:
                if r.entry and r.entry.transfer_id == transfer_id and r.problem is None:
                    r.problem = rq.problem_of(
                        r,
                        "adjustment_id",
                        "adjustment_conflict",
                        f"Stripe has no transfer {transfer_id} for adjustment "
                        f"'{r.adjustment_id}': it cannot be reversed (run ledgerrun reconcile).",
                    )
            continue
        reversed_now[transfer_id] = amount_reversed
        for reversal in found:
            key = reversal.metadata.get(META_REVERSAL)
            if key:
                by_key[key] = reversal
    for r in requests.items:
        held = by_key.get(r.key)
        if r.problem is None and r.done is None and held is not None and r.entry is not None:
            r.done = _adopt(store, r, held, job)
            r.amount_minor = held.amount
    return reversed_now, _balance_warnings(requests, client)


def _adopt(store: Store, r: rq.Request, reversal: Reversal, job: Job) -> ReversalEntry:
    """A reversal Stripe holds under this request's identity but the journal does not know as
    done (its journal was lost, or the answer never came): recorded as done, never resent."""
    assert r.entry is not None
    now = dt.datetime.now(dt.UTC)
    earlier = r.earlier
    if earlier is None or earlier.state == FAILED:
        earlier = rq.intent_of(
            r,
            job,
            amount_minor=reversal.amount,
            request={"amount": reversal.amount},
            attempts=0,
            attempted_at=now,
            attempted_at_server=now,
            run_id="found-in-stripe",
        )
        store.record_reversal_intent(earlier)
    store.record_reversal_success(
        r.key,
        run_id="found-in-stripe",
        reversal_object_id=reversal.id,
        request_id=reversal.request_id,
        completed_at=now,
    )
    return replace(earlier, state=SUCCEEDED, reversal_object_id=reversal.id, completed_at=now)


def _balance_warnings(requests: rq.Requests, client: Client) -> list[str]:
    """The paying side of each reversal: the platform for a debit, the account for a credit."""
    need: dict[tuple[str | None, str], int] = defaultdict(int)
    for r in requests.items:
        if r.problem is None and r.done is None and r.entry is not None and r.amount_minor:
            payer = None if r.entry.direction == Direction.DEBIT else r.entry.account
            need[(payer, r.entry.currency)] += r.amount_minor
    warnings = []
    for (payer, currency), amount in sorted(
        need.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])
    ):
        try:
            available = client.available(payer).get(currency, 0)
        except StripeError:
            continue
        if available < amount:
            from ledgerrun.vocab import money_text

            who_pays = "the platform" if payer is None else payer
            warnings.append(
                f"{who_pays} has {money_text(available, currency)} available but would pay back "
                f"{money_text(amount, currency)}: reversals it cannot cover fail."
            )
    return warnings


def _decide(requests: rq.Requests, aborting: bool, dry_run: bool) -> list[Line]:
    lines = []
    for r in requests.items:
        if r.problem is not None:
            line = Line(r, Status.INVALID, error_code=r.problem.code, error=r.problem.message)
        elif r.done is not None:
            line = Line(
                r,
                Status.SUCCEEDED,
                r.done.reversal_object_id or "",
                r.done.idempotency_key,
                r.done.request_id or "",
                completed_at=r.done.completed_at,
                attempts=r.done.attempts,
                earlier=True,
            )
        elif r.nothing_left:
            why = "Nothing left to reverse: it was reversed in full already."
            line = Line(r, Status.SKIPPED, error_code="already_reversed", error=why)
        elif aborting:
            why = "Not sent: the request has problems and the job aborts on them."
            line = Line(r, Status.SKIPPED, error_code="aborted", error=why)
        elif dry_run:
            line = Line(r, Status.SKIPPED, error_code="dry_run", error="Dry run: would be sent.")
        else:
            line = Line(r, "")
        lines.append(line)
    return lines


def reversal_table(result: ReverseResult) -> pa.Table:
    """The reversals results file: one row per requested reversal, in request order."""
    rows: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for line in result.lines:
        r = line.request
        entry = r.entry
        currency = entry.currency if entry else ""
        amount = r.amount_minor
        values = {
            "row": r.row,
            "adjustment_id": r.adjustment_id,
            "transfer_id": (entry.transfer_id or "") if entry else "",
            "reversal_id": line.reversal_object_id,
            "amount": money_text(amount, currency).rsplit(" ", 1)[0].replace(",", "")
            if amount is not None and currency
            else "",
            "currency": currency,
            "status": line.status,
            "error": line.error,
            "reason": r.reason,
            "reversal": r.reversal_id,
            "amount_minor": amount,
            "idempotency_key": line.idempotency_key,
            "stripe_request_id": line.request_id,
            "error_code": line.error_code,
            "attempts": line.attempts,
            "completed_at": iso(line.completed_at),
        }
        for name in COLUMNS:
            rows[name].append(values[name])
    types = {"row": pa.int64(), "amount_minor": pa.int64(), "attempts": pa.int64()}
    return pa.table({name: pa.array(rows[name], types.get(name, pa.string())) for name in COLUMNS})


def summary_of(result: ReverseResult) -> dict[str, Any]:
    counts: dict[str, int] = {s.value: 0 for s in Status}
    for line in result.lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    return {
        "run_id": result.run_id,
        "job": result.job.name,
        "run_date": result.job.run_date.isoformat(),
        "dry_run": result.dry_run,
        "exit_code": int(result.exit_code),
        "reversals": len(result.lines),
        "counts": counts,
        "reversed_now": {} if result.dry_run else result.totals,
        "would_reverse": result.totals if result.dry_run else {},
        "done_earlier": sum(1 for line in result.lines if line.earlier),
        "warnings": result.warnings,
        "results": str(result.results_path),
    }
