"""The web application's notifications of batches: one needs approval (``batch_uploaded``: at
its upload, and again after each approval while it needs more approvers), was approved (by as
many approvers as its job's policy asks), rejected, or sent back to its preparer with a comment.

Each goes to the channels of ``serve.toml``'s ``[notify]`` and of the batch's job file's
``[notify]`` (a channel named in both is told once), in the background: the page answers at once,
and a receiver that is down never fails the request (it is logged by ``ledgerrun.notify``).
Runs (``run_end``) and reconciliations (``reconcile_discrepancy``) are told by the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ledgerrun.api.after_run import notifier
from ledgerrun.approval_policy import Standing
from ledgerrun.errors import LedgerrunError
from ledgerrun.notify.message import Notification
from ledgerrun.notify.settings import NotifySettings
from ledgerrun.store.web_model import Batch
from ledgerrun.web import service
from ledgerrun.web.config import ServeConfig

BATCH_EVENTS = ("batch_uploaded", "batch_approved", "batch_rejected", "batch_sent_back")

_logger = logging.getLogger("ledgerrun.notify")


def needs_approval(batch: Batch) -> bool:
    """The batch waits for an approver's decision: its job's policy asks for at least one
    approver for its totals (``[approval] required``, or a rule by amount it is above), and it
    can run."""
    needed = batch.summary.get("approvers_needed")
    if not isinstance(needed, int):  # recorded before approval rules
        needed = 1 if batch.summary.get("approval") == "required" else 0
    return needed > 0 and batch.status == "valid"


def job_notify(config: ServeConfig, job: str) -> NotifySettings | None:
    """The ``[notify]`` table of the job's file (None when it has none or cannot be read)."""
    try:
        return service.job_for(config, job).notify
    except LedgerrunError:
        return None


def batch_event(
    config: ServeConfig,
    batch: Batch,
    event: str,
    *,
    by: str,
    comment: str = "",
    env: Mapping[str, str] | None = None,
    approvals: Standing | None = None,
) -> None:
    """Tell whoever serve.toml and the batch's job name that ``event`` happened to ``batch``."""
    if event not in BATCH_EVENTS:
        raise ValueError(f"not a batch event: {event!r}")
    try:
        tables = [config.notify, job_notify(config, batch.job)]
        tell = notifier(tables, env=env)
        if tell is None:
            return
        web_url = next((t.web_url for t in tables if t is not None and t.web_url), None)
        details: dict[str, object] = {
            "id": batch.batch_id,
            "file": batch.file_name,
            "rows": batch.rows,
            "uploaded_by": batch.uploaded_by,
        }
        if approvals is not None and approvals.needed:
            details["approvals"] = {
                "needed": approvals.needed,
                "approved_by": list(approvals.approvers),
            }
        if web_url:
            details["url"] = f"{web_url.rstrip('/')}/batches/{batch.batch_id}"
        tell.send(
            Notification(
                event=event,
                job=batch.job,
                at=service.now(),
                batch=details,
                by=by,
                message=comment.strip() or None,
            )
        )
    except Exception:  # a notification never fails the page that caused it
        _logger.exception("the %s notification of batch %s was not sent", event, batch.batch_id)
