"""From the Python API's arguments to the job a command runs, with the same rules as the command
line: a job file, a :class:`~ledgerrun.job.Job`, or a bare ledger (a path, run with the same
defaults as ``ledgerrun run LEDGER``, or a DataFrame); then the options, which override the job.
A DataFrame is written to a temporary Parquet file for the length of the call (see
:mod:`ledgerrun.api.frames`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from ledgerrun.api.frames import RowLabels, is_frame, write_frame
from ledgerrun.errors import ConfigError
from ledgerrun.job import NAME_RE, Job
from ledgerrun.jobfile import job_for_ledger
from ledgerrun.target import resolve_target, with_options

if TYPE_CHECKING:
    import pandas as pd

PathLike: TypeAlias = "str | os.PathLike[str]"
LedgerLike: TypeAlias = "str | os.PathLike[str] | pd.DataFrame"
JobLike: TypeAlias = "str | os.PathLike[str] | Job | pd.DataFrame"
DateLike: TypeAlias = "dt.date | str"
FRAME_JOB = "dataframe"  # the name of a job that is only a DataFrame (validate and plan)
FRAME_FILES = {"ledger": "dataframe.parquet", "reversal request": "reversals-dataframe.parquet"}


@dataclass(frozen=True)
class Target:
    """The job a call runs, and the labels of its DataFrame ledger (None for a file)."""

    job: Job
    labels: RowLabels | None


def as_path(value: PathLike, what: str) -> Path:
    if isinstance(value, str | os.PathLike):
        return Path(os.fspath(value)).expanduser()
    raise ConfigError(f"{what} must be a path (text or pathlib.Path), not {type(value).__name__}")


def as_date(value: DateLike | None) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"date must be a datetime.date or YYYY-MM-DD text, not {value!r}")


@contextlib.contextmanager
def frame_file(frame: pd.DataFrame, what: str) -> Iterator[tuple[Path, RowLabels]]:
    """``frame`` as a Parquet file that lasts for the block."""
    with tempfile.TemporaryDirectory(prefix="ledgerrun-dataframe-") as folder:
        path = Path(folder) / FRAME_FILES[what]
        labels = write_frame(frame, path, what)
        yield path, labels


@contextlib.contextmanager
def resolve(
    job: JobLike,
    ledger: LedgerLike | None,
    *,
    date: DateLike | None,
    job_name: str | None,
    journal: PathLike | None,
    api_base: str | None,
    results: PathLike | None = None,
    frame_target: str = "",
) -> Iterator[Target]:
    """The job for the call, valid for the block (a DataFrame's file is removed after it).

    ``frame_target`` says what a DataFrame given as the job needs: "" (nothing: validate and
    plan name the job "dataframe"), "name and results" (a run writes files and journals under
    the job's name), or "job" (not accepted: reverse and reconcile work on what a job did)."""
    day = as_date(date)
    journal_text = None if journal is None else _location(journal)
    if api_base is not None and not isinstance(api_base, str):
        raise ConfigError(f"api_base must be a URL (text), not {type(api_base).__name__}")
    if job_name is not None and not isinstance(job_name, str):
        raise ConfigError(f"job_name must be text, not {type(job_name).__name__}")
    with contextlib.ExitStack() as stack:
        labels = None
        if is_frame(job):
            if ledger is not None:
                raise ConfigError(
                    "a DataFrame given as the job is the ledger: pass a job file (or Job) first "
                    "and the DataFrame as ledger=, or the DataFrame alone"
                )
            _frame_target_allowed(frame_target, job_name, results)
            path, labels = stack.enter_context(frame_file(job, "ledger"))
            resolved = job_for_ledger(path, day, job_name or FRAME_JOB)
            resolved = with_options(resolved, journal=journal_text, api_base=api_base)
            yield Target(resolved, labels)
            return
        ledger_path = None
        if is_frame(ledger):
            ledger_path, labels = stack.enter_context(frame_file(ledger, "ledger"))
        elif ledger is not None:
            ledger_path = as_path(ledger, "ledger")
        if isinstance(job, Job):
            resolved = _from_job(job, day, job_name)
            resolved = with_options(
                resolved, ledger=ledger_path, journal=journal_text, api_base=api_base
            )
        else:
            resolved = resolve_target(
                as_path(job, "job"),
                ledger=ledger_path,
                job_name=job_name,
                run_date=day,
                journal=journal_text,
                api_base=api_base,
            )
        yield Target(resolved, labels)


def _location(journal: PathLike) -> str:
    if isinstance(journal, str) and journal.startswith(("postgresql://", "postgres://")):
        return journal
    return str(as_path(journal, "journal"))


def _from_job(job: Job, day: dt.date | None, job_name: str | None) -> Job:
    if job_name is not None and job_name != job.name:
        raise ConfigError(f"job_name={job_name!r} contradicts the Job's name {job.name!r}")
    if day is not None and day != job.run_date:
        raise ConfigError(
            f"date={day} differs from the Job's run date {job.run_date}, for which its paths "
            "were filled in: load the job file for that date instead, with "
            "ledgerrun.jobfile.load_target(path, date), or pass the job file's path"
        )
    return job


def _frame_target_allowed(need: str, job_name: str | None, results: PathLike | None) -> None:
    if need == "job":
        raise ConfigError(
            "this works on what a job did: pass its job file, its ledger's path, or the job "
            "(for example the .job of what ledgerrun.run returned), not a DataFrame"
        )
    if need and (job_name is None or results is None):
        raise ConfigError(
            "a DataFrame has no file name to name the job after or to put the results beside: "
            "give job_name= (it names the run's lock, history and Stripe metadata) and "
            "results= (where the results file goes), or pass a job file first"
        )
    if job_name is not None and not NAME_RE.fullmatch(job_name):
        raise ConfigError(f"job name must be 1-40 characters of a-z, 0-9, '_' or '-': {job_name!r}")
