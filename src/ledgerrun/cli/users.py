"""``ledgerrun users``: who may sign in to the web application, with which role."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ledgerrun.cli._common import config_option, global_options, reports_errors

if TYPE_CHECKING:
    from ledgerrun.store.model import Store

CONFIG = config_option("The server's configuration: the users live in its store.")
PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from one line of standard input."
)


@click.group()
@global_options
def users() -> None:
    """Add, list and disable the web application's users (roles: preparer uploads ledgers,
    approver approves or rejects them, admin may do both; nobody approves their own upload)."""


@contextlib.contextmanager
def _store(config_path: Path) -> Iterator[Store]:
    """The store the configuration names, open for the block."""
    from ledgerrun.store import open_store
    from ledgerrun.web.config import load_config

    store = open_store(load_config(config_path).store)
    try:
        yield store
    finally:
        store.close()


def _read_password(stdin: bool) -> str:
    from ledgerrun.errors import ConfigError
    from ledgerrun.web.security import password_problem

    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)  # the administration page's rule too
    if problem:
        raise ConfigError(problem)
    return password


@users.command("add")
@click.argument("name")
@click.option(
    "--role", type=click.Choice(["preparer", "approver", "admin"]), required=True, help="Role."
)
@CONFIG
@PASSWORD_STDIN
@click.option(
    "--no-password",
    is_flag=True,
    help='A user who signs in only through the single-sign-on proxy (auth = "proxy").',
)
@global_options
@reports_errors
def add(name: str, role: str, config_path: Path, password_stdin: bool, no_password: bool) -> None:
    """Add the user NAME with a role; the password is asked for twice (or read with
    --password-stdin) and kept only as an Argon2 hash."""
    import datetime as dt

    from ledgerrun.errors import ConfigError
    from ledgerrun.store.web_model import User
    from ledgerrun.web.security import hash_password, name_problem

    if name_problem(name):
        raise ConfigError(name_problem(name))
    password_hash = "" if no_password else hash_password(_read_password(password_stdin))
    with _store(config_path) as store:
        store.add_user(User(name, role, password_hash, False, dt.datetime.now(dt.UTC)))
    click.echo(f"Added {name} ({role}).")


@users.command("list")
@CONFIG
@global_options
@reports_errors
def list_users(config_path: Path) -> None:
    """List the users: name, role, whether disabled, when added."""
    with _store(config_path) as store:
        found = store.users()
    if not found:
        click.echo("No users yet: add one with `ledgerrun users add NAME --role ROLE`.")
    for user in found:
        state = "disabled" if user.disabled else "enabled"
        sso = "" if user.password_hash else ", single sign-on only"
        click.echo(f"{user.name}\t{user.role}\t{state}{sso}\tadded {user.created_at:%Y-%m-%d}")


@users.command("disable")
@click.argument("name")
@CONFIG
@global_options
@reports_errors
def disable(name: str, config_path: Path) -> None:
    """Disable NAME: no more sign-ins, and every open session of NAME ends at once."""
    with _store(config_path) as store:
        store.update_user(name, disabled=True)  # ends the user's sessions in the same step
    click.echo(f"Disabled {name}: signed out everywhere.")


@users.command("enable")
@click.argument("name")
@CONFIG
@global_options
@reports_errors
def enable(name: str, config_path: Path) -> None:
    """Enable NAME again."""
    with _store(config_path) as store:
        store.update_user(name, disabled=False)
    click.echo(f"Enabled {name}.")


@users.command("password")
@click.argument("name")
@CONFIG
@PASSWORD_STDIN
@global_options
@reports_errors
def password(name: str, config_path: Path, password_stdin: bool) -> None:
    """Set a new password for NAME; every open session of NAME ends at once."""
    from ledgerrun.web.security import hash_password

    new_hash = hash_password(_read_password(password_stdin))
    with _store(config_path) as store:
        store.update_user(name, password_hash=new_hash)
    click.echo(f"Changed the password of {name}: signed out everywhere.")
