"""What a run would do: the valid rows grouped by account, currency and direction.

A plan sends nothing. Per group it shows the rows, their total, how many are already done (by an
earlier run, or found in Stripe's books by the guard), how many are left, and (when online) the
account's available balance in the group's currency, looked up for every account of the ledger.

Whether a debit group is short is worked out in one place, :func:`shortfalls`, the way the run
sends: one account's rows in ledger order. Starting from the account's available balance, each
credit left to send adds to it and each debit left to send takes from it; the group is short by
the most the balance would go below zero just after one of its debits (a credit after a debit
does not cover it). Rows already done count for nothing: their money is in the balance already.
A shortfall is never negative, and a group with nothing left to do is never short. A short
debit fails unless the platform's reserves cover it. Credits are paid from the platform's
balance: :meth:`Plan.credits_short` compares it with the credits left.

Totals are exact sums per currency, debits and credits apart, and their net. ``plan`` (text and
JSON), the Python API and the web application's batch page all show these same figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ledgerrun.control_total import ControlTotal
from ledgerrun.errors import ExitCode
from ledgerrun.send.prepare import Prepared
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
    available: int | None = None  # the account's available balance in the currency, when looked up
    shortfall_minor: int = 0  # debits: how far the balance falls short of them (see shortfalls)

    @property
    def short(self) -> bool:
        """True when the account's balance cannot cover the debits left to send."""
        return self.shortfall_minor > 0


Balances = Mapping[tuple[str, str], int]


def shortfalls(
    rows: Iterable[tuple[str, str, str, int]], available: Balances
) -> dict[tuple[str, str], int]:
    """(account, currency) -> by how much the account's balance falls short of its debits.

    ``rows`` are the rows left to send, in ledger order, as (account, currency, direction,
    amount in minor units); ``available`` is each account's available balance per currency
    (accounts not in it are not checked). Each credit adds to the balance the debits after it
    will find; each debit takes from it. The shortfall is the deepest the balance goes below
    zero just after a debit, so it is never negative; accounts that are never short are left out.
    """
    balance: dict[tuple[str, str], int] = {}
    short: dict[tuple[str, str], int] = {}
    for account, currency, direction, amount in rows:
        key = (account, currency)
        if key not in available:
            continue
        credit = direction == Direction.CREDIT
        now = balance.get(key, available[key]) + (amount if credit else -amount)
        balance[key] = now
        if not credit and now < 0:
            short[key] = max(short.get(key, 0), -now)
    return short


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
        """The plan for programs, amounts in minor units. Online, each group also has
        ``available`` (the account's balance), ``short`` and ``shortfall_minor``, and the plan
        the platform's balance and its shortfall for the credits left."""
        keys = ("account", "currency", "direction", "rows", "amount_minor", "done", "todo")
        groups = []
        for group in self.groups:
            item = {k: v for k, v in asdict(group).items() if k in keys}
            if group.available is not None:
                item["available"] = group.available
                item["short"] = group.short
                item["shortfall_minor"] = group.shortfall_minor
            groups.append(item)
        control = getattr(self.prepared.validation, "control_total", None)
        platform: dict[str, Any] = {}
        if self.platform_available is not None:
            platform = {
                "platform_available_minor": dict(sorted(self.platform_available.items())),
                "credits_short_minor": self.credits_short(),
            }
        return {
            "valid": self.valid,
            "groups": groups,
            "totals": self.totals,
            "credit_totals": self.credit_totals,
            "net": self.net,
            "problems": [p.to_json() for p in self.prepared.validation.problems],
            "control_total": None if control is None else control_json(control),
            "consent_checked": self.prepared.job.consent_registry is not None,
            **platform,
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
    available: Balances | None = None,
    platform_available: dict[str, int] | None = None,
) -> Plan:
    """Group the valid rows. ``available`` maps (account, currency) to the account's available
    balance, for the accounts looked up; ``platform_available`` is the platform's, per currency."""
    v = prepared.validation
    sums: dict[tuple[str, str, str], list[int]] = {}
    left: list[tuple[str, str, str, int]] = []  # the rows left to send, in ledger order
    for account, currency, direction, amount, ok, finished in zip(
        v.account.to_pylist(),
        v.currency.to_pylist(),
        prepared.directions,
        v.amount_minor.to_pylist(),
        v.valid.to_pylist(),
        prepared.done(),
        strict=True,
    ):
        if not ok or amount is None:
            continue
        entry = sums.setdefault((account, currency, direction), [0, 0, 0, 0])
        entry[0] += 1
        entry[1] += int(amount)
        entry[2] += int(finished)
        if not finished:
            entry[3] += int(amount)
            left.append((account, currency, direction, int(amount)))
    short = shortfalls(left, available or {})
    groups = []
    for (account, currency, direction), (rows, total, finished, todo_minor) in sorted(sums.items()):
        key = (account, currency)
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
                None if available is None else available.get(key),
                short.get(key, 0) if direction == Direction.DEBIT else 0,
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
    """The plan with balances: every account's of the ledger (whether or not rows are left to
    send for it), and the platform's when credits are left to send."""
    plan = build_plan(prepared)
    accounts = sorted({g.account for g in plan.groups})
    balances = look_up(session, accounts)
    platform = None
    if any(g.direction == Direction.CREDIT and g.todo for g in plan.groups):
        platform = session.client.available(None)
    return build_plan(prepared, balances_of(plan.groups, balances), platform)


def look_up(session: Session, accounts: Sequence[str]) -> dict[str, dict[str, int]]:
    """Each account's available balance per currency, ``concurrency`` accounts at a time."""
    if not accounts:
        return {}
    workers = max(1, min(session.job.stripe.concurrency, len(accounts)))
    with ThreadPoolExecutor(workers) as pool:
        return dict(zip(accounts, pool.map(session.client.available, accounts), strict=True))


def balances_of(groups: Iterable[Group], balances: Mapping[str, Mapping[str, int]]) -> Balances:
    """(account, currency) -> available, for each group whose account was looked up (a currency
    Stripe lists no balance in holds 0 there)."""
    return {
        (g.account, g.currency): int(balances[g.account].get(g.currency, 0))
        for g in groups
        if g.account in balances
    }


def shortfall_text(group: Group) -> str:
    """The warning for a group whose balance is short of what is left to send."""
    return (
        f"short by {money_text(group.shortfall_minor, group.currency)}; fails unless the "
        "platform's reserves cover it"
    )
