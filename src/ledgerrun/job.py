"""Job files: what to run, where its files live, and the limits that guard it.

A job is a TOML file (usually in ``jobs/``). Paths in it are relative to the job file and may use
``{date}`` (the run date, YYYY-MM-DD) and ``{job}`` (the job's name). A ledger file may be given
instead of a job; then every setting takes its default and the job is named after the file.

Every mistake in a job file is a :class:`~ledgerrun.errors.ConfigError` that names the key, so a
person can fix it without reading this module.

A job and its parts are named tuples, made faster than dataclasses at start-up
(docs/architecture.md says when a record is one). A copy with settings changed is
:meth:`Job.replace` (or ``_replace``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from ledgerrun.errors import ConfigError

if TYPE_CHECKING:  # approval rules are read and weighed only where a job has them
    from ledgerrun.approval_policy import Policy, Rule
    from ledgerrun.notify.settings import NotifySettings

LEDGER_SUFFIXES = (".csv", ".parquet", ".xlsx")
RESULTS_SUFFIXES = (".csv", ".xlsx", ".parquet")
METHODS = ("transfer", "charge")
DIRECTIONS = ("debit", "credit")
ON_INVALID = ("abort", "skip")
APPROVALS = ("none", "required")
LIMITS = ("test", "live", "off")
# Patterns only some jobs need are kept as text: re compiles (and caches) one when first used.
VERSION_PATTERN = r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?"  # a Stripe-Version, when a job pins one
CANONICAL_COLUMNS = (
    "adjustment_id",
    "account",
    "amount",
    "amount_minor",
    "currency",
    "direction",
    "method",
    "description",
    "debit",
    "credit",
)
AMOUNT_PAIR = ("debit", "credit")  # an accounting journal's two amount columns
NEGATIVES = ("refuse", "credit")
DECIMAL_MARKS = (".", ",")
# The CSV delimiters a job may name, by character or by name.
DELIMITERS = {
    ",": ",",
    ";": ";",
    "\t": "\t",
    "|": "|",
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "pipe": "|",
}
# A date format: day, month and year, each once, between one separator: "MM/DD/YYYY".
DATE_FORMAT_PATTERN = (
    r"(?P<a>YYYY|YY|MMM|MM|M|DD|D)(?P<sep>[/.\- ])(?P<b>YYYY|YY|MMM|MM|M|DD|D)"
    r"(?P=sep)(?P<c>YYYY|YY|MMM|MM|M|DD|D)"
)
NAME_RE = re.compile(r"[a-z0-9_-]{1,40}")
URL_PREFIXES = ("postgresql://", "postgres://")
PREFIX_RE = re.compile(r"[a-z0-9_-]{0,40}")
GROUP_RE = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEFAULT_RESULTS = "{job}-{date}.results.csv"


class StripeSettings(NamedTuple):
    """How to reach Stripe (or the sandbox standing in for it)."""

    api_key_env: str = "STRIPE_API_KEY"
    api_base: str | None = None
    sandbox: Path | None = None
    rate_limit: float | None = None  # requests a second overall; None: "auto", Stripe's limits
    limits: str | None = None  # "test", "live" or "off" (a sandbox only); None: the key's mode
    rate_share: float = 0.8  # the share of Stripe's limits a run takes ("auto")
    api_version: str | None = None  # Stripe-Version; None: the one the installed SDK pins
    concurrency: int = 8
    timeout_s: float = 30.0
    max_attempts: int = 6  # tries of one request before its outcome is left unknown
    transfer_group: str = "ledgerrun"  # one group for every job of the platform
    breaker_after: int = 12  # requests in a row with no usable answer before the run stops


class Limits(NamedTuple):
    """Per-row and per-ledger ceilings, in integer minor units, keyed by lower-case currency."""

    max_amount: Mapping[str, int] = MappingProxyType({})
    max_total: Mapping[str, int] = MappingProxyType({})


class Reading(NamedTuple):
    """How the job reads its ledger beyond the column names (the ``[ledger]`` table, and a
    composite id from ``[columns]``): the exports of finance systems, read as exported.

    ``currency`` is every row's currency when the file has none (and fills blank currency
    cells); ``negative`` says whether a negative amount is refused or is a credit of its absolute
    value; ``delimiter`` is the CSV's (None: found from the header row among ``,`` ``;`` and tab);
    ``decimal`` is the decimal mark of amounts written as text (never guessed); ``date_format``
    reads the dates of composite id parts (``MM/DD/YYYY``); ``id_parts`` are the headers whose
    values, joined, make the adjustment id."""

    currency: str | None = None
    negative: str = "refuse"
    delimiter: str | None = None
    decimal: str = "."
    date_format: str | None = None
    id_parts: tuple[str, ...] = ()


class Job(NamedTuple):
    """A fully resolved job: every path absolute, every template filled in."""

    name: str
    ledger: Path | None  # None: the job file names none, and every use must give one
    results: Path
    journal: Path
    run_date: dt.date
    timezone: str  # IANA: the zone the run date is a day of (the host's, unless the job says)
    method: str = "transfer"
    direction: str = "debit"
    id_prefix: str = ""
    guard_days: int = 90
    on_invalid: str = "abort"
    preflight: bool = True
    approval: str = "none"
    sheet: str | None = None
    consent_registry: Path | None = None
    columns: Mapping[str, str] = MappingProxyType({})
    reading: Reading = Reading()
    limits: Limits = Limits()
    stripe: StripeSettings = StripeSettings()
    source: Path | None = None
    journal_url: str | None = None  # a postgresql:// store instead of the journal file
    allow_prefix_change: bool = False  # this run only (--allow-prefix-change): never from a file
    notify: NotifySettings | None = None  # [notify]: who is told when a run ends
    metrics_textfile: Path | None = None  # [metrics] textfile: gauges of the last run
    ledger_dated: bool = False  # the job file's ledger path has {date}: one not there yet may come
    approval_rules: tuple[Rule, ...] = ()  # [approval] rules: approvers by amount moved

    def ledger_file(self) -> Path:
        """The ledger this use of the job reads; ConfigError when the job file names none and
        none was given (``--ledger``, a web upload, a DataFrame in the Python API)."""
        if self.ledger is None:
            raise ConfigError(
                f"job {self.name} names no ledger ([job] ledger in its file) and none was given: "
                "give one with --ledger FILE (the web application takes an upload, the Python "
                "API a ledger= file or DataFrame)"
            )
        return self.ledger

    @property
    def policy(self) -> Policy:
        """The job's approval policy: ``approval`` (required or not) and its rules."""
        from ledgerrun.approval_policy import Policy

        return Policy(required=self.approval == "required", rules=self.approval_rules)

    @property
    def store_location(self) -> str:
        """Where the job's store is: its PostgreSQL URL, or its journal file."""
        return self.journal_url or str(self.journal)

    def has_store(self) -> bool:
        """Whether the store may hold anything yet (a database is asked when opened)."""
        return self.journal_url is not None or self.journal.exists()

    def with_journal(self, location: str) -> Job:
        """A copy using the store at ``location`` (a path or a postgresql:// URL)."""
        if location.startswith(URL_PREFIXES):
            return self._replace(journal_url=location)
        return self._replace(journal=Path(location).expanduser().resolve(), journal_url=None)

    def replace(self, **changes: Any) -> Job:
        """A copy with some settings changed (command-line options override the job)."""
        if "ledger" in changes:
            changes.setdefault("ledger_dated", False)  # a file given now: arrived, or wrong
        stripe_changes = {k: changes.pop(k) for k in list(changes) if k in _STRIPE_FIELDS}
        job = self._replace(**changes)
        if stripe_changes:
            job = job._replace(stripe=job.stripe._replace(**stripe_changes))
        return job


_STRIPE_FIELDS = set(StripeSettings._fields)


def check_choices(job: Job) -> Job:
    if job.method not in METHODS:
        raise ConfigError(f"'job.method' must be 'transfer' or 'charge', not '{job.method}'")
    if job.direction not in DIRECTIONS:
        raise ConfigError(f"'job.direction' must be 'debit' or 'credit', not '{job.direction}'")
    if not PREFIX_RE.fullmatch(job.id_prefix):
        raise ConfigError(
            "'job.id_prefix' must be up to 40 characters of a-z, 0-9, '_' or '-': "
            f"{job.id_prefix!r}"
        )
    if not 1 <= job.guard_days <= 3650:
        raise ConfigError("'job.guard_days' must be between 1 and 3650 days")
    if job.approval not in APPROVALS:
        raise ConfigError(f"'job.approval' must be 'none' or 'required', not '{job.approval}'")
    if job.on_invalid not in ON_INVALID:
        raise ConfigError(f"'job.on_invalid' must be 'abort' or 'skip', not '{job.on_invalid}'")
    if job.results.suffix.lower() not in RESULTS_SUFFIXES:
        raise ConfigError(f"'job.results' must end in .csv, .xlsx or .parquet: {job.results.name}")
    s = job.stripe
    if not ENV_RE.fullmatch(s.api_key_env):
        raise ConfigError(
            f"'stripe.api_key_env' must name an environment variable: {s.api_key_env!r}"
        )
    if s.api_base is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", s.api_base):
        raise ConfigError(f"'stripe.api_base' must be an http(s) URL: {s.api_base!r}")
    if s.rate_limit is not None and not 0 < s.rate_limit <= 10_000:
        raise ConfigError(
            "'stripe.rate_limit' must be \"auto\", or above 0 and at most 10000 requests/s"
        )
    if s.limits not in (None, *LIMITS):
        raise ConfigError(f'\'stripe.limits\' must be "test", "live" or "off", not {s.limits!r}')
    if not 0 < s.rate_share <= 1:
        raise ConfigError("'stripe.rate_share' must be above 0 and at most 1 (0.8: 80%)")
    if s.api_version is not None and not re.fullmatch(VERSION_PATTERN, s.api_version):
        raise ConfigError(
            f"'stripe.api_version' must be a Stripe API version such as \"2026-10-28.endive\", "
            f"not {s.api_version!r}"
        )
    if not 1 <= s.concurrency <= 64:
        raise ConfigError("'stripe.concurrency' must be between 1 and 64")
    if not 0 < s.timeout_s <= 600:
        raise ConfigError("'stripe.timeout_s' must be above 0 and at most 600 seconds")
    if not GROUP_RE.fullmatch(s.transfer_group):
        raise ConfigError(
            "'stripe.transfer_group' must be 1-100 characters of letters, digits, '_', '-', '.' "
            f"or ':': {s.transfer_group!r}"
        )
    if not 1 <= s.breaker_after <= 100_000:
        raise ConfigError("'stripe.breaker_after' must be between 1 and 100000 requests")
    if not 1 <= s.max_attempts <= 20:
        raise ConfigError("'stripe.max_attempts' must be between 1 and 20")
    return job


def redact_location(location: str) -> str:
    """A store location as it may be shown: a database URL never shows a password."""
    if not location.startswith(URL_PREFIXES):
        return location
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(location)
    if parts.password is None:
        return location
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:…@{host}"))


def default_journal(env: Mapping[str, str] | None = None) -> Path:
    """The journal a job uses when it names none: one per user, whatever the ledger is called
    (so a renamed or copied ledger never meets a fresh, empty journal). ``$LEDGERRUN_JOURNAL``,
    else ``$XDG_STATE_HOME/ledgerrun/journal.sqlite``, else
    ``~/.local/state/ledgerrun/journal.sqlite``."""
    env = os.environ if env is None else env
    if env.get("LEDGERRUN_JOURNAL"):
        return Path(env["LEDGERRUN_JOURNAL"]).expanduser().resolve()
    state = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or "~") / ".local" / "state")
    return (Path(state).expanduser() / "ledgerrun" / "journal.sqlite").resolve()
