"""The decisions on a batch: approve, reject, or send back to its preparer with a comment.

Four eyes, by the job's approval policy (:mod:`ledgerrun.approval_policy`): each approver is a
different person, never the batch's uploader, and approves the file (its SHA-256) and the plan's
totals shown on the page; a batch above a rule's amount waits until as many approvers as the rule
asks have approved it. A rejection or a send-back ends the batch: the preparer uploads the
corrected ledger as a new batch. Every refusal is recorded in the audit trail.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledgerrun.errors import LedgerrunError
from ledgerrun.store.web_model import Approval, Batch, User
from ledgerrun.web import approvals, notices, service
from ledgerrun.web.routes.common import DECIDE, batch_of, guarded, refuse, text_field

if TYPE_CHECKING:
    from ledgerrun.web.app import App

WORDS = {"approved": "approve", "rejected": "reject", "sent_back": "send back"}


@guarded(DECIDE)
async def approve(self: App, request: Request) -> Response:
    return await _decide(self, request, "approved")


@guarded(DECIDE)
async def reject(self: App, request: Request) -> Response:
    return await _decide(self, request, "rejected")


@guarded(DECIDE)
async def send_back(self: App, request: Request) -> Response:
    return await _decide(self, request, "sent_back")


def _checks(self: App, request: Request, batch: Batch | None, decision: str) -> Response | None:
    user: User = request.state.user
    action = WORDS[decision].replace(" ", "_")
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    if batch.uploaded_by == user.name:
        return refuse(
            self, request, 403, "Not allowed",
            "You uploaded this batch: another approver must decide on it (four eyes).",
            why="the uploader may not decide on their own batch (four eyes)", batch=batch,
            action=action,
        )  # fmt: skip
    decisions = self.store.approvals(batch.batch_id)
    ended = next((d for d in decisions if d.decision in ("rejected", "sent_back")), None)
    if ended is not None or batch.status not in (*approvals.WAITING, "invalid"):
        return refuse(
            self, request, 409, "Already decided",
            "This batch has its decision already; a corrected ledger is a new upload, with "
            "decisions of its own.", why=f"the batch is {batch.status.replace('_', ' ')}",
            batch=batch, action=action,
        )  # fmt: skip
    if decision == "approved" and any(
        d.by == user.name and d.decision == "approved" for d in decisions
    ):
        return refuse(
            self, request, 409, "Approved already",
            "You have approved this batch already; it needs another approver.",
            why="a second approval by the same person does not count", batch=batch,
            action=action,
        )  # fmt: skip
    return None


async def _decide(self: App, request: Request, decision: str) -> Response:
    user: User = request.state.user
    form: FormData = request.state.form
    batch = batch_of(self, request)
    refused = _checks(self, request, batch, decision)
    if refused is not None:
        return refused
    assert batch is not None
    action = WORDS[decision].replace(" ", "_")
    try:
        review = await run_in_threadpool(
            functools.partial(service.review, self.config, self.store, batch, fresh=True)
        )
    except LedgerrunError as exc:
        return refuse(
            self, request, 409, "Cannot be decided", service.error_text(exc)[:1].upper()
            + service.error_text(exc)[1:] + ".", why=service.error_text(exc)[:300],
            batch=batch, action=action,
        )  # fmt: skip
    totals = review.totals()
    if text_field(form, "sha256", 64) != batch.sha256 or text_field(
        form, "plan", 64
    ) != service.fingerprint(totals):
        return refuse(
            self, request, 409, "The plan changed",
            "The ledger's plan is not the one shown when the page was loaded. Reload the page, "
            "check it again, then decide.", why="the plan or file differs from the page's",
            batch=batch, action=action,
        )  # fmt: skip
    if decision == "approved" and (batch.status not in approvals.WAITING or not review.runnable):
        return refuse(
            self, request, 409, "Cannot be approved",
            "Only a batch ready for approval, whose rows can be run, can be approved.",
            why="the ledger has problems, or the batch is not waiting for approval", batch=batch,
            action=action,
        )  # fmt: skip
    comment = text_field(form, "comment", 1000).strip()
    if decision == "sent_back" and not comment:
        return refuse(
            self, request, 400, "Say what to correct",
            "Sending a batch back needs a comment: tell the preparer what to correct.",
            why="sent back without a comment", batch=batch, action=action,
        )  # fmt: skip
    self.store.add_approval(
        Approval(
            batch_id=batch.batch_id,
            job=batch.job,
            decision=decision,
            by=user.name,
            at=service.now(),
            sha256=batch.sha256,
            totals=totals,
            comment=comment,
        )
    )
    found = approvals.of_review(self.store, batch, review)
    status = approvals.status_after(found)
    self.store.update_batch(batch.batch_id, status=status, updated_at=service.now())
    service.audit(
        self.store, user.name, self.address(request), action, batch=batch, totals=totals,
        comment=comment, approvals=f"{len(found.approvers)} of {found.needed}"
        if decision == "approved" else "",
    )  # fmt: skip
    event = {"approved": "batch_approved", "rejected": "batch_rejected",
             "sent_back": "batch_sent_back"}[decision]  # fmt: skip
    message = comment
    if status == "approving":  # one of several approvers: the others are told it still waits
        event = "batch_uploaded"
        message = f"Approved by {', '.join(found.approvers)}; {approvals.needs_words(found)}."
        message += f" {user.name}: {comment}" if comment else ""
    await run_in_threadpool(
        functools.partial(
            notices.batch_event, self.config, batch, event, by=user.name, comment=message,
            env=self.env, approvals=found,
        )
    )  # fmt: skip
    flash = {
        "approved": "Batch approved: it may run now." if status == "approved"
        else f"Your approval is recorded. {approvals.needs_words(found)}.",
        "rejected": "Batch rejected.",
        "sent_back": "Batch sent back to its preparer with your comment.",
    }[decision]  # fmt: skip
    self.flash(request, flash)
    return RedirectResponse(f"/batches/{batch.batch_id}", 303)
