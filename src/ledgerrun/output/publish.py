"""Write a command's files, each atomically: a run's results table, its summary and its report;
a reversal's results and summary. The command line, the web application and the Python API all
publish through here, so their files are the same."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pyarrow as pa

from ledgerrun.output import html
from ledgerrun.output.results import atomic_write, write_results
from ledgerrun.summary import Outputs, Summary

if TYPE_CHECKING:
    from ledgerrun.send.reverse import ReverseResult
    from ledgerrun.send.runner import RunResult


def publish(table: pa.Table, summary: Summary, outputs: Outputs) -> None:
    """Results first (the record finance reconciles against), then summary, then report."""
    write_results(table, outputs.results)
    data = summary.to_json()
    text = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    atomic_write(outputs.summary, lambda fh: fh.write(text))
    html.write_report(outputs.results, html.report_view(data), table)


def publish_run(result: RunResult) -> None:
    """A run's publisher (``run_job(publish=...)``): builds the results table, keeps it on the
    result (``result.table``), and writes the run's files."""
    from ledgerrun.send.table import results_table

    result.table = results_table(result.prepared, result.outcomes)
    publish(result.table, result.summary, result.outputs)


def publish_reversals(result: ReverseResult) -> None:
    """A reversal's publisher (``reverse_job(publish=...)``): its results file and summary."""
    from ledgerrun.send.reverse import reversal_table, summary_of

    write_results(reversal_table(result), result.results_path)
    data = (json.dumps(summary_of(result), indent=2) + "\n").encode()
    atomic_write(result.summary_path, lambda fh: fh.write(data))
