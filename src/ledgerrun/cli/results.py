"""``ledgerrun results``: a run date's (or a run's) results, summary and report, written again
from the journal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ledgerrun.cli._common import job_options, reports_errors, resolve_job


@click.command()
@job_options
@click.option(
    "--run",
    "run_id",
    metavar="RUN_ID",
    help="One run's own record (its rows as it left them, with what happened to them since) "
    "instead of the run date's results. `ledgerrun status` lists the runs.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Write here (.csv, .xlsx or .parquet); the summary and report go beside it. Default: "
    "the job's results path for the date (or, with --run, beside it, named after the run).",
)
@reports_errors
def results(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    journal: str | None,
    api_base: str | None,
    live: bool,
    run_id: str | None,
    output: Path | None,
) -> None:
    """Write a run date's results file, summary and report again, from the journal.

    The results of a run date are a view of the journal: every adjustment of the job and date
    it knows as sent, with its latest truth (reversals included), after the rows of the date's
    latest ledger. Every run writes them so; this command writes them again (say, after the
    files were lost or edited) without contacting Stripe, byte for byte as the last run did
    when nothing happened since. With --run, that run's own record instead.

    Exit status: 0 written; 2 the journal holds no such date or run, or a path is unusable.
    """
    from ledgerrun.errors import ConfigError
    from ledgerrun.output.publish import publish
    from ledgerrun.send import dateview
    from ledgerrun.send.paths import check_outputs
    from ledgerrun.send.readonly import read_store
    from ledgerrun.summary import Outputs

    job = resolve_job(target, ledger, job_name, run_date, journal, api_base)
    if output is None:
        base = job.results
        output = base.with_name(f"{base.with_suffix('').name}.run-{run_id}{base.suffix}")
        if run_id is None:
            output = base
    outputs = Outputs.beside(output.resolve())
    check_outputs(outputs.all(), ledger=None, journal=None if job.journal_url else job.journal)
    with read_store(job) as store:
        if store is None:
            raise ConfigError(f"job {job.name} has not run yet: there is no journal to read")
        try:
            table, summary = dateview.rebuild(store, job, run_id)
        except LookupError as exc:
            raise ConfigError(str(exc)) from None
    publish(table, summary, outputs)
    what = f"run {run_id}" if run_id else f"job {job.name} on {job.run_date}"
    click.echo(f"Results of {what}, from the journal ({table.num_rows:,} rows):")
    click.echo(f"Results: {outputs.results}\nSummary: {outputs.summary}\nReport:  {outputs.report}")
