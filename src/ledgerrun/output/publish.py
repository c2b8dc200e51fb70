"""Write a run's files, each atomically: its results table, its summary and its report.
(:mod:`ledgerrun.send.publish` turns a run's or a reversal's result into these files; the command
line, the web application and the Python API all publish through it, so their files are the
same.)"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from ledgerrun.output import html
from ledgerrun.output.results import atomic_write, write_results
from ledgerrun.summary import Outputs


def publish(table: pa.Table, summary: dict[str, Any] | None, outputs: Outputs) -> None:
    """Results first (the record finance reconciles against), then summary, then report; with
    no summary (a refused run's own rows), the results file alone."""
    write_results(table, outputs.results)
    if summary is None:
        return
    text = (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    atomic_write(outputs.summary, lambda fh: fh.write(text))
    html.write_report(outputs.results, html.report_view(summary), table)
