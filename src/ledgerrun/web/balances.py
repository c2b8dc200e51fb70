"""The balances Stripe reported when a batch was checked, and the batch page's plan from them.

The check (a work item, :meth:`ledgerrun.web.worker.Worker.check`) looks up every account of
the ledger and the platform, as ``ledgerrun plan`` does, and keeps Stripe's figures in the
batch's summary. The batch page then builds the plan of the moment with those balances, by the
same computation as ``ledgerrun plan`` (:func:`ledgerrun.send.plan.build_plan`): what is short
counts the ledger's credits before the debits they cover, and rows done since the check (by a
run of the batch) are not counted again, so a shortfall is never negative.
"""

from __future__ import annotations

from typing import Any

from ledgerrun.send.plan import Plan, build_plan
from ledgerrun.send.prepare import Prepared


def saved(plan: Plan) -> dict[str, Any]:
    """What a check keeps of an online plan: each account's available balance per currency
    (minor units), and the platform's (None when no credit was left to pay)."""
    balances: dict[str, dict[str, int]] = {}
    for g in plan.groups:
        if g.available is not None:
            balances.setdefault(g.account, {})[g.currency] = g.available
    platform = plan.platform_available
    return {"balances": balances, "platform": None if platform is None else dict(platform)}


def checked_plan(prepared: Prepared, online: dict[str, Any]) -> Plan | None:
    """The plan of ``prepared`` with the balances of the batch's last check (None when it was
    never checked with Stripe)."""
    available: dict[tuple[str, str], int] = {}
    if isinstance(online.get("balances"), dict):
        for account, by_currency in online["balances"].items():
            for currency, amount in by_currency.items():
                available[(account, currency)] = int(amount)
    elif online.get("groups"):
        # a check made before the balances were kept: only the groups with rows left then had
        # their balance looked up (the others showed a 0 that was not Stripe's)
        for g in online["groups"]:
            if g.get("available") is not None and g.get("todo"):
                available[(g["account"], g["currency"])] = int(g["available"])
    else:
        return None
    platform = online.get("platform")
    return build_plan(
        prepared, available, {c: int(v) for c, v in platform.items()} if platform else None
    )
