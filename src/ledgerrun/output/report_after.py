"""The part of the run report about what came after the run: reconcile's verdict, found in
``<results>.reconcile.json`` (the reversals made since are
:mod:`ledgerrun.output.report_reversals`'s); plus the one way the report reads and shows a time."""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path
from typing import Any

from ledgerrun.output.report_model import Discrepancies, Reconcile
from ledgerrun.output.text import plural
from ledgerrun.vocab import RECONCILE_ADVICE

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
