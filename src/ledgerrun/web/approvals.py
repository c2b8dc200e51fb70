"""Where a batch stands under its job's approval policy (:mod:`ledgerrun.approval_policy`), for
the batch pages, the worker and the notices: who has approved it, how many approvers it needs
(by the job's ``[approval]`` rules, from the totals being approved), and what its status is
once a decision is recorded.

The decisions counted are the batch's own (``store.approvals(batch_id)``): approvals of the same
file in another batch never add up. ``ledgerrun run`` counts those of the batch last decided on
(:func:`ledgerrun.send.approval.ledger_standing`).
"""

from __future__ import annotations

from ledgerrun.approval_policy import Standing, counted, standing
from ledgerrun.store.model import Store
from ledgerrun.store.web_model import Batch
from ledgerrun.web.service import Review

# The statuses a batch has while it waits for, or has had, its decisions.
WAITING = ("valid", "approving")
DECIDED = ("approved", "rejected", "sent_back")


def of_review(store: Store, batch: Batch, review: Review) -> Standing:
    """The batch's standing under its job's policy as the job file says it now."""
    return standing(
        review.job.policy, review.totals(), store.approvals(batch.batch_id), batch.uploaded_by
    )


def of_summary(store: Store, batch: Batch) -> Standing:
    """The batch's standing from what was recorded at its upload (when its ledger cannot be
    read now): the approvers it needed then, and the approvals given for its totals then."""
    summary = batch.summary
    needed = summary.get("approvers_needed")
    if not isinstance(needed, int):
        needed = 1 if summary.get("approval") == "required" else 0
    totals = summary.get("totals") or {}
    return counted(needed, totals, store.approvals(batch.batch_id), batch.uploaded_by)


def status_after(found: Standing) -> str:
    """A batch's status once its decisions are ``found``."""
    if found.ended:
        return found.ended
    if found.approved and found.approvers:
        return "approved"
    return "approving" if found.approvers else "valid"


def needs_words(found: Standing) -> str:
    """``Needs 1 more approval (1 of 2)``, for a batch still waiting."""
    if found.needed <= 0 or found.ended or found.approved:
        return ""
    more = found.missing
    approvals = "approval" if more == 1 else "approvals"
    if found.needed == 1:
        return "Waiting for an approver"
    return f"Needs {more} more {approvals} ({len(found.approvers)} of {found.needed})"
