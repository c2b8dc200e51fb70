"""The approval check of a run: a job whose policy asks for approvers runs only a ledger they
approved, byte for byte (its SHA-256) and figure for figure (the plan's totals).

The same totals are what the web application shows an approver and records with the decision
(:func:`totals_of`), so ``ledgerrun run`` and a run from the page agree on what was approved.
The policy itself (how many approvers, by amount) is :mod:`ledgerrun.approval_policy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledgerrun import compute as pc
from ledgerrun.approval_policy import Standing, standing
from ledgerrun.errors import ConfigError

if TYPE_CHECKING:  # a run of a job with no approval policy builds no plan
    from ledgerrun.job import Job
    from ledgerrun.send.plan import Plan
    from ledgerrun.send.prepare import Prepared
    from ledgerrun.store.model import Store


def totals_of(plan: Plan) -> dict[str, Any]:
    """What an approval binds besides the file: the valid rows, the debits and the credits per
    currency, and their net."""
    valid = plan.prepared.validation.valid
    rows = int(pc.sum(valid).as_py() or 0) if len(valid) else 0
    return {
        "rows": rows,
        "debits": dict(plan.totals),
        "credits": dict(plan.credit_totals),
        "net": dict(plan.net),
    }


def ledger_standing(job: Job, totals: dict[str, Any], sha256: str, store: Store) -> Standing:
    """Where this ledger stands under the job's policy: the decisions of the batch last decided
    on for exactly this file (a rejection or send-back of it ends its approval)."""
    decisions = store.decisions(job.name, sha256)
    if not decisions:
        return standing(job.policy, totals, [])
    batch_id = decisions[-1].batch_id
    batch = store.batch(batch_id)
    own = [d for d in decisions if d.batch_id == batch_id]
    return standing(job.policy, totals, own, batch.uploaded_by if batch else "")


def check(job: Job, prepared: Prepared, store: Store) -> None:
    """Refuse (ConfigError, exit 2: nothing sent) a ledger its approvers have not approved."""
    policy = job.policy
    if not policy.any:
        return
    from ledgerrun.send.plan import build_plan

    totals = totals_of(build_plan(prepared))
    needed = policy.needed(totals)
    if not needed:
        return
    sha256 = prepared.validation.ledger.sha256
    found = ledger_standing(job, totals, sha256, store)
    if found.approved:
        return
    what = f"ledger {prepared.validation.ledger.path.name} (SHA-256 {sha256[:12]}...)"
    people = "1 approver" if needed == 1 else f"{needed} distinct approvers"
    why = "; ".join(policy.reasons(totals))
    if found.ended:
        words = "rejected" if found.ended == "rejected" else "sent back to its preparer"
        raise ConfigError(
            f"job {job.name} cannot run {what}: it was {words} by {found.ended_by}. Upload the "
            "corrected ledger for a new approval"
        )
    if found.stale and not found.approvers:
        raise ConfigError(
            f"job {job.name} cannot run {what}: its plan's totals are no longer those approved by "
            f"{', '.join(found.stale)}. Upload the ledger again for a new approval"
        )
    so_far = (
        f" so far only {', '.join(found.approvers)} approved it"
        if found.approvers
        else " nobody has approved it yet"
    )
    raise ConfigError(
        f"job {job.name} needs {people} before it runs {what} ({why});{so_far}. Approvers (never "
        "the person who uploaded it) approve it in the web application (ledgerrun serve). Any "
        "change to the file needs a new approval"
    )
