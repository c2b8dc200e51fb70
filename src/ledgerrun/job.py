"""Job files: what to run, where its files live, and the limits that guard it.

A job is a TOML file (usually in ``jobs/``). Paths in it are relative to the job file and may use
``{date}`` (the run date, YYYY-MM-DD) and ``{job}`` (the job's name). A ledger file may be given
instead of a job; then every setting takes its default and the job is named after the file.

Every mistake in a job file is a :class:`~ledgerrun.errors.ConfigError` that names the key, so a
person can fix it without reading this module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledgerrun import money
from ledgerrun.errors import ConfigError

LEDGER_SUFFIXES = (".csv", ".parquet", ".xlsx")
RESULTS_SUFFIXES = (".csv", ".xlsx", ".parquet")
METHODS = ("transfer", "charge")
DIRECTIONS = ("debit", "credit")
ON_INVALID = ("abort", "skip")
APPROVALS = ("none", "required")
CANONICAL_COLUMNS = (
    "adjustment_id",
    "account",
    "amount",
    "amount_minor",
    "currency",
    "direction",
    "method",
    "description",
)
NAME_RE = re.compile(r"[a-z0-9_-]{1,40}")
URL_PREFIXES = ("postgresql://", "postgres://")
PREFIX_RE = re.compile(r"[a-z0-9_-]{0,40}")
GROUP_RE = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEFAULT_RESULTS = "{job}-{date}.results.csv"


@dataclass(frozen=True)
class StripeSettings:
    """How to reach Stripe (or the sandbox standing in for it)."""

    api_key_env: str = "STRIPE_API_KEY"
    api_base: str | None = None
    sandbox: Path | None = None
    rate_limit: float = 25.0
    concurrency: int = 8
    timeout_s: float = 30.0
    max_attempts: int = 6  # tries of one request before its outcome is left unknown
    transfer_group: str = "ledgerrun"  # one group for every job of the platform
    breaker_after: int = 12  # requests in a row with no usable answer before the run stops


@dataclass(frozen=True)
class Limits:
    """Per-row and per-ledger ceilings, in integer minor units, keyed by lower-case currency."""

    max_amount: Mapping[str, int] = field(default_factory=dict)
    max_total: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """A fully resolved job: every path absolute, every template filled in."""

    name: str
    ledger: Path
    results: Path
    journal: Path
    run_date: dt.date
    method: str = "transfer"
    direction: str = "debit"
    id_prefix: str = ""
    guard_days: int = 90
    on_invalid: str = "abort"
    preflight: bool = True
    approval: str = "none"
    sheet: str | None = None
    consent_registry: Path | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    stripe: StripeSettings = field(default_factory=StripeSettings)
    source: Path | None = None
    journal_url: str | None = None  # a postgresql:// store instead of the journal file

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
            return dataclasses.replace(self, journal_url=location)
        return dataclasses.replace(
            self, journal=Path(location).expanduser().resolve(), journal_url=None
        )

    def replace(self, **changes: Any) -> Job:
        """A copy with some settings changed (command-line options override the job)."""
        stripe_changes = {k: changes.pop(k) for k in list(changes) if k in _STRIPE_FIELDS}
        job = dataclasses.replace(self, **changes)
        if stripe_changes:
            job = dataclasses.replace(job, stripe=dataclasses.replace(job.stripe, **stripe_changes))
        return job


_STRIPE_FIELDS = {f.name for f in dataclasses.fields(StripeSettings)}


# --- the schema: one entry per key, with its type check ----------------------------------------


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("text in quotes")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("a whole number")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("a number")
    return float(value)


_Check = Callable[[Any], Any]
SCHEMA: dict[str, dict[str, _Check]] = {
    "job": {
        "name": _text,
        "id_prefix": _text,
        "guard_days": _whole,
        "ledger": _text,
        "direction": _text,
        "method": _text,
        "results": _text,
        "journal": _text,
        "on_invalid": _text,
        "preflight": _boolean,
        "approval": _text,
        "sheet": _text,
    },
    "consent": {
        "registry": _text,
    },
    "stripe": {
        "api_key_env": _text,
        "api_base": _text,
        "sandbox": _text,
        "rate_limit": _number,
        "concurrency": _whole,
        "timeout_s": _number,
        "max_attempts": _whole,
        "transfer_group": _text,
        "breaker_after": _whole,
    },
}
LIMIT_KEYS = ("max_amount", "max_total")


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


def _unknown(key: str, known: list[str]) -> ConfigError:
    near = [k for k in known if k.replace("_", "") == key.replace("_", "").lower()]
    hint = f" (did you mean '{near[0]}'?)" if near else f"; known keys: {', '.join(known)}"
    return ConfigError(f"unknown key '{key}'{hint}")


def _checked_table(doc: Mapping[str, Any], table: str) -> dict[str, Any]:
    raw = doc.get(table, {})
    if not isinstance(raw, dict):
        raise ConfigError(f"'{table}' must be a table ([{table}])")
    schema = SCHEMA[table]
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in schema:
            err = _unknown(f"{table}.{key}", [f"{table}.{k}" for k in schema])
            raise err
        try:
            out[key] = schema[key](value)
        except TypeError as exc:
            raise ConfigError(f"'{table}.{key}' must be {exc}, not {value!r}") from None
    return out


def _columns(doc: Mapping[str, Any]) -> dict[str, str]:
    raw = doc.get("columns", {})
    if not isinstance(raw, dict):
        raise ConfigError("'columns' must be a table ([columns])")
    out: dict[str, str] = {}
    for canonical, header in raw.items():
        if canonical not in CANONICAL_COLUMNS and not canonical.startswith("metadata."):
            known = [f"columns.{c}" for c in CANONICAL_COLUMNS] + ['columns."metadata.KEY"']
            raise _unknown(f"columns.{canonical}", known)
        if not isinstance(header, str) or not header.strip():
            raise ConfigError(f"'columns.{canonical}' must be the header text in quotes")
        out[canonical] = header.strip()
    headers = list(out.values())
    for header in headers:
        if headers.count(header) > 1:
            raise ConfigError(f"[columns] maps the header '{header}' to more than one column")
    return out


def _limits(doc: Mapping[str, Any]) -> Limits:
    raw = doc.get("limits", {})
    if not isinstance(raw, dict):
        raise ConfigError("'limits' must be a table ([limits])")
    parsed: dict[str, dict[str, int]] = {}
    for key, table in raw.items():
        if key not in LIMIT_KEYS:
            raise _unknown(f"limits.{key}", [f"limits.{k}" for k in LIMIT_KEYS])
        if not isinstance(table, dict):
            raise ConfigError(
                f"'limits.{key}' must map currencies to amounts, e.g. {{usd = \"5000.00\"}}"
            )
        parsed[key] = {}
        for currency, amount in table.items():
            where = f"limits.{key}.{currency}"
            code = currency.lower()
            if not money.is_currency(code):
                raise ConfigError(f"'{where}': '{currency}' is not an ISO 4217 currency code")
            if isinstance(amount, float):
                raise ConfigError(
                    f"'{where}' must be written in quotes (\"{amount}\") so it is exact"
                )
            if isinstance(amount, bool) or not isinstance(amount, str | int):
                raise ConfigError(f"'{where}' must be an amount in quotes, e.g. \"5000.00\"")
            try:
                parsed[key][code] = money.parse_major(str(amount).strip(), money.exponent(code))
            except money.AmountError as exc:
                raise ConfigError(f"'{where}': {exc.message}") from None
    return Limits(max_amount=parsed.get("max_amount", {}), max_total=parsed.get("max_total", {}))


def _fill(template: str, key: str, name: str, run_date: dt.date) -> str:
    try:
        for _, field_name, spec, conversion in string.Formatter().parse(template):
            if field_name is not None and (field_name not in ("date", "job") or spec or conversion):
                raise ConfigError(
                    f"'{key}' uses {{{field_name}}}; only {{date}} and {{job}} exist (write "
                    "{{ and }} for a literal brace)"
                )
        return template.format(date=run_date.isoformat(), job=name)
    except (ValueError, IndexError, KeyError) as exc:
        raise ConfigError(
            f"'{key}' is not a valid path template ({exc}): braces are for {{date}} and {{job}};"
            " write {{ and }} for a literal brace"
        ) from None


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
    if not 0 < s.rate_limit <= 10_000:
        raise ConfigError("'stripe.rate_limit' must be above 0 and at most 10000 requests/s")
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


def load_job_file(path: Path, run_date: dt.date) -> Job:
    """Read and check a TOML job file; raise ConfigError naming the offending key."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"job file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read job file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from None
    for table in doc:
        if table not in ("job", "columns", "limits", "consent", "stripe"):
            raise _unknown(table, ["job", "columns", "limits", "consent", "stripe"])
    job_t = _checked_table(doc, "job")
    stripe_t = _checked_table(doc, "stripe")
    consent_t = _checked_table(doc, "consent")
    name = job_t.get("name")
    if name is None:
        raise ConfigError("'job.name' is required: a short name such as \"nightly-adjustments\"")
    if not NAME_RE.fullmatch(name):
        raise ConfigError(f"'job.name' must be 1-40 characters of a-z, 0-9, '_' or '-': {name!r}")
    if "ledger" not in job_t:
        raise ConfigError("'job.ledger' is required: the path of the ledger file")
    base = path.parent.resolve()

    def resolve(key: str, template: str) -> Path:
        return Path(os.path.normpath(base / _fill(template, key, name, run_date)))

    sandbox = stripe_t.pop("sandbox", None)
    job = Job(
        name=name,
        ledger=resolve("job.ledger", job_t["ledger"]),
        results=resolve("job.results", job_t.get("results", DEFAULT_RESULTS)),
        journal=(
            resolve("job.journal", job_t["journal"])
            if "journal" in job_t and not job_t["journal"].startswith(URL_PREFIXES)
            else default_journal()
        ),
        journal_url=(
            job_t["journal"]
            if "journal" in job_t and job_t["journal"].startswith(URL_PREFIXES)
            else None
        ),
        run_date=run_date,
        method=job_t.get("method", "transfer"),
        direction=job_t.get("direction", "debit"),
        id_prefix=job_t.get("id_prefix", ""),
        guard_days=job_t.get("guard_days", 90),
        on_invalid=job_t.get("on_invalid", "abort"),
        preflight=job_t.get("preflight", True),
        approval=job_t.get("approval", "none"),
        sheet=job_t.get("sheet"),
        consent_registry=(
            resolve("consent.registry", consent_t["registry"]) if "registry" in consent_t else None
        ),
        columns=_columns(doc),
        limits=_limits(doc),
        stripe=StripeSettings(
            **stripe_t, sandbox=resolve("stripe.sandbox", sandbox) if sandbox else None
        ),
        source=path.resolve(),
    )
    return check_choices(job)


def name_from_stem(stem: str) -> str:
    """A valid job name made from a file name: 'Adjustments 2026-11' -> 'adjustments-2026-11'."""
    name = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-")[:40].strip("-")
    return name or "ledger"


def job_for_ledger(path: Path, run_date: dt.date, name: str | None = None) -> Job:
    """The job a bare ledger file runs as: defaults throughout, files beside the ledger."""
    job_name = name if name is not None else name_from_stem(path.stem)
    if not NAME_RE.fullmatch(job_name):
        raise ConfigError(f"job name must be 1-40 characters of a-z, 0-9, '_' or '-': {job_name!r}")
    base = path.parent.resolve()
    job = Job(
        name=job_name,
        ledger=path.resolve(),
        results=base / _fill(DEFAULT_RESULTS, "results", job_name, run_date),
        journal=default_journal(),
        run_date=run_date,
    )
    return check_choices(job)


def load_target(
    target: Path, run_date: dt.date | None = None, *, job_name: str | None = None
) -> Job:
    """The job for TARGET: a job file (.toml), or else a ledger file run with defaults."""
    day = run_date or dt.date.today()
    suffix = target.suffix.lower()
    if suffix == ".toml":
        job = load_job_file(target, day)
        if job_name is not None and job_name != job.name:
            raise ConfigError(
                f"--job {job_name} contradicts job.name = {job.name!r} in {target.name}"
            )
        return job
    # Anything else is taken for a ledger: the reader names an unsupported format precisely.
    return job_for_ledger(target, day, job_name)
