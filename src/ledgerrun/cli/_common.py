"""Pieces every TARGET command shares: the job options, output and error handling."""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from ledgerrun.errors import FatalError
from ledgerrun.job import Job, load_target

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Output:
    """The global options: how to log, and how much."""

    log_format: str = "text"
    verbose: int = 0


def output() -> Output:
    """The global options of the command being run (defaults outside a command line)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Output) if ctx is not None else None
    return found or Output()


def reports_errors(fn: F) -> F:
    """Known failures become one line on stderr and their own exit code, with no traceback.

    Only ledgerrun's fatal errors are caught: anything else is a bug and keeps its traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FatalError as exc:
            from ledgerrun.output.logs import JsonLog, scrub

            if output().log_format == "json":
                JsonLog(sys.stderr).write(
                    "error", level="error", message=str(exc), exit_code=exc.exit_code
                )
            else:
                click.echo(f"Error: {scrub(str(exc))}", err=True)
            raise SystemExit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


def job_options(fn: F) -> F:
    """TARGET plus the options that choose which job and ledger a command works on."""
    decorators = [
        click.argument("target", type=click.Path(path_type=Path, dir_okay=False)),
        click.option(
            "--ledger",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Use this ledger file instead of the one the job file names.",
        ),
        click.option(
            "--job",
            "job_name",
            metavar="NAME",
            help="Job name when TARGET is a ledger file (default: made from the file's name).",
        ),
        click.option(
            "--date",
            "run_date",
            metavar="YYYY-MM-DD",
            callback=_parse_date,
            help="Run date that fills {date} in the job's paths (default: today).",
        ),
    ]
    for decorate in reversed(decorators):
        fn = decorate(fn)
    return fn


def format_option(fn: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for people, json for programs.",
    )(fn)


def max_problems_option(fn: F) -> F:
    return click.option(
        "--max-problems",
        type=click.IntRange(min=0),
        default=50,
        show_default=True,
        help="How many problems the text output lists before summing up the rest by code.",
    )(fn)


def resolve_job(
    target: Path, ledger: Path | None, job_name: str | None, run_date: dt.date | None
) -> Job:
    job = load_target(target, run_date, job_name=job_name)
    if ledger is not None:
        job = job.replace(ledger=ledger.resolve())
    return job


def emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False))
    sys.stdout.write("\n")
