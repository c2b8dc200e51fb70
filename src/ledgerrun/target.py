"""TARGET and the options that override the job: the one way from a command's TARGET (a job
file, or a ledger run with defaults) and its options (the command line's, or the Python API's
keywords) to the job the command runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ledgerrun.clock import Clock
from ledgerrun.errors import ConfigError
from ledgerrun.job import LEDGER_SUFFIXES, Job, check_choices
from ledgerrun.jobfile import load_target

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
    allow_prefix_change: bool = False,
) -> Job:
    """``job`` with the options of a run: where its results go, how many accounts at once, the
    request rate, whether invalid rows are skipped rather than stopping the run, and whether
    a changed ``id_prefix`` is meant (``possible_duplicate_prefix`` rows are then sent)."""
    changes: dict[str, object] = {}
    if allow_prefix_change:
        changes["allow_prefix_change"] = True
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
    clock: Clock | None = None,
) -> Job:
    """The job a command runs: TARGET (a job file, or a ledger run with defaults) checked and
    read, then the command's options applied."""
    check_target(target)
    job = load_target(target, run_date, job_name=job_name, clock=clock)
    return with_options(job, ledger=ledger, journal=journal, api_base=api_base)
