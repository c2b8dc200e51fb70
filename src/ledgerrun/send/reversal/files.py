"""The reversals file and its summary: the run date's reversals as the store knows them.

Like a run's results, the reversals file of a run date is a view of the store: every ``reverse``
rewrites it with every reversal the store holds of the date (each as its record stands now) and
this command's own requests that sent nothing (invalid, skipped), so no later command can make it
hold less. A refused command (its request has problems and the job aborts on them) leaves it as
it was and writes its own lines beside it, as ``<results stem>.reversals.rejected-<run id>.csv``.
Each command's own lines are kept in the store under its run id.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ledgerrun.clock import iso
from ledgerrun.job import Job
from ledgerrun.send.reversal import requests as rq
from ledgerrun.store.model import Journal
from ledgerrun.vocab import Status, money_text

if TYPE_CHECKING:
    from ledgerrun.send.reversal.command import ReverseResult
    from ledgerrun.send.reversal.sender import Line

COLUMNS = (
    *("row", "adjustment_id", "reversal_id", "method", "amount", "currency", "status"),
    *("error", "reason", "transfer_id", "payment_id", "transfer_reversal_id", "refund_id"),
    *("refund_status", "amount_minor", "idempotency_key", "stripe_request_id", "error_code"),
    *("attempts", "completed_at", "run_id"),
)
"""The reversals file. ``reversal_id`` is the reversal's own identity (the id it was asked
under); ``method`` how it was made (``refund`` of a debit's ``payment_id``, or
``transfer_reversal`` of the ``transfer_id``); ``transfer_reversal_id`` is Stripe's ``trr_`` and
``refund_id`` its ``re_``, with ``refund_status`` (``pending`` until Stripe has paid it back).
``row`` is the request's row, blank for a reversal made by an earlier command."""


def outputs(job: Job, dry_run: bool) -> tuple[Path, Path]:
    """``out/x.results.csv`` -> ``out/x.results.reversals.csv`` (and its summary)."""
    stem = job.results.with_suffix("").name
    tag = ".reversals.dry-run" if dry_run else ".reversals"
    path = job.results.with_name(f"{stem}{tag}.csv")
    return path, path.with_name(path.name + ".summary.json")


def rejected_path(job: Job, run_id: str) -> Path:
    """``out/x.results.csv`` -> ``out/x.results.reversals.rejected-<run id>.csv``."""
    return job.results.with_name(
        f"{job.results.with_suffix('').name}.reversals.rejected-{run_id}.csv"
    )


def date_lines(store: Journal, job: Job, lines: Sequence[Line]) -> list[Line]:
    """The run date's reversals: each the store holds a record of that this command did not ask
    for (oldest first), then this command's lines."""
    from ledgerrun.send.reversal.sender import Line

    asked = {line.request.key for line in lines if line.request.key}
    day = job.run_date.isoformat()
    records = sorted(
        (e for e in store.iter_reversals(job.name) if e.run_date == day and e.key not in asked),
        key=lambda e: (e.attempted_at, e.key),
    )
    adjustments = store.entries({e.adjustment_key for e in records})
    earlier = []
    for e in records:
        request = rq.Request(
            0, e.adjustment_id, e.reversal_id, e.reason, "", e.adjustment_key, e.key,
            entry=adjustments.get(e.adjustment_key), amount_minor=e.amount_minor, earlier=e,
        )  # fmt: skip
        earlier.append(Line.of(request, e, asked=False))
    return [*earlier, *lines]


def reversal_table(lines: Sequence[Line], run_id: str = "") -> pa.Table:
    """The reversals file's rows for ``lines``, in their order (``run_id``: this command's, for
    the lines it made no record of)."""
    rows: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for line in lines:
        r = line.request
        entry = r.entry
        currency = entry.currency if entry else ""
        amount = r.amount_minor
        values = {
            "row": r.row if line.asked else None,
            "adjustment_id": r.adjustment_id,
            "reversal_id": r.reversal_id,
            "method": line.method,
            "amount": money_text(amount, currency).rsplit(" ", 1)[0].replace(",", "")
            if amount is not None and currency
            else "",
            "currency": currency,
            "status": line.status,
            "error": line.error,
            "reason": r.reason,
            "transfer_id": (entry.transfer_id or "") if entry else "",
            "payment_id": (entry.payment_id or "") if entry else "",
            "transfer_reversal_id": line.reversal_object_id,
            "refund_id": line.refund_id,
            "refund_status": line.refund_status,
            "amount_minor": amount,
            "idempotency_key": line.idempotency_key,
            "stripe_request_id": line.request_id,
            "error_code": line.error_code,
            "attempts": line.attempts,
            "completed_at": iso(line.completed_at),
            "run_id": line.run_id or (run_id if line.asked else ""),
        }
        for name in COLUMNS:
            rows[name].append(values[name])
    types = {"row": pa.int64(), "amount_minor": pa.int64(), "attempts": pa.int64()}
    return pa.table({name: pa.array(rows[name], types.get(name, pa.string())) for name in COLUMNS})


def summary_of(result: ReverseResult, lines: Sequence[Line] | None = None) -> dict[str, Any]:
    """The summary of ``lines`` (by default the date's, as written beside the reversals file)
    and of what this command did."""
    shown = result.written if lines is None else lines
    counts: dict[str, int] = {s.value: 0 for s in Status}
    reversed_total: dict[str, int] = {}
    for line in shown:
        counts[line.status] = counts.get(line.status, 0) + 1
        entry = line.request.entry
        if line.status == Status.SUCCEEDED and entry is not None:
            amount = int(line.request.amount_minor or 0)
            reversed_total[entry.currency] = reversed_total.get(entry.currency, 0) + amount
    return {
        "run_id": result.run_id,
        "job": result.job.name,
        "run_date": result.job.run_date.isoformat(),
        "dry_run": result.dry_run,
        "exit_code": int(result.exit_code),
        "reversals": len(shown),
        "counts": counts,
        "reversed": reversed_total,
        "reversed_now": {} if result.dry_run else result.totals,
        "would_reverse": result.totals if result.dry_run else {},
        "asked_now": len(result.lines),
        "done_earlier": sum(1 for line in shown if line.earlier),
        "refunds_pending": sum(1 for line in shown if line.refund_status == "pending"),
        "warnings": result.warnings,
        "notes": result.notes,
        "results": str(result.results_path),
    }
