"""``ledgerrun reconcile`` as a library call: check a run date (or every date) of a job against
Stripe, write the findings beside the results, and refresh the run's report with the verdict.
The command line and the Python API both call :func:`reconcile_job`. Sends no money.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledgerrun.errors import ConfigError
from ledgerrun.job import Job, redact_location
from ledgerrun.reconcile.model import Reconciliation


@dataclass(frozen=True)
class Reconciled:
    """A reconciliation and the files it wrote: the findings (CSV, with what to do for each, and
    a JSON summary) and the run's report refreshed with the verdict (None when there is none)."""

    report: Reconciliation
    csv_path: Path
    json_path: Path
    refreshed: Path | None


def reconcile_job(
    job: Job,
    *,
    results: Path | None = None,
    every_date: bool = False,
    live: bool = False,
    env: Mapping[str, str] | None = None,
) -> Reconciled:
    """Reconcile the job's run date (or, with ``every_date``, every date the journal holds)
    against Stripe. ``results`` is the results file to check (default: the job's). Raises
    ConfigError when there is nothing to reconcile (no results file and no journal)."""
    from ledgerrun.output.html import refresh_report
    from ledgerrun.reconcile.check import reconcile as check
    from ledgerrun.reconcile.files import write_report
    from ledgerrun.send.readonly import read_store
    from ledgerrun.stripe.session import connect

    path = (results or job.results).resolve()
    if not every_date and not path.exists() and not job.has_store():
        raise ConfigError(
            f"nothing to reconcile for {job.run_date}: no results file at {path} and no journal"
            f" at {redact_location(job.store_location)} (run the job first, or give --results,"
            " --date or --all)"
        )
    started = dt.datetime.now(dt.UTC)
    with (
        read_store(job) as store,
        connect(job, os.environ if env is None else env, live=live, standing=True) as session,
    ):
        report = check(
            job,
            session,
            store,
            path,
            run_date=None if every_date else job.run_date.isoformat(),
            now=started,
            from_file=results is not None,
        )
    report.ended_at = dt.datetime.now(dt.UTC)
    csv_path, json_path = write_report(report)
    refreshed = refresh_report(path) if path.exists() and not every_date else None
    return Reconciled(report, csv_path, json_path, refreshed)
