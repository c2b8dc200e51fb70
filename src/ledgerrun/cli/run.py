"""``ledgerrun run``: debit every row of the ledger exactly once."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from ledgerrun.cli._common import job_options, output, reports_errors, resolve_job
from ledgerrun.events import Events
from ledgerrun.output.logs import JsonLog, TextLog
from ledgerrun.output.progress import Progress


@click.command()
@job_options
@click.option(
    "--results",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the results file here (.csv or .parquet) instead of the job's path.",
)
@click.option(
    "--journal",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Use this journal file instead of the job's. The journal is what makes a "
    "re-run safe: keep it.",
)
@click.option(
    "--api-base",
    metavar="URL",
    help="Send requests here instead of Stripe (for example a sandbox on 127.0.0.1).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    help="How many accounts are worked at once (each account's rows go one by one).",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
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
    help="Check everything, including the accounts, and write the results file, but send no debit.",
)
@click.option(
    "--live",
    is_flag=True,
    help="Allow a live API key (sk_live_/rk_live_). Without it a live key is refused.",
)
@reports_errors
def run(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    results: Path | None,
    journal: Path | None,
    api_base: str | None,
    concurrency: int | None,
    rate_limit: float | None,
    skip_invalid: bool,
    dry_run: bool,
    live: bool,
) -> None:
    """Debit each row of the ledger from its connected account, exactly once.

    Rows are validated, the accounts checked against Stripe, and each debit is written to the
    journal before it is sent and after Stripe answers, so a run that dies can simply be run
    again: rows already debited are never sent twice and keep their IDs.

    Writes the results file (one row per ledger row, with the Stripe IDs), its .summary.json and
    its .report.html. The API key is read from the environment variable the job names
    (STRIPE_API_KEY by default), never from a file or an option.

    Exit status: 0 every row succeeded (now or earlier); 1 some rows failed at Stripe or were
    left out; 2 invalid input or configuration, nothing sent; 3 some outcomes unknown (run the
    job again to settle them); 4 another run of this job is in progress.
    """
    from ledgerrun.output import text as render
    from ledgerrun.send.runner import run_job

    job = resolve_job(target, ledger, job_name, run_date)
    changes: dict[str, object] = {}
    if results is not None:
        changes["results"] = results.resolve()
    if journal is not None:
        changes["journal"] = journal.resolve()
    if api_base is not None:
        changes.update(api_base=api_base, sandbox=None)
    if concurrency is not None:
        changes["concurrency"] = concurrency
    if rate_limit is not None:
        changes["rate_limit"] = rate_limit
    if skip_invalid:
        changes["on_invalid"] = "skip"
    job = job.replace(**changes)
    stop = threading.Event()
    events, progress = _listeners()
    try:
        with _stop_on_signals(stop):
            report = run_job(job, dry_run=dry_run, live=live, stop=stop, events=events)
    finally:
        if progress is not None:
            progress.close()
    click.echo(render.run_report(report))
    raise SystemExit(report.exit_code)


def _listeners() -> tuple[Events, Progress | None]:
    """JSON logs, or (on a terminal) a progress line, plus -v's lines; per the global options."""
    settings = output()
    events = Events()
    progress = None
    if settings.log_format == "json":
        events.listen(JsonLog(sys.stderr))
        return events, None
    if sys.stdout.isatty():
        progress = Progress(sys.stdout)
        events.listen(progress)
    if settings.verbose:
        events.listen(TextLog(sys.stderr))
    return events, progress


class _stop_on_signals:
    """First Ctrl-C or SIGTERM: finish the requests in flight, send no more, write the results.
    A second one stops at once (the journal still makes a re-run safe)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous: dict[int, object] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()
        click.echo("Stopping: finishing requests in flight; no new debit will be sent.", err=True)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
