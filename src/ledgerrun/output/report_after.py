"""The parts of the run report about what came after the run: reconcile's verdict, found in
``<results>.reconcile.json``, and the reversals made since, in ``<results stem>.reversals.csv``.
Plus the one way the report reads and shows a time."""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path
from typing import Any

import pyarrow as pa

from ledgerrun import money
from ledgerrun.output.report_model import (
    EXTRA_CUT,
    MESSAGE_CUT,
    REVERSED,
    ROW_CAP,
    Discrepancies,
    Reconcile,
    ReversalLine,
    ReversalRow,
    Reversals,
)
from ledgerrun.output.text import plural
from ledgerrun.vocab import RECONCILE_ADVICE, shown

Json = dict[str, Any]


def parse_time(stamp: object) -> dt.datetime | None:
    if not stamp:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def stamp(stamp: object) -> str:
    moment = parse_time(stamp)
    if moment is None:
        return str(stamp or "?")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def reconcile_command(s: Json) -> str:
    """The command that reconciles this run: its job file when it has one, else its ledger."""
    target = str(s.get("job_file") or s.get("ledger") or "<job file or ledger>")
    date = str(s.get("run_date") or "<run date>")
    command = f"ledgerrun reconcile {shlex.quote(target)} --date {shlex.quote(date)}"
    if s.get("api_base"):  # a rehearsal: reconcile against the same sandbox
        command += f" --api-base {shlex.quote(str(s['api_base']))}"
    return command


def reconcile_view(s: Json, rec: Json | None) -> Reconcile:
    if s.get("sandbox_embedded"):
        return Reconcile("gone", "")
    command = reconcile_command(s)
    if rec is None or rec.get("run_date") not in (None, "all", s.get("run_date")):
        return Reconcile("none", command)
    checked = int(rec.get("succeeded_rows_checked") or 0)
    found = int(rec.get("objects_found") or rec.get("debits_found") or 0)
    words = (
        f"{plural(checked, 'succeeded row')} checked, "
        f"{plural(found, 'object')} of the transfer group found at Stripe"
    )
    if rec.get("other_dates"):
        words += f" ({plural(int(rec['other_dates']), 'object')} of other run dates)"
    ended, run_ended = parse_time(rec.get("ended_at")), parse_time(s.get("ended_at"))
    stale = ended is not None and run_ended is not None and ended < run_ended
    if rec.get("view_sha256") and s.get("view_sha256"):  # the check holds while nothing changed
        stale = rec["view_sha256"] != s["view_sha256"]
    at = stamp(rec.get("ended_at")) if rec.get("ended_at") else ""
    report = Path(str(rec.get("report") or "")).name
    if rec.get("clean"):
        return Reconcile("clean", command, words, at, stale, report=report)
    kinds = [
        Discrepancies(str(k), int(n), RECONCILE_ADVICE.get(str(k), "See the reconcile report."))
        for k, n in sorted((rec.get("discrepancies") or {}).items())
    ]
    return Reconcile("dirty", command, words, at, stale, kinds, sum(k.rows for k in kinds), report)


def reversals_view(found: pa.Table, results: pa.Table, file_name: str) -> Reversals:
    """Reversed amounts per account, currency and direction: those of the results row each
    reversal undoes (found by transfer id, else by row number)."""
    by_transfer: dict[str, tuple[str, str]] = {}
    by_row: dict[int, tuple[str, str]] = {}
    for r in results.select(["row", "transfer_id", "account", "direction"]).to_pylist():
        where = (str(r["account"]), str(r["direction"]))
        if r["transfer_id"]:
            by_transfer[r["transfer_id"]] = where
        if r["row"] is not None:
            by_row[int(r["row"])] = where
    sums: dict[tuple[str, str, str], list[int]] = {}
    problems: list[ReversalRow] = []
    total_problems = 0
    for r in found.to_pylist():
        cell = {k: "" if v is None else str(v) for k, v in r.items()}
        row = int(cell["row"]) if cell.get("row", "").isdigit() else None
        account, direction = by_transfer.get(cell.get("transfer_id", "")) or by_row.get(
            -1 if row is None else row, ("?", "")
        )
        currency = cell.get("currency", "").lower()
        into = sums.setdefault((account, currency, direction), [0, 0, 0])
        if cell.get("status") == REVERSED:
            into[0] += 1
            into[1] += _minor(cell.get("amount", ""), currency)
            continue
        into[2] += 1
        total_problems += 1
        if len(problems) < ROW_CAP:
            problems.append(
                ReversalRow(
                    row,
                    cell.get("adjustment_id", ""),
                    cell.get("transfer_id", ""),
                    account,
                    cell.get("amount", ""),
                    currency,
                    cell.get("status", ""),
                    shown(cell.get("error", ""), MESSAGE_CUT),
                    shown(cell.get("reason", ""), EXTRA_CUT),
                )
            )
    lines = [ReversalLine(*key, n, m, bad) for key, (n, m, bad) in sorted(sums.items())]
    return Reversals(file_name, lines, problems, total_problems)


def _minor(text: str, currency: str) -> int:
    """A reversal's amount (major units, as the results write them) in minor units; 0 when it
    cannot be read (the reversal still counts)."""
    try:
        return money.parse_major(text, money.exponent(currency))
    except (KeyError, ValueError, money.AmountError):
        return 0
