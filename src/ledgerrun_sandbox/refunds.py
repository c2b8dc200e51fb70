"""Refunds of payments from another Stripe account: ``POST``/``GET /v1/refunds``.

The documented way to undo an account debit is to refund the platform's payment (``py_``):
Stripe pays the money back from the platform's balance and reverses the connected account's
transfer that created the payment; the refund names that reversal in
``source_transfer_reversal`` ("only present if the charge came from another Stripe account").
The same works the other way round: a connected account refunding the payment a credit made
reverses the platform's transfer.

A refund is ``succeeded`` at once, or ``pending`` for ``refund_settle_s`` seconds of the sandbox
clock (``--refund-settle-s``). While pending, the money has left the refunding account's
available balance and waits in the paid-back account's ``pending`` balance; when the refund
succeeds it becomes available. The payment's ``amount_refunded`` counts pending refunds too, so
nothing can be refunded twice.

Refused while validating (never saved under an idempotency key): unknown parameters, a charge
this account does not hold (400 ``resource_missing``). Refused while executing (saved): a fully
refunded charge (``charge_already_refunded``), more than is left (``param: amount``), a refunding
account that cannot cover it (``balance_insufficient``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledgerrun_sandbox import params as p
from ledgerrun_sandbox.accounts import Account
from ledgerrun_sandbox.errors import (
    ApiError,
    invalid_request,
    money,
    parameter_missing,
    resource_missing,
)
from ledgerrun_sandbox.objects import JsonObject
from ledgerrun_sandbox.rules import REFUND_REASONS
from ledgerrun_sandbox.state import PendingRefund, SandboxState
from ledgerrun_sandbox.wire import Params

_CREATE = frozenset(
    {"amount", "charge", "metadata", "reason", "refund_application_fee", "reverse_transfer"}
) | {"expand"}


@dataclass(frozen=True)
class RefundParams:
    charge: str
    amount: int | None  # None: all that is left
    metadata: dict[str, str]
    reason: str | None


def refund_create(params: Params) -> RefundParams:
    """The parameters of ``POST /v1/refunds``, checked in a fixed order."""
    p.only(params, _CREATE)
    if "charge" not in params:
        raise parameter_missing("charge")
    charge = p.required_string(params["charge"], "charge")
    amount = p.amount(params["amount"]) if "amount" in params else None
    reason = p.optional_string(params.get("reason"), "reason")
    if reason is not None and reason not in REFUND_REASONS:
        raise invalid_request(
            "reason",
            f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}.",
        )
    for flag in ("refund_application_fee", "reverse_transfer"):
        p.boolean(params.get(flag), flag)
    return RefundParams(charge, amount, p.metadata(params.get("metadata")), reason)


def create(state: SandboxState, owner: Account, query: RefundParams) -> JsonObject:
    """Refund ``query.charge`` (a payment ``owner`` holds); the caller holds the state lock."""
    payment = owner.charges.get(query.charge)
    if payment is None:  # validated before; kept for type safety
        raise resource_missing("charge", query.charge, "charge", status=400)
    currency = payment["currency"]
    left = payment["amount"] - payment["amount_refunded"]
    if left <= 0:
        raise ApiError(
            400,
            f"Charge {payment['id']} has already been refunded.",
            code="charge_already_refunded",
        )
    amount = left if query.amount is None else query.amount
    if amount > left:
        raise ApiError(
            400,
            f"Refund amount ({money(amount, currency)}) is greater than unrefunded amount on "
            f"charge ({money(left, currency)})",
            param="amount",
        )
    source = state.find_account(payment["source"]["id"])
    transfer = source.transfers.get(payment["source_transfer"]) if source else None
    if source is None or transfer is None:  # cannot happen: every payment has its transfer
        raise resource_missing("charge", query.charge, "charge", status=400)
    refund_id = state.ids.new("re")
    pending = state.refund_settle_s > 0
    reversal = state.reverse_transfer(
        source, transfer, amount, {}, refund_id=refund_id, pending=pending
    )
    now = state.clock.now()
    refund: JsonObject = {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": state.ids.new("txn"),
        "charge": payment["id"],
        "created": int(now),
        "currency": currency,
        "metadata": dict(query.metadata),
        "payment_intent": None,
        "reason": query.reason,
        "receipt_number": None,
        "source_transfer_reversal": reversal["id"],
        "status": "pending" if pending else "succeeded",
        "transfer_reversal": None,
    }
    if pending:
        refund["pending_reason"] = "processing"
        state.pending_refunds.append(
            PendingRefund(owner, refund_id, source, now + state.refund_settle_s)
        )
    owner.refunds.append(refund)
    return refund


def settle_due(state: SandboxState) -> int:
    """Let every pending refund whose time has come succeed; how many did. The caller holds the
    state lock."""
    if not state.pending_refunds:
        return 0
    now = state.clock.now()
    due = [r for r in state.pending_refunds if r.due <= now]
    for pending in due:
        refund = pending.owner.refunds.get(pending.refund_id)
        if refund is None:  # cannot happen
            continue
        currency, amount, paid = refund["currency"], refund["amount"], pending.paid
        paid.pending[currency] = paid.pending.get(currency, 0) - amount
        paid.balance[currency] = paid.balance.get(currency, 0) + amount
        settled = {k: v for k, v in refund.items() if k != "pending_reason"}
        pending.owner.refunds.replace({**settled, "status": "succeeded"})
    state.pending_refunds[:] = [r for r in state.pending_refunds if r.due > now]
    return len(due)


def refunds_of(owner: Account, charge_id: str) -> list[JsonObject]:
    """The refunds of one payment, newest first."""
    return [r for r in owner.refunds.newest_first() if r["charge"] == charge_id]


def embedded(owner: Account, charge: JsonObject) -> JsonObject:
    """A charge's ``refunds`` list (shown when expanded): its ten latest refunds."""
    every = refunds_of(owner, charge["id"])
    return {
        "object": "list",
        "data": every[:10],
        "has_more": len(every) > 10,
        "url": f"/v1/charges/{charge['id']}/refunds",
    }
