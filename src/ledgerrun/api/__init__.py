"""The Python API: ``ledgerrun.validate``, ``plan``, ``run``, ``reverse`` and ``reconcile``, for
notebooks and scripts. Each does what the command of the same name does, through the same
library code, and returns a typed result instead of printing (``print(result)`` shows the
command's text). docs/python.md walks through them.

Every call takes a job (a job file's path, a :class:`~ledgerrun.job.Job`, or a bare ledger: a
path run with the command line's defaults, or a DataFrame) and optionally a ledger that replaces
the job's (a path or a ``pandas.DataFrame``), plus keyword options named after the command
line's. The Stripe key is read from the environment variable the job names
(``STRIPE_API_KEY`` by default), as the command line reads it; it is never an argument.

What the command line reports with an exit code, a result carries as ``exit_code`` (an
:class:`~ledgerrun.errors.ExitCode`). What it reports as an error (a wrong job file, a journal
locked by another run, Stripe refusing the key or out of reach before anything was sent) is
raised as the same :class:`~ledgerrun.errors.FatalError`, whose ``exit_code`` is the command
line's.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ledgerrun.errors import ConfigError
from ledgerrun.startup import on_first_use

# What the calls take and return is imported when they are made (and a result's class when first
# asked for, see __getattr__): the command line imports this package for api.after_run alone.
if TYPE_CHECKING:
    import pandas as pd

    from ledgerrun.api.frames import RowLabels
    from ledgerrun.api.inputs import DateLike, JobLike, LedgerLike, PathLike
    from ledgerrun.api.results import (
        PlanResult,
        ReconcileResult,
        ReverseResult,
        RunResult,
        ValidateResult,
    )

__all__ = [
    "PlanResult",
    "ReconcileResult",
    "ReverseResult",
    "RunResult",
    "ValidateResult",
    "plan",
    "reconcile",
    "reverse",
    "run",
    "validate",
]
_RESULTS = frozenset(n for n in __all__ if n.endswith("Result"))

__getattr__, __dir__ = on_first_use(globals(), _RESULTS, "ledgerrun.api.results")


def validate(
    job: JobLike,
    ledger: LedgerLike | None = None,
    *,
    offline: bool = False,
    date: DateLike | None = None,
    job_name: str | None = None,
    journal: PathLike | None = None,
    api_base: str | None = None,
    live: bool = False,
) -> ValidateResult:
    """Check every row of the ledger and report every problem at once (``.problems``).

    Unless ``offline``, each account is also checked against Stripe and the journal and
    Stripe's books are searched for ids already used with other values. Sends nothing.
    ``exit_code`` is 0 when the ledger is valid, 2 when it is not."""
    from ledgerrun.api.inputs import resolve
    from ledgerrun.api.results import ValidateResult
    from ledgerrun.send.readonly import validate_job

    with resolve(
        job, ledger, date=date, job_name=job_name, journal=journal, api_base=api_base
    ) as target:
        prepared = validate_job(target.job, offline=offline, live=live)
    validation = prepared.validation
    return ValidateResult(
        validation.exit_code, target.job, validation, prepared.online, target.labels
    )


def plan(
    job: JobLike,
    ledger: LedgerLike | None = None,
    *,
    offline: bool = False,
    date: DateLike | None = None,
    job_name: str | None = None,
    journal: PathLike | None = None,
    api_base: str | None = None,
    live: bool = False,
) -> PlanResult:
    """What a run would do, per account, currency and direction (``.groups``): rows, total,
    already done, left to do and (unless ``offline``) the balance that must cover it. Sends
    nothing. ``exit_code`` is 0 when the ledger is valid, 2 when it is not."""
    from ledgerrun.api.inputs import resolve
    from ledgerrun.api.results import PlanResult
    from ledgerrun.send.readonly import plan_job

    with resolve(
        job, ledger, date=date, job_name=job_name, journal=journal, api_base=api_base
    ) as target:
        found = plan_job(target.job, offline=offline, live=live)
    return PlanResult(found.exit_code, target.job, found, target.labels)


def run(
    job: JobLike,
    ledger: LedgerLike | None = None,
    *,
    dry_run: bool = False,
    results: PathLike | None = None,
    concurrency: int | None = None,
    rate_limit: float | None = None,
    skip_invalid: bool = False,
    date: DateLike | None = None,
    job_name: str | None = None,
    journal: PathLike | None = None,
    api_base: str | None = None,
    live: bool = False,
) -> RunResult:
    """Move each row's money exactly once, as ``ledgerrun run`` does, and write the results file,
    its summary and its report. Running it again never sends a row twice.

    ``exit_code``: 0 every row succeeded (now or earlier); 1 some failed for good or were left
    out as invalid; 2 the ledger is invalid and nothing was sent; 3 incomplete (stopped, Stripe
    out of reach): run it again. An interrupt (Ctrl-C, or a notebook's stop button) finishes the
    requests in flight and returns with exit code 3; a second one stops at once."""
    from ledgerrun.api.after_run import AfterRun
    from ledgerrun.api.inputs import as_path, resolve
    from ledgerrun.api.results import RunResult
    from ledgerrun.events import Events
    from ledgerrun.send.publish import publish_run
    from ledgerrun.send.runner import run_job, who
    from ledgerrun.send.stopping import stop_on_signals
    from ledgerrun.target import with_run_options

    _check_range("concurrency", concurrency, 1, 64, whole=True)
    _check_range("rate_limit", rate_limit, 0, 10_000, whole=False)
    with resolve(
        job,
        ledger,
        date=date,
        job_name=job_name,
        journal=journal,
        api_base=api_base,
        results=results,
        frame_target="name and results",
    ) as target:
        resolved = with_run_options(
            target.job,
            results=None if results is None else as_path(results, "results"),
            concurrency=concurrency,
            rate_limit=rate_limit,
            skip_invalid=skip_invalid,
        )
        stop, hard_stop = threading.Event(), threading.Event()
        after = AfterRun(resolved, dry_run=dry_run, by="@".join(who()))  # metrics, notifications
        with stop_on_signals(stop, hard_stop, _notify), after:
            detail = run_job(
                resolved,
                dry_run=dry_run,
                live=live,
                stop=stop,
                hard_stop=hard_stop,
                events=Events(after),
                publish=publish_run,
            )
    return RunResult(detail.exit_code, resolved, detail, dry_run, target.labels)


def reverse(
    job: JobLike,
    ledger: LedgerLike | None = None,
    *,
    adjustments: PathLike | pd.DataFrame | None = None,
    all_rows: bool = False,
    reason: str = "",
    dry_run: bool = False,
    date: DateLike | None = None,
    job_name: str | None = None,
    journal: PathLike | None = None,
    api_base: str | None = None,
    live: bool = False,
) -> ReverseResult:
    """Reverse adjustments that moved money, exactly once: those ``adjustments`` names (a file
    or a DataFrame with ``adjustment_id`` and optionally ``amount`` or ``amount_minor`` for a
    partial reversal, ``reason``, ``reversal_id``), or with ``all_rows=True`` every adjustment of
    the run date that succeeded, in full. Writes the reversals file and its summary."""
    from ledgerrun.api.inputs import resolve
    from ledgerrun.api.results import ReverseResult
    from ledgerrun.send.publish import publish_reversals
    from ledgerrun.send.reversal.command import reverse_job

    if all_rows == (adjustments is not None):
        raise ConfigError(
            "give exactly one of adjustments= (a file or DataFrame of the reversals to make) "
            "and all_rows=True (every adjustment of the run date that succeeded)"
        )
    if not isinstance(reason, str):
        raise ConfigError(f"reason must be text, not {type(reason).__name__}")
    with (
        resolve(
            job,
            ledger,
            date=date,
            job_name=job_name,
            journal=journal,
            api_base=api_base,
            frame_target="job",
        ) as target,
        _request_file(adjustments) as (request, labels),
    ):
        detail = reverse_job(
            target.job,
            adjustments=request,
            every=all_rows,
            reason=reason,
            dry_run=dry_run,
            live=live,
            stop=threading.Event(),
            publish=publish_reversals,
        )
    return ReverseResult(detail.exit_code, target.job, detail, labels)


def reconcile(
    job: JobLike,
    ledger: LedgerLike | None = None,
    *,
    results: PathLike | None = None,
    all_dates: bool = False,
    date: DateLike | None = None,
    job_name: str | None = None,
    journal: PathLike | None = None,
    api_base: str | None = None,
    live: bool = False,
) -> ReconcileResult:
    """Check the run date (``date``, default today; or ``all_dates=True``) against Stripe's own
    records (``.discrepancies``): every succeeded row's objects exist and match, no adjustment
    was moved twice, no object of the transfer group is unaccounted for. Sends no money.
    ``exit_code``: 0 everything agrees, 1 discrepancies, 3 Stripe did not answer for some."""
    from ledgerrun.api.after_run import tell_reconcile
    from ledgerrun.api.inputs import as_path, resolve
    from ledgerrun.api.results import ReconcileResult
    from ledgerrun.reconcile.command import reconcile_job
    from ledgerrun.send.runner import who

    with resolve(
        job,
        ledger,
        date=date,
        job_name=job_name,
        journal=journal,
        api_base=api_base,
        frame_target="job",
    ) as target:
        done = reconcile_job(
            target.job,
            results=None if results is None else as_path(results, "results"),
            every_date=all_dates,
            live=live,
        )
    report = done.report
    tell_reconcile(target.job, report, by="@".join(who()))
    return ReconcileResult(
        report.exit_code, target.job, report, done.csv_path, done.json_path, done.refreshed
    )


# --- helpers -------------------------------------------------------------------------------------


def _check_range(name: str, value: float | None, low: float, high: float, *, whole: bool) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (whole and not isinstance(value, int))
    ):
        kind = "a whole number" if whole else "a number"
        raise ConfigError(f"{name} must be {kind}, not {value!r}")
    if whole and not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    if not whole and not low < value <= high:
        raise ConfigError(f"{name} must be above {low} and at most {high}, not {value}")


def _notify(message: str, event: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _request_file(
    adjustments: PathLike | pd.DataFrame | None,
) -> Iterator[tuple[Path | None, RowLabels | None]]:
    """The reversal request as a file for the block: a path as it is, a DataFrame written to a
    temporary Parquet file; (None, None) for ``all_rows``."""
    from ledgerrun.api.frames import is_frame
    from ledgerrun.api.inputs import as_path, frame_file

    if adjustments is None:
        yield None, None
    elif is_frame(adjustments):
        with frame_file(adjustments, "reversal request") as (path, labels):
            yield path, labels
    else:
        yield as_path(adjustments, "adjustments").resolve(), None
