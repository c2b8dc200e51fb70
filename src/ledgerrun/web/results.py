"""A run's results table as the store keeps it: read once per process (a finished run never
changes) and converted to the format a download asks for."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from ledgerrun.web.app import App


def run_results(app: App, run_id: str) -> pa.Table | None:
    """The run's results table, as the store keeps it (cached: a finished run never changes)."""
    with app.cache_lock:
        if run_id in app.results_cache:
            app.results_cache.move_to_end(run_id)
            return app.results_cache[run_id]
    from ledgerrun.output.results import read_results

    names = [n for n in app.store.run_file_names(run_id) if n.startswith("results.")]
    if not names:
        return None
    data = app.store.run_file(run_id, names[0]) or b""
    with tempfile.TemporaryDirectory(prefix="ledgerrun-web-") as folder:
        path = Path(folder) / names[0]
        path.write_bytes(data)
        table = read_results(path)
    with app.cache_lock:
        app.results_cache[run_id] = table
        while len(app.results_cache) > 8:
            app.results_cache.popitem(last=False)
    return table


def convert(table: pa.Table, fmt: str) -> bytes:
    from ledgerrun.output.results import write_results

    with tempfile.TemporaryDirectory(prefix="ledgerrun-web-") as folder:
        path = Path(folder) / f"results.{fmt}"
        write_results(table, path)
        return path.read_bytes()
