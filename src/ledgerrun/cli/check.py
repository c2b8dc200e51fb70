"""``ledgerrun check``: prove a set-up before its first night, one line per part of it.

Each check is ``ok``, or says what is wrong and what to do. Nothing is sent and nothing is
changed: the store is opened read-only, the output folders are probed with a file that is
removed at once, the run lock is looked at, not taken. Exit 0 when every check passes, 2 when the
set-up is wrong, 3 when only Stripe or the store could not be reached (try again later), 4 when
every check passes but a run of the job holds its lock now.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ledgerrun.cli._common import emit_json, format_option, job_options, reports_errors
from ledgerrun.errors import ExitCode, JournalError, LedgerrunError

if TYPE_CHECKING:
    from ledgerrun.job import Job
    from ledgerrun.store.model import Store

OK, WRONG, UNREACHABLE, HELD, SKIPPED, NOTE = (
    "ok",
    "wrong",
    "unreachable",
    "held",
    "skipped",
    "note",
)
EXIT = {WRONG: ExitCode.INVALID, UNREACHABLE: ExitCode.INCOMPLETE, HELD: ExitCode.LOCKED}


@dataclass(frozen=True)
class Line:
    check: str  # job, ledger, key, stripe, store, outputs, metrics, consent, notify, lock
    status: str  # ok, wrong, unreachable, held, skipped (not checked: another check failed), note
    message: str


@click.command()
@job_options
@format_option
@reports_errors
def check(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    journal: str | None,
    api_base: str | None,
    live: bool,
    fmt: str,
) -> None:
    """Check that TARGET is ready to run, one line per check: the job file reads; the API key
    is there and well-formed and Stripe (or the sandbox) accepts it; the store opens, is
    writable and its schema current; the output folders are writable; the consent registry
    reads; the run lock is free. Sends nothing and changes nothing.

    Exit status: 0 every check passed; 2 the set-up is wrong (each failed line says what to
    do); 3 only Stripe or the store could not be reached (try again later); 4 a run of the job
    holds its lock now.
    """
    from ledgerrun.cli._common import resolve_job
    from ledgerrun.scrub import scrub

    lines: list[Line] = []
    job: Job | None = None
    try:
        job = resolve_job(target, ledger, job_name, run_date, journal, api_base)
        lines.append(Line("job", OK, f"{_shown(target)}: job {job.name}, run date {job.run_date}"))
    except LedgerrunError as exc:
        lines.append(Line("job", WRONG, str(exc)))
    if job is not None:
        lines += checks(job, live=live)
    lines = [Line(line.check, line.status, scrub(line.message)) for line in lines]
    code = exit_code(lines)
    if fmt == "json":
        emit_json(
            {
                "ok": code == ExitCode.OK,
                "exit_code": int(code),
                "job": job.name if job is not None else None,
                "checks": [asdict(line) for line in lines],
            }
        )
    else:
        width = max(len(line.check) for line in lines) + 2
        status_width = max(len(line.status) for line in lines) + 2
        for line in lines:
            click.echo(f"{line.check:<{width}}{line.status:<{status_width}}{line.message}")
        click.echo(_verdict(lines, code))
    raise SystemExit(int(code))


def exit_code(lines: list[Line]) -> ExitCode:
    found = {line.status for line in lines}
    for status in (WRONG, UNREACHABLE, HELD):
        if status in found:
            return EXIT[status]
    return ExitCode.OK


def _verdict(lines: list[Line], code: ExitCode) -> str:
    failed = [line.check for line in lines if line.status in EXIT]
    if code == ExitCode.OK:
        return f"All {sum(1 for line in lines if line.status == OK)} checks passed."
    what = {
        ExitCode.INVALID: "fix the set-up as each line says, then check again",
        ExitCode.INCOMPLETE: "could not be reached: check again later",
        ExitCode.LOCKED: "a run of the job is going on: wait for it",
    }[code]
    return f"Not ready ({', '.join(failed)}): {what}."


def checks(job: Job, *, live: bool, env: dict[str, str] | None = None) -> list[Line]:
    """Every check after the job file's, in the order a run meets them."""
    environment = dict(os.environ) if env is None else env
    lines = [_ledger(job)]
    key = _key(job, environment, live)
    lines.append(key)
    if key.status == OK:
        lines.append(_stripe(job, environment, live))
    else:
        lines.append(Line("stripe", SKIPPED, "not asked: the key must be right first"))
    store_line, store = _store(job)
    lines.append(store_line)
    try:
        lines.append(_outputs(job))
        if job.metrics_textfile is not None:
            lines.append(_metrics(job.metrics_textfile))
        lines.append(_consent(job))
        if job.notify is not None:
            lines.append(_notify(job, environment))
        lines.append(_lock(job, store, store_line))
    finally:
        if store is not None:
            store.close()
    return lines


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _guarded(name: str, check: Callable[[], Line]) -> Line:
    try:
        return check()
    except LedgerrunError as exc:
        return Line(name, WRONG, str(exc))


def _ledger(job: Job) -> Line:
    if job.ledger is None:
        return Line(
            "ledger",
            NOTE,
            "the job names none: every run must give one (--ledger, a web upload, or a "
            "DataFrame in the Python API)",
        )
    if not job.ledger.exists():
        then = (
            "a run before it arrives exits 3 (run it again later, or wait with --wait-for-ledger)"
            if job.ledger_dated
            else "a run without it stops with exit 2"
        )
        return Line(
            "ledger",
            NOTE,
            f"not there yet: {_shown(job.ledger)}. A run for {job.run_date} needs it: {then} "
            "(give another with --ledger or --date; check the path if it should be there now)",
        )
    if not os.access(job.ledger, os.R_OK) or job.ledger.is_dir():
        return Line("ledger", WRONG, f"{_shown(job.ledger)} cannot be read (check permissions)")
    return Line("ledger", OK, _shown(job.ledger))


def _key(job: Job, env: dict[str, str], live: bool) -> Line:
    from ledgerrun.stripe import facts
    from ledgerrun.stripe.session import api_key

    try:
        key = api_key(job, env, live=live)
    except LedgerrunError as exc:
        return Line("key", WRONG, str(exc))
    kind = "live" if facts.is_live_key(key) else "test"
    return Line("key", OK, f"{job.stripe.api_key_env} holds a {kind} key ({facts.redact(key)})")


def _stripe(job: Job, env: dict[str, str], live: bool) -> Line:
    from ledgerrun.errors import StripeUnavailableError
    from ledgerrun.stripe.session import connect

    quick = job.replace(max_attempts=min(job.stripe.max_attempts, 2))  # asks once, or twice
    embedded = job.stripe.sandbox is not None and not job.stripe.api_base
    try:
        with connect(quick, env, live=live) as session:
            where = (
                f"the sandbox started from {_shown(job.stripe.sandbox)}"
                if embedded and job.stripe.sandbox is not None
                else session.where
            )
            platform = session.platform
            return Line(
                "stripe",
                OK,
                f"{where} accepts the key: platform {platform.id} ({platform.country}, "
                f"{session.mode})",
            )
    except StripeUnavailableError as exc:
        return Line("stripe", UNREACHABLE, str(exc))
    except LedgerrunError as exc:
        return Line("stripe", WRONG, str(exc))


def _store(job: Job) -> tuple[Line, Store | None]:
    from ledgerrun.job import redact_location
    from ledgerrun.send.paths import check_folder
    from ledgerrun.store import open_store

    where = redact_location(job.store_location)
    if job.journal_url is None and not job.journal.exists():
        try:
            check_folder(job.journal, "journal")
        except LedgerrunError as exc:
            return Line("store", WRONG, str(exc)), None
        return Line("store", OK, f"{_shown(job.journal)}: none yet; the first run makes it"), None
    try:
        store = open_store(job.store_location, readonly=True)
    except JournalError as exc:
        return Line("store", UNREACHABLE if _unreachable(exc) else WRONG, str(exc)), None
    if job.journal_url is None:
        try:
            check_folder(job.journal, "journal")  # the -wal and -shm files go beside it
            if not os.access(job.journal, os.W_OK):
                raise JournalError(
                    f"the journal {job.journal} cannot be written (check its permissions)"
                )
        except LedgerrunError as exc:
            store.close()
            return Line("store", WRONG, str(exc)), None
        where = _shown(job.journal)
    else:
        try:
            _check_database_writes(job.journal_url)
        except JournalError as exc:
            store.close()
            return Line("store", UNREACHABLE if _unreachable(exc) else WRONG, str(exc)), None
    return Line("store", OK, f"{where}: opens, schema current, writable"), store


def _check_database_writes(url: str) -> None:
    """The database role may write the store's tables (or, before the first run, make them)."""
    from ledgerrun.store.pgconn import connect, first_line, shown

    conn = connect(url, "ledgerrun check", True, 5.0)
    try:
        row = conn.execute(
            "SELECT CASE WHEN to_regclass('adjustments') IS NULL"
            " THEN has_schema_privilege(current_schema(), 'CREATE')"
            " ELSE has_table_privilege('adjustments', 'INSERT, UPDATE')"
            " AND has_table_privilege('runs', 'INSERT, UPDATE') END"
        ).fetchone()
    except Exception as exc:  # psycopg's errors, said in one line
        raise JournalError(f"cannot ask the store {shown(url)} what it may write: "
                           f"{first_line(exc)}") from None  # fmt: skip
    finally:
        conn.close()
    if not (row and row[0]):
        raise JournalError(
            f"the store {shown(url)} opens, but its database role may not write ledgerrun's "
            "tables (or make them, before the first run): grant it INSERT and UPDATE on them "
            "(CREATE on the schema before the first run)"
        )


def _unreachable(exc: JournalError) -> bool:
    """A database that did not answer (not one that refused us, nor a damaged file)."""
    text = str(exc).lower()
    refused = ("authentication", "password", "does not exist", "permission denied")
    return text.startswith("cannot connect") and not any(word in text for word in refused)


def _outputs(job: Job) -> Line:
    from ledgerrun.send.paths import check_outputs, outputs_for

    def probe() -> Line:
        journal = None if job.journal_url else job.journal
        check_outputs(outputs_for(job.results).all(), ledger=job.ledger, journal=journal)
        return Line("outputs", OK, f"{_shown(job.results.parent)} is writable")

    return _guarded("outputs", probe)


def _metrics(path: Path) -> Line:
    from ledgerrun.send.paths import check_writable

    def probe() -> Line:
        check_writable(path)
        return Line("metrics", OK, f"{_shown(path)} can be written")

    return _guarded("metrics", probe)


def _consent(job: Job) -> Line:
    from ledgerrun.send.consent import load_registry

    registry = job.consent_registry
    if registry is None:
        return Line("consent", NOTE, "no registry named: debits are not checked for consent")

    def probe() -> Line:
        try:
            found = load_registry(registry)
        except LedgerrunError as exc:
            raise type(exc)(f"{exc} (the job's [consent] registry)") from None
        count = sum(len(c) for c in found.values())
        return Line("consent", OK, f"{_shown(registry)}: {count} consents of {len(found)} accounts")

    return _guarded("consent", probe)


def _notify(job: Job, env: dict[str, str]) -> Line:
    assert job.notify is not None
    missing = [name for name in job.notify.secret_names() if not env.get(name, "").strip()]
    if missing:
        return Line(
            "notify",
            WRONG,
            f"set {', '.join(missing)}: [notify] reads its secrets from them (nothing was sent)",
        )
    channels = [
        name
        for name, on in (
            ("webhook", job.notify.webhook),
            ("slack", job.notify.slack_webhook_env),
            ("email", job.notify.smtp),
        )
        if on
    ]
    return Line("notify", OK, f"{', '.join(channels)}: every secret is set (nothing was sent)")


def _lock(job: Job, store: Store | None, store_line: Line) -> Line:
    if store is None:
        if store_line.status == OK:
            return Line("lock", OK, "free (no run has taken it yet)")
        return Line("lock", SKIPPED, "not looked at: the store must open first")
    try:
        holder = store.lock_holder(job.name)
    except JournalError as exc:
        return Line("lock", UNREACHABLE if _unreachable(exc) else WRONG, str(exc))
    if holder is None:
        return Line("lock", OK, "free")
    return Line(
        "lock",
        HELD,
        f"a run of job {job.name} holds it now (pid {holder.get('pid', '?')} on host "
        f"{holder.get('host', '?')} since {holder.get('since', '?')}): wait for it to finish; "
        "`ledgerrun status` shows it",
    )
