"""The ``ledgerrun`` command line: a thin layer of click commands over the library.

Each command lives in its own module and imports the heavy parts of the library (pyarrow,
stripe) inside its function, so ``ledgerrun --help`` stays fast.
"""

from __future__ import annotations

import click

from ledgerrun import __version__
from ledgerrun.cli._common import Output
from ledgerrun.cli.check import check
from ledgerrun.cli.journal import journal
from ledgerrun.cli.plan import plan
from ledgerrun.cli.reconcile import reconcile
from ledgerrun.cli.results import results
from ledgerrun.cli.reverse import reverse
from ledgerrun.cli.run import run
from ledgerrun.cli.sandbox import sandbox
from ledgerrun.cli.serve import serve
from ledgerrun.cli.status import status
from ledgerrun.cli.users import users
from ledgerrun.cli.validate import validate
from ledgerrun.cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ledgerrun")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line on stderr (run start, each account finished, each "
    "failure, run end), for cron and log collectors; no progress display.",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="With text logs, also print each failed or unknown row and each finished account.",
)
@click.pass_context
def main(ctx: click.Context, log_format: str, verbose: int) -> None:
    """Debit Stripe Connect accounts in bulk from a ledger file, exactly once.

    TARGET is a job file (TOML) or a ledger file (.csv, .parquet, .xlsx). Start with
    `ledgerrun validate TARGET`, then `plan`, then `run`; `reconcile` checks a run against
    Stripe afterwards and `status` shows the job's history.
    """
    ctx.obj = Output(log_format, verbose)


for command in (validate, plan, run, reverse, reconcile, results, status, check, journal, sandbox):
    main.add_command(command)
for command in (serve, users, worker):  # the web application
    main.add_command(command)


def entry() -> None:
    """The ``ledgerrun`` executable (and ``python -m ledgerrun``): run the command, exit with its
    code. The Stripe SDK's probes of HTTP libraries and pyarrow's import of numpy are answered
    first (:mod:`ledgerrun.startup`).
    The interpreter exits the ordinary way: skipping its teardown with ``os._exit`` saved
    nothing measurable once no command imports pandas (docs/benchmarks.md, "Start-up")."""
    import sys

    from ledgerrun.startup import skip_numpy_for_pyarrow, skip_sdk_probe

    skip_sdk_probe()
    skip_numpy_for_pyarrow()
    sys.exit(_main(sys.argv[1:]))


def _main(args: list[str]) -> int:
    """Run the command; a usage error (an unknown option, a bad value) is one line on stderr and
    exit 2, and with ``--log-format json`` anywhere on the line that line is a JSON object too."""
    import sys

    try:
        main.main(args, prog_name="ledgerrun", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        print("Aborted.", file=sys.stderr)
        return 1
    except click.ClickException as exc:
        if _wants_json(args):
            from ledgerrun.cli._common import json_line

            json_line("error", level="error", message=exc.format_message(), exit_code=2)
        else:
            exc.show()
        return 2 if exc.exit_code in (1, 2) else exc.exit_code
    return 0


def _wants_json(args: list[str]) -> bool:
    for index, arg in enumerate(args):
        if arg == "--log-format=json" or (
            arg == "--log-format" and args[index + 1 : index + 2] == ["json"]
        ):
            return True
    return False
