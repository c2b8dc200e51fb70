"""The worker: takes queued work from the store and does it with the library.

A worker is a thread of the server (by default) or its own process (``ledgerrun worker``), on
this host or another one sharing the store. Work items are claimed atomically
(:meth:`~ledgerrun.store.model.WebRecords.claim_work`), so two workers never take the same one,
and held by a lease the worker renews while it lives (``[serve] work_lease_s``, 30 s by default,
renewed every third of it). A worker that
dies (killed, its host gone) stops renewing: once its lease runs out, any worker on any host
takes the item over and carries it on. That is safe for every kind: a run or a reversal moves
each row's money exactly once whoever runs it, and the job's run lock says whether the first
worker's run is in fact still going (then the item is given back to it). The item's history
shows who had it, and when.

Kinds:

``check``
    Pre-flight against Stripe, as ``ledgerrun plan`` does: each account checked, the balances
    looked up, the plan with its balance warnings kept on the batch. Sends no money.
``run``
    :func:`~ledgerrun.send.runner.run_job` under the job's normal lock (a cron run of the same
    job and a web run never overlap: the later one ends with exit 4), with the command line's
    publisher; progress is written to the work item as rows finish
    (:class:`~ledgerrun.web.progress.Progress`), so any page (after a reload or a server
    restart) shows it.
``reconcile``
    :func:`~ledgerrun.reconcile.check.reconcile` on a run's results as the store keeps them;
    the findings and the refreshed report go back to the store beside the run's other files.
``reverse``
    :func:`~ledgerrun.send.reversal.command.reverse_job` on the batch's chosen adjustments (a
    dry run first, then for real), under the job's lock, exactly once; the reversals file is
    kept in the store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ledgerrun.clock import iso
from ledgerrun.errors import (
    ConfigError,
    ExitCode,
    FatalError,
    LedgerrunError,
    LockHeldError,
)
from ledgerrun.events import Events
from ledgerrun.store.model import Store
from ledgerrun.store.web_model import Batch, WorkItem
from ledgerrun.web import approvals, service
from ledgerrun.web.config import ServeConfig
from ledgerrun.web.progress import Progress, reversal_progress

# A batch's status once its run has ended, by the run's exit code: how the run ended, in the
# batch list's words (never "Approved" over a run that failed).
RUN_STATUSES = {
    int(ExitCode.OK): "done",
    int(ExitCode.FAILED): "done_with_failures",
    int(ExitCode.INVALID): "run_refused",
    int(ExitCode.INCOMPLETE): "run_incomplete",
    int(ExitCode.LOCKED): "run_busy",
}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


class Worker:
    def __init__(
        self,
        config: ServeConfig,
        store: Store,
        env: Mapping[str, str] | None = None,
        *,
        poll_s: float = 0.5,
        lease: dt.timedelta | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.env = os.environ if env is None else env
        self.poll_s = poll_s
        self.name = worker_name()
        self.stop = threading.Event()  # finish what is in hand, take nothing new
        self.hard_stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.lease = lease or dt.timedelta(seconds=config.work_lease_s)

    # --- the loop ------------------------------------------------------------------------------

    def start(self) -> None:
        self.thread = threading.Thread(target=self.loop, name="ledgerrun-worker", daemon=True)
        self.thread.start()

    def close(self, timeout: float = 30.0) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def loop(self) -> None:
        while not self.stop.is_set():
            try:
                worked = self.step()
            except LedgerrunError:
                worked = False  # the store is unavailable for now: try again shortly
            if not worked:
                self.stop.wait(self.poll_s)

    def step(self) -> bool:
        """Do one item (queued, or taken over from a worker that died), if any; True when one
        was done."""
        item = self.store.claim_work(self.name, service.now(), self.lease)
        if item is None:
            return False
        batch = self.store.batch(item.batch_id)
        if batch is None:
            self.store.update_work(
                item.work_id, state="failed", ended_at=service.now(), message="no such batch"
            )
            return True
        taken_over = bool(item.history) and item.history[-1].get("event") == "taken_over"
        if taken_over:
            service.audit(
                self.store, item.requested_by, f"worker {self.name}", "work_taken_over",
                batch=batch, work_id=item.work_id, kind=item.kind,
                previous_worker=str(item.history[-1].get("from", "")),
            )  # fmt: skip
        handler = {
            "run": self.run,
            "check": self.check,
            "reconcile": self.reconcile,
            "reverse": self.reverse,
        }.get(item.kind)
        with _Lease(self.store, item.work_id, self.name, self.lease):
            try:
                if handler is None:
                    raise ConfigError(f"this worker does not know work of kind {item.kind!r}")
                handler(item, batch)
            except LockHeldError as exc:
                if taken_over:  # the first worker's run is still going: it is its own again
                    self._give_back(item)
                else:
                    self._end(item, batch, int(exc.exit_code), service.error_text(exc))
            except FatalError as exc:
                self._end(item, batch, int(exc.exit_code), service.error_text(exc))
            except Exception as exc:  # a bug: say whether money may have moved
                code = ExitCode.INCOMPLETE if _may_have_sent(item, self.store) else ExitCode.INVALID
                self._end(item, batch, int(code), service.error_text(exc))
        return True

    def _give_back(self, item: WorkItem) -> None:
        """A taken-over item whose job is still being run by its first worker (its lease ran
        out, it did not die): it goes back to that worker."""
        current = self.store.work_item(item.work_id)
        previous = str(item.history[-1].get("from", "")) if item.history else ""
        history = [
            *(current.history if current else item.history),
            {"at": service.now().isoformat(), "worker": previous, "event": "given_back"},
        ]
        self.store.update_work(
            item.work_id, worker=previous, lease_until=service.now() + self.lease, history=history
        )

    def _end(self, item: WorkItem, batch: Batch, code: int, message: str, **extra: Any) -> None:
        state = "done" if code in (0, 1) else "failed"
        self.store.update_work(
            item.work_id, state=state, ended_at=service.now(), exit_code=code, message=message,
            **extra,
        )  # fmt: skip
        if item.kind == "run":
            service.REVIEWS.drop(batch.batch_id)
            status = RUN_STATUSES.get(code, "run_incomplete")
            self.store.update_batch(batch.batch_id, status=status, updated_at=service.now())
        service.audit(
            self.store,
            item.requested_by,
            f"worker {self.name}",
            f"{item.kind}_end",
            batch=batch,
            work_id=item.work_id,
            exit_code=code,
            message=message[:500],
        )

    # --- kinds ---------------------------------------------------------------------------------

    def run(self, item: WorkItem, batch: Batch) -> None:
        from ledgerrun.api.after_run import AfterRun
        from ledgerrun.send.publish import publish_run as publish
        from ledgerrun.send.runner import run_job

        review = service.review(self.config, self.store, batch, fresh=True)
        job = review.job
        found = approvals.of_review(self.store, batch, review)
        if found.ended:
            words = "rejected" if found.ended == "rejected" else "sent back to its preparer"
            raise ConfigError(f"this batch was {words}: upload the corrected ledger again")
        if not review.runnable:
            raise ConfigError("this ledger cannot be run: see its problems on the batch page")
        if not found.approved:
            if found.stale and not found.approvers:
                raise ConfigError(
                    "the plan's totals are no longer those approved: upload the ledger again "
                    "for a new approval"
                )
            people = "an approval" if found.needed == 1 else f"{found.needed} approvals"
            raise ConfigError(
                f"this batch needs {people} before it runs; it has {len(found.approvers)}"
            )
        progress = Progress(self.store, item.work_id)
        after = AfterRun(
            job, dry_run=False, by=item.requested_by, also=[self.config.notify], env=self.env
        )  # then, the run over: its metrics and notifications
        events = Events(progress, after)
        with after:
            result = run_job(
                job,
                env=self.env,
                live=self.config.allow_live,
                events=events,
                stop=self.stop,
                hard_stop=self.hard_stop,
                publish=publish,
                batch=batch.batch_id,
            )
        run_id = result.summary.run_id
        self.store.update_batch(batch.batch_id, run_id=run_id, updated_at=service.now())
        progress.flush(phase="finished", run_id=run_id)
        self._end(
            item,
            batch,
            int(result.exit_code),
            " ".join(result.notes)[:2000],
            params={**item.params, "run_id": run_id},
        )

    def check(self, item: WorkItem, batch: Batch) -> None:
        from ledgerrun.send.plan import plan_online
        from ledgerrun.send.prepare import prepare
        from ledgerrun.stripe.session import connect
        from ledgerrun.web import balances

        review = service.review(self.config, self.store, batch, fresh=True)
        job = review.job
        offline = {(p.row, p.column, p.code) for p in review.problems}
        online: dict[str, Any] = {"checked_at": iso(service.now())}
        try:
            with connect(job, self.env, live=self.config.allow_live) as session:
                prepared = prepare(job, session, store=self.store, writable=False)
                plan = plan_online(prepared, session)
                online["mode"] = str(session.mode)
        except FatalError as exc:
            online["error"] = service.error_text(exc)
            self._save_online(batch, online)
            raise
        online.update(balances.saved(plan))  # the batch page's plan figures start from these
        online["problems"] = [
            p.to_json()
            for p in prepared.validation.problems
            if (p.row, p.column, p.code) not in offline
        ]
        self._save_online(batch, online)
        self._end(item, batch, 0, "")

    def _save_online(self, batch: Batch, online: dict[str, Any]) -> None:
        current = self.store.batch(batch.batch_id) or batch
        summary = dict(current.summary)
        summary["online"] = online
        self.store.update_batch(batch.batch_id, summary=summary)

    def reconcile(self, item: WorkItem, batch: Batch) -> None:
        from ledgerrun.api.after_run import tell_reconcile
        from ledgerrun.reconcile.check import reconcile
        from ledgerrun.reconcile.files import write_report
        from ledgerrun.send import records
        from ledgerrun.stripe.session import connect

        run_id = str(item.params.get("run_id") or batch.run_id or "")
        summary = records.own_summary(self.store, run_id) if run_id else None
        if summary is None:
            raise ConfigError("this batch has no finished run to reconcile")
        run_date = dt.date.fromisoformat(str(summary["run_date"]))
        ledger = service.ledger_file(self.config, self.store, batch)
        job = service.job_for(self.config, batch.job, ledger=ledger, day=run_date)
        started = service.now()
        with tempfile.TemporaryDirectory(prefix="ledgerrun-reconcile-") as folder:
            results = Path(folder) / f"{job.name}.results.csv"  # where reconcile writes beside
            job = job.replace(results=results)
            with connect(job, self.env, live=self.config.allow_live, standing=True) as session:
                report = reconcile(
                    job, session, self.store, results, run_date=run_date.isoformat(), now=started
                )
            report.ended_at = service.now()
            csv_path, json_path = write_report(report)
            self.store.save_run_file(run_id, "reconcile.csv", csv_path.read_bytes())
            self.store.save_run_file(run_id, "reconcile.json", json_path.read_bytes())
        code = ExitCode.INCOMPLETE if report.unchecked else (
            ExitCode.OK if report.clean else ExitCode.FAILED
        )  # fmt: skip
        tell_reconcile(
            job, report, by=item.requested_by, also=[self.config.notify], env=self.env,
            results=str(summary.get("results") or ""),
        )  # fmt: skip
        found = len(report.discrepancies)
        self._end(
            item,
            batch,
            int(code),
            "Everything agrees with Stripe." if report.clean else f"{found} discrepancies.",
        )

    def reverse(self, item: WorkItem, batch: Batch) -> None:
        import csv

        from ledgerrun.send.publish import publish_reversals as publish
        from ledgerrun.send.reversal.command import reverse_job

        run_id = str(item.params.get("run_id") or "")
        raw = self.store.run_file(run_id, "summary.json") if run_id else None
        if raw is None:
            raise ConfigError("this batch has no finished run to reverse")
        run_date = dt.date.fromisoformat(str(json.loads(raw)["run_date"]))
        ids = [str(i) for i in item.params.get("ids") or []]
        if not ids:
            raise ConfigError("no adjustment was chosen to reverse")
        self.store.update_work(item.work_id, progress={"phase": "reversing", "rows": len(ids)})
        ledger = service.ledger_file(self.config, self.store, batch)
        job = service.job_for(self.config, batch.job, ledger=ledger, day=run_date)
        with tempfile.TemporaryDirectory(prefix="ledgerrun-reverse-") as folder:
            request = Path(folder) / "reversals-request.csv"
            with request.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["adjustment_id"])
                writer.writerows([i] for i in ids)
            job = job.replace(results=Path(folder) / f"{job.name}.results.csv")
            result = reverse_job(
                job,
                adjustments=request,
                reason=str(item.params.get("reason") or ""),
                dry_run=bool(item.params.get("dry_run")),
                live=self.config.allow_live,
                env=self.env,
                stop=self.stop,
                publish=publish,
            )
        self._end(
            item,
            batch,
            int(result.exit_code),
            " ".join(result.warnings)[:2000],
            params={**item.params, "reverse_run_id": result.run_id},
            progress=reversal_progress(line.status for line in result.lines),
        )


def _may_have_sent(item: WorkItem, store: Store) -> bool:
    """Whether a run or reversal that crashed may have moved money: once it started sending
    (its progress names its run), yes; a check or a reconcile never does."""
    if item.kind not in ("run", "reverse"):
        return False
    current = store.work_item(item.work_id)
    progress = (current.progress if current else None) or {}
    return bool(progress.get("run_id"))  # the run was recorded: from there on, money may move


class _Lease:
    """Renews a work item's lease while the block runs (from a thread of its own, so a long
    run keeps its item); a store that cannot be reached for a moment is tried again."""

    def __init__(self, store: Store, work_id: str, worker: str, lease: dt.timedelta) -> None:
        self.store, self.work_id, self.worker, self.lease = store, work_id, worker, lease
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="ledgerrun-lease", daemon=True)

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(self.lease.total_seconds())

    def _renew(self) -> None:
        every = self.lease.total_seconds() / 3
        while not self._done.wait(every):
            try:
                self.store.renew_lease(self.work_id, self.worker, service.now() + self.lease)
            except LedgerrunError:
                continue  # the store is away for now: the next renewal tries again
