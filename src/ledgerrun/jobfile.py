"""Reading job files: TOML, checked key by key, so that every mistake names its key.

Paths in a job file are relative to it and may use ``{date}`` (the run date) and ``{job}``; a
ledger file may be given instead of a job, and then every setting takes its default. Options given
with a command (the command line's, or the Python API's keywords) override the job's settings:
:func:`resolve_target` is the one way from TARGET and those options to the job a command runs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import string
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ledgerrun import money
from ledgerrun.errors import ConfigError
from ledgerrun.job import (
    DEFAULT_RESULTS,
    LEDGER_SUFFIXES,
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
    "ledger": {
        "currency": _text,
        "negative": _text,
        "delimiter": _text,
        "decimal": _text,
        "date_format": _text,
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


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The TOML document at ``path`` (``what`` names it in errors: "job file"); ConfigError when
    it is missing, unreadable or not TOML. A byte-order mark from Windows editors is fine."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from None


def load_job_file(path: Path, run_date: dt.date) -> Job:
    """Read and check a TOML job file; raise ConfigError naming the offending key."""
    doc = read_toml(path, "job file")
    for table in doc:
        if table not in ("job", "columns", "ledger", "limits", "consent", "stripe"):
            raise _unknown(table, ["job", "columns", "ledger", "limits", "consent", "stripe"])
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
    columns, parts = columns_of(doc)
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
        columns=columns,
        reading=reading_of(_checked_table(doc, "ledger"), parts),
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


# --- TARGET and the options that override the job ------------------------------------------------

TARGET_SUFFIXES = (".toml", *LEDGER_SUFFIXES)


def check_target(target: Path) -> None:
    """TARGET must be an existing job file or ledger file; say what is wrong otherwise. (An
    existing file of another kind is read as a ledger, whose reader names its format.)"""
    suffix = target.suffix.lower()
    if not target.exists() and suffix not in TARGET_SUFFIXES:
        near = [target.with_suffix(s) for s in TARGET_SUFFIXES if target.with_suffix(s).exists()]
        near += [p for p in target.parent.glob(f"{target.name}*") if p.suffix in TARGET_SUFFIXES]
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise ConfigError(
            f"no such job file or ledger: {target}{hint}. TARGET is a job file (.toml) or a "
            "ledger (.csv, .xlsx, .parquet)"
        )
    if not target.exists():
        near = [p for p in target.parent.glob(f"{target.stem}.*") if p.suffix in TARGET_SUFFIXES]
        hint = f" (did you mean {near[0]}?)" if near else ""
        what = "job file" if suffix == ".toml" else "ledger file"
        raise ConfigError(f"{what} not found: {target}{hint}")
    if target.is_dir():
        raise ConfigError(f"{target} is a folder, not a job file or a ledger")


def with_options(
    job: Job,
    *,
    ledger: Path | None = None,
    journal: str | None = None,
    api_base: str | None = None,
) -> Job:
    """``job`` with the options every job command takes: another ledger, another journal (a
    path or a postgresql:// URL), another API base (which replaces an embedded sandbox)."""
    if ledger is not None:
        job = job.replace(ledger=ledger.resolve())
    if journal is not None:
        job = job.with_journal(journal)
    if api_base is not None:
        job = check_choices(job.replace(api_base=api_base, sandbox=None))
    return job


def with_run_options(
    job: Job,
    *,
    results: Path | None = None,
    concurrency: int | None = None,
    rate_limit: float | None = None,
    skip_invalid: bool = False,
) -> Job:
    """``job`` with the options of a run: where its results go, how many accounts at once, the
    request rate, and whether invalid rows are skipped rather than stopping the run."""
    changes: dict[str, object] = {}
    if results is not None:
        changes["results"] = results.resolve()
    if concurrency is not None:
        changes["concurrency"] = concurrency
    if rate_limit is not None:
        changes["rate_limit"] = rate_limit
    if skip_invalid:
        changes["on_invalid"] = "skip"
    return job.replace(**changes)


def resolve_target(
    target: Path,
    *,
    ledger: Path | None = None,
    job_name: str | None = None,
    run_date: dt.date | None = None,
    journal: str | None = None,
    api_base: str | None = None,
) -> Job:
    """The job a command runs: TARGET (a job file, or a ledger run with defaults) checked and
    read, then the command's options applied."""
    check_target(target)
    job = load_target(target, run_date, job_name=job_name)
    return with_options(job, ledger=ledger, journal=journal, api_base=api_base)
