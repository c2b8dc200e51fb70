"""Reconcile's report: the discrepancies as CSV (formula-safe, with what to do for each) and a
summary as JSON, beside the results file, both written atomically."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

from ledgerrun.clock import iso
from ledgerrun.output.results import atomic_write, safe_cell
from ledgerrun.reconcile.model import Reconciliation

COLUMNS = ("kind", "adjustment_id", "account", "transfer_id", "payment_id", "detail")


def report_paths(results_path: Path) -> tuple[Path, Path]:
    return (
        results_path.with_name(results_path.name + ".reconcile.csv"),
        results_path.with_name(results_path.name + ".reconcile.json"),
    )


def write_report(report: Reconciliation) -> tuple[Path, Path]:
    csv_path, json_path = report_paths(report.results_path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS, "what_to_do"])
    for d in report.discrepancies:
        values = asdict(d)
        writer.writerow([safe_cell(str(values[c])) for c in COLUMNS] + [d.next_step])
    data = buffer.getvalue().encode("utf-8")
    atomic_write(csv_path, lambda fh: fh.write(data))
    summary = {
        "job": report.job,
        "run_date": report.scope,
        "results": str(report.results_path),
        "verdict": report.verdict,
        "exit_code": int(report.exit_code),
        "clean": report.clean,
        "succeeded_rows_checked": report.checked,
        "objects_found": report.objects,
        "other_dates": report.other_dates,
        "discrepancies": report.counts(),  # per kind; the list is in the CSV
        "report": str(csv_path),
        "started_at": iso(report.started_at),
        "ended_at": iso(report.ended_at),
        "view_sha256": report.view_sha256,
    }
    text = (json.dumps(summary, indent=2) + "\n").encode("utf-8")
    atomic_write(json_path, lambda fh: fh.write(text))
    return csv_path, json_path
