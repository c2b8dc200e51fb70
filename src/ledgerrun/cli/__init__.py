"""The ``ledgerrun`` command line: a thin layer of click commands over the library.

Each command lives in its own module, imported only when the command is looked up
(:class:`LazyCommands`), and imports the heavy parts of the library (pyarrow, stripe) inside its
function: ``ledgerrun validate`` loads no other command's imports, and ``ledgerrun --help`` loads
no library at all.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

import click

from ledgerrun import __version__
from ledgerrun.cli._common import Output

# Every command, each in its own module of the same name (``ledgerrun.cli.validate`` holds
# ``validate``), imported when the command is first looked up: to run it, or for ``--help``.
COMMANDS = (
    "validate",
    "plan",
    "run",
    "reverse",
    "reconcile",
    "results",
    "status",
    "check",
    "journal",
    "sandbox",
    "serve",  # the web application
    "users",
    "worker",
)


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands by name, as click keeps them (``Group.commands``), each module
    imported the first time its command is asked for: ``ledgerrun validate`` loads neither
    ``run``'s imports nor the web application's. The names are known without importing
    anything, so listing them, or telling an unknown command apart, costs nothing."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._unloaded = set(names)
        self._loaded: dict[str, click.Command] = {}
        self._order = list(names)

    def __getitem__(self, name: str) -> click.Command:
        if name in self._unloaded:
            command = getattr(importlib.import_module(f"ledgerrun.cli.{name}"), name)
            if not isinstance(command, click.Command):
                raise TypeError(f"ledgerrun.cli.{name}.{name} is not a click command")
            self._loaded[name] = command
            self._unloaded.discard(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        if name not in self:
            self._order.append(name)
        self._unloaded.discard(name)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._order.remove(name)
        self._unloaded.discard(name)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._unloaded or name in self._loaded


@click.group(
    commands=LazyCommands(COMMANDS),
    context_settings={"help_option_names": ["-h", "--help"]},
)
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


def entry() -> None:
    """The ``ledgerrun`` executable (and ``python -m ledgerrun``): run the command, exit with its
    code. The Stripe SDK's probes of HTTP libraries and pyarrow's import of numpy are answered
    first (:mod:`ledgerrun.startup`), and a command that ends (with any exit code) skips the
    interpreter's teardown once everything it wrote is out (:func:`ledgerrun.startup.leave`);
    an exception that escapes, a bug, ends the ordinary way with its traceback."""
    import sys

    from ledgerrun.startup import leave, skip_numpy_for_pyarrow, skip_sdk_probe

    skip_sdk_probe()
    skip_numpy_for_pyarrow()
    leave(_main(sys.argv[1:]))


def _main(args: list[str]) -> int:
    """Run the command and return its exit code; a usage error (an unknown option, a bad value)
    is one line on stderr and exit 2, and with ``--log-format json`` anywhere on the line that
    line is a JSON object too."""
    import sys

    try:
        main.main(args, prog_name="ledgerrun", standalone_mode=False)
    except SystemExit as exc:  # a command's own exit code
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        raise
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
