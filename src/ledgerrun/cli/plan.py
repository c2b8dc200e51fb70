"""``ledgerrun plan``: what a run would send, per account, currency and direction."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ledgerrun.cli._common import (
    emit_json,
    format_option,
    job_options,
    ledger_ready,
    max_problems_option,
    output,
    reports_errors,
    resolve_job,
    wait_for_ledger_option,
)

if TYPE_CHECKING:
    from ledgerrun.events import Events


@click.command()
@job_options
@click.option(
    "--offline",
    is_flag=True,
    help="Plan from the file and the journal only; make no call to Stripe (no balances).",
)
@click.option(
    "--sweep",
    is_flag=True,
    help="A journal's first look at every connected account's debits (the first run makes "
    "it otherwise): made now, with its progress on stderr, and kept in the journal.",
)
@format_option
@max_problems_option
@wait_for_ledger_option
@reports_errors
def plan(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    journal: str | None,
    api_base: str | None,
    live: bool,
    offline: bool,
    sweep: bool,
    fmt: str,
    max_problems: int,
    wait_for: float | None,
) -> None:
    """Show what a run would do, without sending anything.

    Validates the ledger, then groups its valid rows by account, currency and direction: rows,
    total, how many are done already (by an earlier run, or found in Stripe's books), how many
    are left, and (unless --offline) the balance that must cover them, with a warning when it
    is short. Debits and credits are shown apart, and their net.

    Exit status: 0 when the ledger is valid, 2 when it is not (3 when Stripe cannot be reached).
    """
    from ledgerrun.output import text
    from ledgerrun.send.readonly import plan_job

    if sweep and offline:
        raise click.UsageError("--sweep asks Stripe: it cannot be --offline")
    job = resolve_job(target, ledger, job_name, run_date, journal, api_base)
    ledger_ready(job, wait_for)
    events = None if offline else _log_events()  # offline, there is no sweep to tell of
    result = plan_job(job, offline=offline, live=live, sweep=sweep, events=events)
    if fmt == "json":
        emit_json(result.to_json())
    else:
        click.echo(text.plan(result, max_problems))
    raise SystemExit(int(result.exit_code))


def _log_events() -> Events:
    """The guard's progress (a sweep) as log lines on stderr, text or JSON."""
    from ledgerrun.events import Events
    from ledgerrun.output.logs import JsonLog, TextLog

    settings = output()
    if settings.log_format == "json":
        return Events(JsonLog(sys.stderr))
    return Events(TextLog(sys.stderr, verbose=settings.verbose))
