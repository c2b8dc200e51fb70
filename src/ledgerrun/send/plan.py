"""What a run would do: the valid rows grouped by account, currency and direction.

A plan sends nothing. Per group it shows the rows, their total, how many are already done (by an
earlier run, or found in Stripe's books by the guard), how many are left, and (when online) the
balance that must cover what is left: the account's for debits, with a warning when it is short
(it fails unless the platform's reserves cover it), and the platform's for credits. Totals are
exact sums per currency, debits and credits apart, and their net.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ledgerrun.errors import ExitCode
from ledgerrun.send.prepare import Prepared
from ledgerrun.summary import ControlTotal
from ledgerrun.vocab import Direction, money_text

if TYPE_CHECKING:  # the Stripe SDK is imported only by commands that send
    from ledgerrun.stripe.session import Session


@dataclass(frozen=True)
class Group:
    """The rows of one account in one currency and direction."""

    account: str
    currency: str
    direction: str
    rows: int
    amount_minor: int
    done: int
    todo: int
    todo_minor: int
    available: int | None = None  # the paying side's available balance, when looked up

    @property
    def short(self) -> bool:
        """True when the paying side cannot cover what is left to send."""
        return self.available is not None and self.available < self.todo_minor


@dataclass
class Plan:
    prepared: Prepared
    groups: list[Group]
    totals: dict[str, int] = field(default_factory=dict)  # debits, per currency
    credit_totals: dict[str, int] = field(default_factory=dict)
    platform_available: dict[str, int] | None = None

    @property
    def valid(self) -> bool:
        return self.prepared.validation.ok

    @property
    def exit_code(self) -> ExitCode:
        """What ``plan`` exits with: 0 when the ledger is valid, 2 when it is not."""
        return ExitCode.OK if self.valid else ExitCode.INVALID

    @property
    def net(self) -> dict[str, int]:
        """Debits less credits, per currency: what the platform gains."""
        currencies = sorted(set(self.totals) | set(self.credit_totals))
        return {c: self.totals.get(c, 0) - self.credit_totals.get(c, 0) for c in currencies}

    def credits_short(self) -> dict[str, int]:
        """Currency -> by how much the platform's balance is short of the credits left."""
        if self.platform_available is None:
            return {}
        left: dict[str, int] = {}
        for g in self.groups:
            if g.direction == Direction.CREDIT:
                left[g.currency] = left.get(g.currency, 0) + g.todo_minor
        return {
            c: need - self.platform_available.get(c, 0)
            for c, need in left.items()
            if need > self.platform_available.get(c, 0)
        }

    def to_json(self) -> dict[str, Any]:
        keys = ("account", "currency", "direction", "rows", "amount_minor", "done", "todo")
        groups = []
        for group in self.groups:
            item = {k: v for k, v in asdict(group).items() if k in keys}
            if group.available is not None:
                item["available"] = group.available
                item["short"] = group.short
            groups.append(item)
        control = getattr(self.prepared.validation, "control_total", None)
        return {
            "valid": self.valid,
            "groups": groups,
            "totals": self.totals,
            "credit_totals": self.credit_totals,
            "net": self.net,
            "problems": [p.to_json() for p in self.prepared.validation.problems],
            "control_total": None if control is None else control_json(control),
            "consent_checked": self.prepared.job.consent_registry is not None,
        }


def control_json(control: ControlTotal) -> dict[str, Any]:
    """The control total as ``plan --format json`` and the web application show it: the figures
    the check used (what the line states, what the rows come to each way, and on what basis)."""
    return {
        "row": control.row,
        "stated": control.stated,
        "computed": control.computed,
        "matches": control.matches,
        "currency": control.currency,
        "basis": control.basis,
        "debits": control.debits,
        "credits": control.credits,
        "stated_credits": control.stated_credits,
        "uncounted": control.uncounted,
        "described": control.describe(),
    }


def build_plan(
    prepared: Prepared,
    available: Mapping[tuple[str, str], int] | None = None,
    platform_available: dict[str, int] | None = None,
) -> Plan:
    """Group the valid rows. ``available`` maps (account, currency) to the account's available
    balance; ``platform_available`` is the platform's, per currency."""
    v = prepared.validation
    done = prepared.done()
    sums: dict[tuple[str, str, str], list[int]] = {}
    for account, currency, direction, amount, ok, finished in zip(
        v.account.to_pylist(),
        v.currency.to_pylist(),
        prepared.directions,
        v.amount_minor.to_pylist(),
        v.valid.to_pylist(),
        done,
        strict=True,
    ):
        if not ok or amount is None:
            continue
        entry = sums.setdefault((account, currency, direction), [0, 0, 0, 0])
        entry[0] += 1
        entry[1] += int(amount)
        entry[2] += int(finished)
        entry[3] += 0 if finished else int(amount)
    groups = []
    for (account, currency, direction), (rows, total, finished, todo_minor) in sorted(sums.items()):
        balance = None
        if direction == Direction.DEBIT and available is not None:
            balance = available.get((account, currency), 0)
        groups.append(
            Group(
                account,
                currency,
                direction,
                rows,
                total,
                finished,
                rows - finished,
                todo_minor,
                balance,
            )
        )
    debit: dict[str, int] = {}
    credit: dict[str, int] = {}
    for g in groups:
        into = credit if g.direction == Direction.CREDIT else debit
        into[g.currency] = into.get(g.currency, 0) + g.amount_minor
    return Plan(
        prepared, groups, dict(sorted(debit.items())), dict(sorted(credit.items())),
        platform_available,
    )  # fmt: skip


def plan_online(prepared: Prepared, session: Session) -> Plan:
    """The plan with balances: each debited account's, and the platform's for credits."""
    plan = build_plan(prepared)
    accounts = sorted({g.account for g in plan.groups if g.direction == Direction.DEBIT and g.todo})
    workers = max(1, min(session.job.stripe.concurrency, len(accounts) or 1))
    with ThreadPoolExecutor(workers) as pool:
        balances = dict(zip(accounts, pool.map(session.client.available, accounts), strict=True))
    available = {
        (g.account, g.currency): balances[g.account].get(g.currency, 0)
        for g in plan.groups
        if g.account in balances
    }
    platform = None
    if any(g.direction == Direction.CREDIT and g.todo for g in plan.groups):
        platform = session.client.available(None)
    return build_plan(prepared, available, platform)


def shortfall_text(group: Group) -> str:
    """The warning for a group whose balance is short of what is left to send."""
    short = group.todo_minor - (group.available or 0)
    return (
        f"short by {money_text(short, group.currency)}; fails unless the platform's reserves "
        "cover it"
    )
