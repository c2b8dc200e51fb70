"""The reversals file (one row per requested reversal, in request order) and its summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ledgerrun.clock import iso
from ledgerrun.job import Job
from ledgerrun.vocab import Status, money_text

if TYPE_CHECKING:
    from ledgerrun.send.reversal.command import ReverseResult

COLUMNS = (
    *("row", "adjustment_id", "transfer_id", "reversal_id", "amount", "currency", "status"),
    *("error", "reason", "reversal", "amount_minor", "idempotency_key", "stripe_request_id"),
    *("error_code", "attempts", "completed_at"),
)
"""The reversals results file: ``reversal_id`` is Stripe's ``trr_``; ``reversal`` the request's
own identity (the reversal_id it was asked under)."""


def outputs(job: Job, dry_run: bool) -> tuple[Path, Path]:
    """``out/x.results.csv`` -> ``out/x.results.reversals.csv`` (and its summary)."""
    stem = job.results.with_suffix("").name
    tag = ".reversals.dry-run" if dry_run else ".reversals"
    path = job.results.with_name(f"{stem}{tag}.csv")
    return path, path.with_name(path.name + ".summary.json")


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
        "notes": result.notes,
        "results": str(result.results_path),
    }
