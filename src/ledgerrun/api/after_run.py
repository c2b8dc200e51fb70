"""What follows a run in every front end (the command line, the Python API, the web worker): the
job's ``[metrics] textfile`` is written and its ``[notify]`` channels are told.

:class:`AfterRun` listens to the run's events for :class:`~ledgerrun.events.RunEnd` and wraps
the call of :func:`~ledgerrun.send.runner.run_job`::

    after = AfterRun(job, dry_run=dry_run, by="ana@host", log=log)
    events.listen(after)
    with after:
        result = run_job(job, events=events, ...)

When the block ends, after the run has released its lock, the gauges are written and a
``run_end`` notification sent, also when the run stopped with an error (exit 2, 3 or 4, with
the error's text as ``message``; the counts are then zero). A dry run writes and sends nothing.
Nothing here raises or changes an exit code: a failure is logged (``metrics_failed``,
``notify_failed``) and the run's own outcome stands.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ledgerrun.errors import FatalError
from ledgerrun.events import Event, RunEnd

if TYPE_CHECKING:  # a job without [notify] never loads the notifications' modules
    from ledgerrun.job import Job
    from ledgerrun.notify.deliver import Notifier
    from ledgerrun.notify.settings import NotifySettings
    from ledgerrun.reconcile.model import Reconciliation

Log = Callable[[str, str, Mapping[str, Any]], None]
"""``log(event, level, fields)``, as :data:`ledgerrun.notify.deliver.Log`."""


class AfterRun:
    """An events listener and a context manager around one run; see the module's docstring."""

    def __init__(
        self,
        job: Job,
        *,
        dry_run: bool,
        by: str | None = None,
        log: Log | None = None,
        also: Iterable[NotifySettings | None] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.job = job
        self.dry_run = dry_run
        self.by = by
        self.log = log
        self.notifier = notifier([job.notify, *also], env=env, log=log)
        self.end: RunEnd | None = None
        self._started = time.monotonic()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunEnd):
            self.end = event

    def __enter__(self) -> AfterRun:
        self._started = time.monotonic()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.dry_run or (self.end is not None and self.end.dry_run):
            return
        if error is None and self.end is not None:
            self.ended(self.end)
        elif isinstance(error, FatalError):
            self.failed(error)

    def ended(self, end: RunEnd) -> None:
        totals: Any = end.totals
        self._report(
            exit_code=end.exit_code,
            duration_s=end.duration_s,
            counts=dict(end.counts),
            totals=totals,
            run_id=end.run_id,
            results=end.results,
        )

    def failed(self, error: FatalError) -> None:
        self._report(
            exit_code=int(error.exit_code),
            duration_s=time.monotonic() - self._started,
            counts={},
            totals={},
            message=str(error),
        )

    def _report(
        self,
        *,
        exit_code: int,
        duration_s: float,
        counts: dict[str, int],
        totals: dict[str, dict[str, dict[str, int]]],
        run_id: str | None = None,
        results: str | None = None,
        message: str | None = None,
    ) -> None:
        now = dt.datetime.now(dt.UTC)
        if self.job.metrics_textfile is not None:
            write_metrics(self.job, self.log, exit_code, now, duration_s, counts, totals)
        if self.notifier is not None:
            from ledgerrun.notify.message import Notification

            self.notifier.send(
                Notification(
                    event="run_end",
                    job=self.job.name,
                    at=now,
                    run_date=self.job.run_date.isoformat(),
                    run_id=run_id,
                    exit_code=exit_code,
                    counts=counts,
                    totals=totals,
                    results=results,
                    by=self.by,
                    message=message,
                )
            )

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the notifications under way (see :meth:`Notifier.wait`)."""
        return self.notifier is None or self.notifier.wait(timeout)


def notifier(
    tables: Iterable[NotifySettings | None],
    *,
    env: Mapping[str, str] | None = None,
    log: Log | None = None,
) -> Notifier | None:
    """A notifier for the tables given, or None when none is (so that a job without ``[notify]``
    never loads the mail and HTTP clients)."""
    found = [t for t in tables if t is not None]
    if not found:
        return None
    from ledgerrun.notify.deliver import Notifier

    return Notifier(found, env=env, log=log)


def write_metrics(
    job: Job,
    log: Log | None,
    exit_code: int,
    ended_at: dt.datetime,
    duration_s: float,
    counts: dict[str, int],
    totals: dict[str, dict[str, dict[str, int]]],
) -> None:
    """The job's textfile, written; a failure logged (``metrics_failed``), never raised."""
    from ledgerrun.output.metrics import LastRun, write_textfile

    path = job.metrics_textfile
    if path is None:
        return
    run = LastRun(job.name, exit_code, ended_at, duration_s, counts, totals)
    try:
        write_textfile(path, run)
    except Exception as exc:  # a full disk or a bad folder must not reach the run's outcome
        from ledgerrun.notify.deliver import python_log

        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        (log or python_log)("metrics_failed", "warning", {"path": str(path), "message": reason})


def tell_reconcile(
    job: Job,
    report: Reconciliation,
    *,
    by: str | None = None,
    log: Log | None = None,
    also: Iterable[NotifySettings | None] = (),
    env: Mapping[str, str] | None = None,
    results: str | None = None,
) -> Notifier | None:
    """Send ``reconcile_discrepancy`` when reconcile found any (objects it could not check,
    for want of an answer from Stripe, are no discrepancy: the exit code says run it again).
    ``results``: the results file to name (default: the one reconcile read)."""
    found: dict[str, int] = {}
    for item in report.discrepancies:
        if item.kind != "unchecked":
            found[item.kind] = found.get(item.kind, 0) + 1
    tell = notifier([job.notify, *also], env=env, log=log)
    if not found or tell is None:
        return None
    from ledgerrun.notify.message import Notification

    tell.send(
        Notification(
            event="reconcile_discrepancy",
            job=job.name,
            at=dt.datetime.now(dt.UTC),
            run_date=None if report.scope == "all" else report.scope,
            exit_code=int(report.exit_code),
            results=results or str(report.results_path),
            by=by,
            discrepancies=found,
        )
    )
    return tell
