"""Pieces every TARGET command shares: the same options everywhere, output, and error handling.

Every command that reads the journal or talks to Stripe takes the same options (``--live``,
``--api-base``, ``--journal``, ``--job``, ``--date``, ``--ledger``), and the global options
(``--log-format``, ``-v``) are accepted after the command as well as before it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ledgerrun.errors import ExitCode, FatalError

if TYPE_CHECKING:  # the job and its file's reader are loaded by the commands that read one
    from ledgerrun.job import Job

F = TypeVar("F", bound=Callable[..., Any])


class Output:
    """The global options: how to log, and how much; plus what the log lines name. (Plain
    classes, these two: state set as a command goes, made on every command's start, where a
    dataclass would compile its methods first.)"""

    def __init__(self, log_format: str = "text", verbose: int = 0) -> None:
        self.log_format = log_format
        self.verbose = verbose


class Context:
    """What an error line should name, once known (job and run)."""

    def __init__(self) -> None:
        self.job: str | None = None
        self.run_id: str | None = None


CONTEXT = Context()


def output() -> Output:
    """The global options of the command being run (defaults outside a command line)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Output) if ctx is not None else None
    return found or Output()


def json_line(event: str, level: str = "info", **fields: Any) -> None:
    """One JSON object on one line of stderr: the only thing JSON logs ever write."""
    from ledgerrun.output.logs import JsonLog

    context = {k: v for k, v in (("job", CONTEXT.job), ("run_id", CONTEXT.run_id)) if v}
    JsonLog(sys.stderr).write(event, level=level, **context, **fields)


def say(message: str, *, event: str = "notice", level: str = "warning") -> None:
    """A line for the operator on stderr: plain text, or one JSON object with --log-format json."""
    from ledgerrun.scrub import scrub

    if output().log_format == "json":
        json_line(event, level=level, message=message)
    else:
        click.echo(scrub(message), err=True)


_LINES = {
    "notify_failed": "The {notification} notification by {channel} was not delivered "
    "({attempts} tries): {message}",
    "metrics_failed": "The metrics file {path} was not written: {message}",
}


def event_logger() -> Callable[[str, str, Mapping[str, Any]], None]:
    """``log(event, level, fields)`` for what happens after a run (notifications, metrics),
    perhaps in another thread: a JSON object with JSON logs, else a line for what went wrong.
    The global options are read now, in the command's thread."""
    settings = output()

    def log(event: str, level: str, fields: Mapping[str, Any]) -> None:
        from ledgerrun.scrub import scrub

        if settings.log_format == "json":
            json_line(event, level=level, **fields)
        elif event in _LINES:
            click.echo(scrub(_LINES[event].format(**fields)), err=True)
        elif settings.verbose:
            click.echo(scrub(f"{event}: " + ", ".join(f"{k} {v}" for k, v in fields.items())),
                       err=True)  # fmt: skip

    return log


def configure_logging(
    level: int, text_format: str = "%(asctime)s %(levelname)s %(message)s"
) -> None:
    """Python's ``logging`` (a server's own log) to stderr: one JSON object per line with
    --log-format json, else text in ``text_format``."""
    import logging

    handler: logging.Handler
    if output().log_format == "json":
        from ledgerrun.output.logs import JsonLogHandler

        handler = JsonLogHandler(sys.stderr)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(text_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def reports_errors(fn: F) -> F:
    """Known failures become one line on stderr and their own exit code, with no traceback.

    Anything else is a bug: it keeps its traceback (inside one JSON object with JSON logs)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FatalError as exc:
            if output().log_format == "json":
                json_line("error", level="error", message=str(exc), exit_code=int(exc.exit_code))
            else:
                from ledgerrun.scrub import scrub

                click.echo(f"Error: {scrub(str(exc))}", err=True)
            raise SystemExit(int(exc.exit_code)) from None
        except (SystemExit, click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            say("Stopped.", event="stopped")
            raise SystemExit(int(ExitCode.INCOMPLETE)) from None
        except Exception as exc:
            if output().log_format != "json":
                raise
            import traceback

            from ledgerrun.scrub import scrub

            json_line(
                "crash",
                level="error",
                message=f"{type(exc).__name__}: {scrub(str(exc))}",
                traceback=scrub(traceback.format_exc()),
            )
            raise SystemExit(1) from None

    return wrapper  # type: ignore[return-value]


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


def _settings(ctx: click.Context) -> Output:
    found = ctx.find_object(Output)
    if found is None:
        found = ctx.ensure_object(Output)
    return found


def _set_log_format(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _settings(ctx).log_format = value


def _set_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        _settings(ctx).verbose += value


def log_format_option(fn: F) -> F:
    """--log-format, accepted after the command too."""
    return click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        expose_value=False,
        callback=_set_log_format,
        is_eager=True,
        help="As the global option: text, or json (one JSON object per line on stderr).",
    )(fn)


def global_options(fn: F) -> F:
    """--log-format and -v, accepted after the command too (every command takes them)."""
    fn = log_format_option(fn)
    return click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_set_verbose,
        help="As the global option: more lines on stderr.",
    )(fn)


def config_option(help: str) -> Callable[[F], F]:
    """--config FILE of the web application's commands (serve, worker, users): serve.toml."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        default=Path("serve.toml"),
        show_default=True,
        help=help,
    )


def job_options(fn: F) -> F:
    """TARGET plus the options every job command takes, in the same form everywhere."""
    decorators = [
        click.argument("target", type=click.Path(path_type=Path)),
        click.option(
            "--ledger",
            type=click.Path(path_type=Path),
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
        click.option(
            "--journal",
            metavar="PATH",
            help="Use this journal (a SQLite file, or a postgresql:// URL) instead of the "
            "job's. Keep it: it is what makes a re-run safe.",
        ),
        click.option(
            "--api-base",
            metavar="URL",
            help="Send requests here instead of Stripe (for example a sandbox on 127.0.0.1).",
        ),
        click.option(
            "--live",
            is_flag=True,
            help="Allow a live API key (sk_live_/rk_live_). Without it a live key is refused.",
        ),
        global_options,
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


_DURATION = r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?"  # compiled when first used
MAX_WAIT_S = 24 * 3600


def _parse_duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """A duration as people write it: ``30m``, ``2h``, ``90s``, ``1h30m``; in seconds."""
    if value is None:
        return None
    found = re.fullmatch(_DURATION, value.strip().lower())
    if not value.strip() or found is None:
        raise click.BadParameter(f"expected a duration such as 30m, 2h or 90s, got {value!r}")
    seconds = sum(int(found[u] or 0) * n for u, n in (("h", 3600), ("m", 60), ("s", 1)))
    if not 0 < seconds <= MAX_WAIT_S:
        raise click.BadParameter(f"a duration from 1s to 24h, not {value!r}")
    return float(seconds)


def wait_for_ledger_option(fn: F) -> F:
    """--wait-for-ledger DURATION, for the commands that read a ledger."""
    return click.option(
        "--wait-for-ledger",
        "wait_for",
        metavar="DURATION",
        callback=_parse_duration,
        help="If the ledger is not there yet, wait up to DURATION (30m, 2h) for it before "
        "anything else (the job's lock included), looking every second.",
    )(fn)


def ledger_ready(job: Job, wait_for: float | None) -> None:
    """Before a command that reads the job's ledger does anything else: stop (exit 2) when it
    has none to read; with ``--wait-for-ledger``, wait for a file not there yet, saying so. A
    ledger still missing is then the reader's to report: exit 3 for a path with {date} (not
    arrived yet), 2 for a fixed one."""
    from ledgerrun.clock import SystemClock
    from ledgerrun.ingest.read import wait_for_ledger

    job.ledger_file()
    if wait_for:

        def waiting(path: Path) -> None:
            say(
                f"The ledger {path} is not there yet: waiting up to {_duration(wait_for)} for it.",
                event="waiting_for_ledger",
                level="info",
            )

        wait_for_ledger(job, wait_for, SystemClock(), waiting=waiting)


def _duration(seconds: float) -> str:
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((h, "h"), (m, "m"), (s, "s")) if n) or "0s"


def resolve_job(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    journal: str | None = None,
    api_base: str | None = None,
    pool: str = "system",
) -> Job:
    """The job TARGET names with the command's options (see :func:`resolve_target`), remembered
    so that error lines name it. ``pool``: the allocator pyarrow is given for the command
    (:func:`ledgerrun.startup.lean_allocator`).

    Every command that reads a ledger comes here first, so this is where pyarrow's pandas probe
    is answered (:mod:`ledgerrun.startup`); commands that read none (``--help``, ``sandbox``,
    ``serve``) never import pyarrow at all."""
    from ledgerrun.startup import lean_allocator, skip_pandas_probe
    from ledgerrun.target import resolve_target

    lean_allocator(pool)  # first: it may choose the pool pyarrow's import reads
    skip_pandas_probe()
    job = resolve_target(
        target,
        ledger=ledger,
        job_name=job_name,
        run_date=run_date,
        journal=journal,
        api_base=api_base,
    )
    CONTEXT.job = job.name
    return job


def emit_json(payload: dict[str, Any]) -> None:
    import json

    sys.stdout.write(json.dumps(payload, ensure_ascii=False))
    sys.stdout.write("\n")
