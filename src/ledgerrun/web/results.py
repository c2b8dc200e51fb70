"""A run's results as the web shows them: the run's own rows as the store keeps them (see
:mod:`ledgerrun.send.records`), with each adjustment's latest truth (what was reversed of it
since, an attempt settled by a later run), converted to the format a download asks for, and
its report rendered from them."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from ledgerrun.web.app import App

FRESH_S = 10.0  # a page or a download within this of the last reading shares it


def run_results(app: App, run_id: str) -> pa.Table | None:
    """The run's own rows with their latest truth (kept a few seconds: paging through a large
    run reads it once)."""
    now = time.monotonic()
    with app.cache_lock:
        cached = app.results_cache.get(run_id)
        if cached is not None and now - cached[0] < FRESH_S:
            app.results_cache.move_to_end(run_id)
            return cached[1]
    from ledgerrun.send import records

    table = records.own(app.store, run_id)
    if table is None:
        return None
    summary = records.own_summary(app.store, run_id) or {}
    table = records.overlay(table, app.store, str(summary.get("id_prefix") or ""))
    with app.cache_lock:
        app.results_cache[run_id] = (now, table)
        while len(app.results_cache) > 8:
            app.results_cache.popitem(last=False)
    return table


def run_report(app: App, run_id: str, overrides: Mapping[str, Any] | None = None) -> str | None:
    """The run's report, rendered from its own summary and rows (and reconcile's verdict on it,
    when it has one); ``overrides`` replace fields of the summary as the report shows them
    (a web run's: the signed-in user, the uploaded file's name)."""
    from ledgerrun.output.html import render, report_view
    from ledgerrun.send import records

    summary = records.own_summary(app.store, run_id)
    table = run_results(app, run_id)
    if summary is None or table is None:
        return None
    raw = app.store.run_file(run_id, "reconcile.json")
    reconciliation: dict[str, Any] | None = json.loads(raw) if raw else None
    return render({**report_view(summary), **(overrides or {})}, table, reconciliation)


def convert(table: pa.Table, fmt: str) -> bytes:
    from ledgerrun.output.results import write_results

    with tempfile.TemporaryDirectory(prefix="ledgerrun-web-") as folder:
        path = Path(folder) / f"results.{fmt}"
        write_results(table, path)
        return path.read_bytes()
