"""``ledgerrun run``: move each row's money exactly once."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ledgerrun.cli._common import (
    CONTEXT,
    event_logger,
    job_options,
    ledger_ready,
    output,
    reports_errors,
    resolve_job,
    say,
    wait_for_ledger_option,
)

if TYPE_CHECKING:
    from ledgerrun.events import Event, Events
    from ledgerrun.output.progress import Progress


@click.command()
@job_options
@click.option(
    "--results",
    type=click.Path(path_type=Path),
    help="Write the results file here (.csv, .xlsx or .parquet) instead of the job's path.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=64),
    help="How many accounts are worked at once (each account's rows go one by one).",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True, max=10_000),
    help="Requests per second for the whole run (Stripe allows 25 in test mode, 100 live).",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Send the valid rows even when some rows are invalid (the job's on_invalid "
    "= skip); invalid rows are reported, never sent.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check everything, including the accounts and Stripe's books, and write .dry-run "
    "results beside the real ones, but send nothing.",
)
@wait_for_ledger_option
@click.option(
    "--allow-prefix-change",
    is_flag=True,
    help="The job's id_prefix changed on purpose: send rows Stripe holds for this job under "
    "another prefix (possible_duplicate_prefix) as new adjustments. Kept in the journal: later "
    "runs need it no more.",
)
@reports_errors
def run(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    journal: str | None,
    api_base: str | None,
    live: bool,
    results: Path | None,
    concurrency: int | None,
    rate_limit: float | None,
    skip_invalid: bool,
    dry_run: bool,
    wait_for: float | None,
    allow_prefix_change: bool,
) -> None:
    """Move the money of each row of the ledger, exactly once.

    Rows are validated, the accounts checked against Stripe, Stripe's own books searched for
    adjustments already done, and each request is written to the journal before it is sent and
    after Stripe answers, so a run that dies can simply be run again: rows already done are never
    sent twice and keep their IDs.

    Writes the results file (one row per ledger row, with the Stripe IDs), its .summary.json and
    its .report.html. The API key is read from the environment variable the job names
    (STRIPE_API_KEY by default), never from a file or an option.

    Exit status: 0 every row succeeded (now or earlier); 1 some rows failed at Stripe for good
    or were left out as invalid; 2 invalid input or configuration, nothing sent; 3 incomplete:
    some rows unknown or unsent (a stop, an outage, a full disk), run it again later; 4 another
    run of this job is in progress.
    """
    from ledgerrun.api.after_run import AfterRun
    from ledgerrun.output import text
    from ledgerrun.send.publish import publish_run
    from ledgerrun.send.runner import run_job, who
    from ledgerrun.send.stopping import stop_on_signals
    from ledgerrun.target import with_run_options

    job = resolve_job(target, ledger, job_name, run_date, journal, api_base)
    ledger_ready(job, wait_for)
    job = with_run_options(
        job,
        results=results,
        concurrency=concurrency,
        rate_limit=rate_limit,
        skip_invalid=skip_invalid,
        allow_prefix_change=allow_prefix_change,
    )
    stop, hard_stop = threading.Event(), threading.Event()
    events, progress = _listeners()
    after = AfterRun(job, dry_run=dry_run, by="@".join(who()), log=event_logger())
    events.listen(after)  # then, the run over: its metrics and notifications
    try:
        with stop_on_signals(stop, hard_stop, _notify), after:
            result = run_job(
                job,
                dry_run=dry_run,
                live=live,
                stop=stop,
                hard_stop=hard_stop,
                events=events,
                publish=publish_run,
            )
    finally:
        if progress is not None:
            progress.close()
    click.echo(text.run_report(result))
    raise SystemExit(int(result.exit_code))


def _notify(message: str, event: str) -> None:
    say(message, event=event)


def _listeners() -> tuple[Events, Progress | None]:
    """JSON logs, or (on a terminal) a progress line, plus -v's lines; per the global options."""
    from ledgerrun.events import Events, RunStart
    from ledgerrun.output.logs import JsonLog, TextLog

    def remember_run(event: Event) -> None:
        if isinstance(event, RunStart):
            CONTEXT.run_id = event.run_id

    settings = output()
    events = Events()
    events.listen(remember_run)
    progress = None
    if settings.log_format == "json":
        events.listen(JsonLog(sys.stderr))
        return events, None
    if sys.stdout.isatty():
        from ledgerrun.output.progress import Progress

        progress = Progress(sys.stdout)
        events.listen(progress)
    events.listen(TextLog(sys.stderr, verbose=settings.verbose))
    return events, progress
