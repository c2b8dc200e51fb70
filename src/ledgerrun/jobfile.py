"""Reading job files: TOML, checked key by key, so that every mistake names its key.

Paths in a job file are relative to it and may use ``{date}`` (the run date) and ``{job}``; a
ledger file may be given instead of a job, and then every setting takes its default. Options given
with a command (the command line's, or the Python API's keywords) override the job's settings:
the one way from TARGET and those options to the job a command runs is
:func:`ledgerrun.target.resolve_target`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledgerrun import money
from ledgerrun.clock import Clock, SystemClock, host_zone, today, valid_zone
from ledgerrun.errors import ConfigError
from ledgerrun.job import (
    DEFAULT_RESULTS,
    NAME_RE,
    URL_PREFIXES,
    Job,
    Limits,
    StripeSettings,
    check_choices,
    default_journal,
)
from ledgerrun.jobreading import columns_of, reading_of
from ledgerrun.jobreading import unknown_key as _unknown

if TYPE_CHECKING:
    from ledgerrun.notify.settings import NotifySettings

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


def _rate(value: Any) -> float | None:
    if value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError('"auto" or a number of requests a second')
    return float(value)


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
        "timezone": _text,
    },
    "consent": {
        "registry": _text,
    },
    "ledger": {
        "currency": _text,
        "negative": _text,
        "delimiter": _text,
        "decimal": _text,
        "date_format": _text,
    },
    "metrics": {
        "textfile": _text,
    },
    "stripe": {
        "api_key_env": _text,
        "api_base": _text,
        "sandbox": _text,
        "rate_limit": _rate,
        "limits": _text,
        "rate_share": _number,
        "api_version": _text,
        "concurrency": _whole,
        "timeout_s": _number,
        "max_attempts": _whole,
        "transfer_group": _text,
        "breaker_after": _whole,
    },
}
LIMIT_KEYS = ("max_amount", "max_total")


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


def _uses_date(template: str) -> bool:
    """Whether a path template names the run date: its file is one a day, and may not be there
    yet when a run starts."""
    return any(field == "date" for _, field, _, _ in string.Formatter().parse(template))


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The TOML document at ``path`` (``what`` names it in errors: "job file"); ConfigError when
    it is missing, unreadable or not TOML. A byte-order mark from Windows editors is fine.
    (TOML's parser is imported here: a command given a bare ledger reads no TOML.)"""
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from None


def load_job_file(
    path: Path, run_date: dt.date | None = None, *, clock: Clock | None = None
) -> Job:
    """Read and check a TOML job file; raise ConfigError naming the offending key. Without a
    ``run_date``, the run date is today on ``clock`` in the job's time zone."""
    doc = read_toml(path, "job file")
    tables = ["job", "columns", "ledger", "limits", "consent", "stripe", "notify", "metrics",
              "approval"]  # fmt: skip
    for table in doc:
        if table not in tables:
            raise _unknown(table, tables)
    job_t = _checked_table(doc, "job")
    textfile = _checked_table(doc, "metrics").get("textfile")
    stripe_t = _checked_table(doc, "stripe")
    consent_t = _checked_table(doc, "consent")
    from ledgerrun.approval_policy import read_policy  # not for a ledger given alone

    policy = read_policy(doc, job_t.get("approval"))
    name = job_t.get("name")
    if name is None:
        raise ConfigError("'job.name' is required: a short name such as \"nightly-adjustments\"")
    if not NAME_RE.fullmatch(name):
        raise ConfigError(f"'job.name' must be 1-40 characters of a-z, 0-9, '_' or '-': {name!r}")
    zone = _zone(job_t.get("timezone"))
    run_date = run_date or today(clock or SystemClock(), zone)
    base = path.parent.resolve()

    def resolve(key: str, template: str) -> Path:
        return Path(os.path.normpath(base / _fill(template, key, name, run_date)))

    sandbox = stripe_t.pop("sandbox", None)
    columns, parts = columns_of(doc)
    job = Job(
        name=name,
        ledger=resolve("job.ledger", job_t["ledger"]) if "ledger" in job_t else None,
        ledger_dated="ledger" in job_t and _uses_date(job_t["ledger"]),
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
        approval="required" if policy.required else "none",
        approval_rules=policy.rules,
        sheet=job_t.get("sheet"),
        consent_registry=(
            resolve("consent.registry", consent_t["registry"]) if "registry" in consent_t else None
        ),
        columns=columns,
        reading=reading_of(_checked_table(doc, "ledger"), parts),
        limits=_limits(doc),
        stripe=StripeSettings(
            **stripe_t, sandbox=resolve("stripe.sandbox", sandbox) if sandbox else None
        ),
        source=path.resolve(),
        timezone=zone,
        notify=_notify(doc.get("notify")),
        metrics_textfile=_metrics_path(base, textfile, name),
    )
    return check_choices(job)


def _notify(raw: Any) -> NotifySettings | None:
    """The ``[notify]`` table, read by :mod:`ledgerrun.notify.settings`: imported only for a
    job that has one (or a ``[metrics]`` textfile)."""
    if raw is None:
        return None
    from ledgerrun.notify.settings import read_notify

    return read_notify(raw)


def _metrics_path(base: Path, textfile: Any, job: str) -> Path | None:
    """``[metrics] textfile``'s path, when the job has one (see :func:`_notify`)."""
    if not textfile:
        return None
    from ledgerrun.notify.settings import metrics_path

    return metrics_path(base, textfile, job)


def _zone(name: str | None) -> str:
    """``[job] timezone``, checked; the host's zone when the job names none."""
    if name is None:
        return host_zone()
    if not valid_zone(name):
        raise ConfigError(
            f"'job.timezone' must be an IANA time zone name such as \"Europe/Berlin\" or "
            f'"America/New_York", not {name!r}'
        )
    return name


MAX_NAME_CHARS = 40  # as job.NAME_RE allows
NAME_HASH_CHARS = 8


def name_from_stem(stem: str) -> str:
    """A job name made from a file name that no other file name shares: the ASCII slug as
    before (``Adjustments 2026-11`` -> ``adjustments-2026-11``; names that slug cleanly never
    change), and when slugging lost something (another script, the end of a name over 40
    characters, a name of punctuation only) ``-`` and 8 hex digits of the name's SHA-256 (NFC),
    within 40 characters: ``財務`` -> ``ledger-77a03115``. So no two files whose names slugging
    would make one share a lock, runs or a results file."""
    stem = unicodedata.normalize("NFC", stem)  # as macOS writes it or not, one file name
    full = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-")
    slug = full[:MAX_NAME_CHARS].strip("-")
    if slug and stem.isascii() and len(full) <= MAX_NAME_CHARS:
        return slug
    import hashlib  # not at import: most file names slug cleanly

    digest = hashlib.sha256(stem.encode()).hexdigest()
    room = MAX_NAME_CHARS - NAME_HASH_CHARS - 1
    return f"{slug[:room].rstrip('-') or 'ledger'}-{digest[:NAME_HASH_CHARS]}"


def job_for_ledger(
    path: Path,
    run_date: dt.date | None = None,
    name: str | None = None,
    *,
    clock: Clock | None = None,
) -> Job:
    """The job a bare ledger file runs as: defaults throughout, files beside the ledger; the run
    date is today in the host's time zone unless given."""
    zone = host_zone()
    run_date = run_date or today(clock or SystemClock(), zone)
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
        timezone=zone,
    )
    return check_choices(job)


def load_target(
    target: Path,
    run_date: dt.date | None = None,
    *,
    job_name: str | None = None,
    clock: Clock | None = None,
) -> Job:
    """The job for TARGET: a job file (.toml), or else a ledger file run with defaults."""
    suffix = target.suffix.lower()
    if suffix == ".toml":
        job = load_job_file(target, run_date, clock=clock)
        if job_name is not None and job_name != job.name:
            raise ConfigError(
                f"--job {job_name} contradicts job.name = {job.name!r} in {target.name}"
            )
        return job
    # Anything else is taken for a ledger: the reader names an unsupported format precisely.
    return job_for_ledger(target, run_date, job_name, clock=clock)
