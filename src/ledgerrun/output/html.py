"""The run report: a single HTML page, next to the results file, for the people who sign a run off.

It shows the mode (LIVE, TEST or a SANDBOX rehearsal) and how the run ended, who ran what on which
ledger, the rows sent now and found done earlier, the money by currency and direction and for
every account, the control total and consent checks, every row that needs a person (with what to
do), the reversals made since, and whether ``ledgerrun reconcile`` has checked the run against
Stripe. :mod:`ledgerrun.output.report` works the content out; the Jinja2 templates in
``templates/`` lay it out, with autoescaping on, so every value from a ledger is text, never
markup. The page holds its own styles and its small sorting script and loads nothing, so it can be
mailed, archived or printed (to A4, from the browser) as it is.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa

from ledgerrun.output import report as view
from ledgerrun.output import report_model
from ledgerrun.output.results import atomic_write, read_results, summary_path

if TYPE_CHECKING:
    from jinja2 import Environment

Json = dict[str, Any]  # a summary, or the summary reconcile writes, as read from JSON
REPORT_SUFFIX = ".report.html"
RECONCILE_SUFFIX = ".reconcile.json"
REVERSALS_SUFFIX = ".reversals.csv"
TEMPLATE = "report.html.j2"
ROW_CAP = report_model.ROW_CAP
STRIPE_FIXES = view.STRIPE_FIXES
UNKNOWN_FIX = view.UNKNOWN_FIX


def report_path(results_path: Path) -> Path:
    """``out/x.results.csv`` -> ``out/x.results.csv.report.html``."""
    return results_path.with_name(results_path.name + REPORT_SUFFIX)


def reconcile_path(results_path: Path) -> Path:
    """``out/x.results.csv`` -> ``out/x.results.csv.reconcile.json`` (reconcile writes it)."""
    return results_path.with_name(results_path.name + RECONCILE_SUFFIX)


def reversals_path(results_path: Path) -> Path:
    """``out/x.results.csv`` -> ``out/x.results.reversals.csv``, where reversals are written."""
    return results_path.with_name(results_path.stem + REVERSALS_SUFFIX)


def write_report(
    results_path: Path,
    summary: Json,
    table: pa.Table,
    reconciliation: Json | None = None,
    reversals: pa.Table | None = None,
) -> Path:
    """Render the report and write it beside the results file, atomically; return its path.

    Reconcile's verdict and the reversals are read from beside the results file when they are
    not given, so a run written again after a reconcile still shows the (older) check."""
    if reconciliation is None:
        reconciliation = read_reconciliation(results_path)
    reversals_file = ""
    if reversals is None:
        reversals = read_reversals(results_path)
    if reversals is not None:
        reversals_file = reversals_path(results_path).name
    path = report_path(results_path)
    content = view.build(summary, table, reconciliation, reversals, reversals_file)
    pieces = _environment().get_template(TEMPLATE).generate(report=content)
    atomic_write(path, lambda fh: _stream(pieces, fh))
    return path


def _stream(pieces: Iterator[str], fh: IO[bytes], size: int = 1 << 16) -> None:
    """Write the page as the template yields it, some 64 KB at a time: a page with a line for
    each of 20,000 accounts was, as one string, its pieces, and its bytes, 60 MB at once."""
    held: list[str] = []
    length = 0
    for piece in pieces:
        held.append(piece)
        length += len(piece)
        if length >= size:
            fh.write("".join(held).encode("utf-8"))
            held.clear()
            length = 0
    fh.write("".join(held).encode("utf-8"))


def refresh_report(results_path: Path) -> Path | None:
    """Render the report again from the files on disk (reconcile calls this once it knows its
    verdict); ``None`` when there is no summary to render from."""
    summary_file = summary_path(results_path)
    if not summary_file.exists():
        return None
    summary = report_view(json.loads(summary_file.read_text(encoding="utf-8")))
    return write_report(results_path, summary, read_results(results_path))


def read_reconciliation(results_path: Path) -> Json | None:
    """Reconcile's summary of this results file, if it has been reconciled."""
    found = reconcile_path(results_path)
    if not found.exists():
        return None
    data = json.loads(found.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def read_reversals(results_path: Path) -> pa.Table | None:
    """The reversals made of this run's rows, if any were."""
    found = reversals_path(results_path)
    return read_results(found) if found.exists() else None


def report_view(summary: Json) -> Json:
    """The summary as the report reads it: version 2 as written (:meth:`Summary.to_json`). A copy,
    so that the caller's stays as it was."""
    return dict(summary)


def render(
    summary: Json,
    table: pa.Table,
    reconciliation: Json | None = None,
    reversals: pa.Table | None = None,
    reversals_file: str = "",
) -> str:
    """The whole page, as text."""
    content = view.build(summary, table, reconciliation, reversals, reversals_file)
    return _environment().get_template(TEMPLATE).render(report=content)


@functools.cache
def _environment() -> Environment:
    """Jinja2 and the templates, loaded when a page is first rendered (a command that only
    names the report's path never imports them)."""
    from ledgerrun.output.render import environment

    return environment()
