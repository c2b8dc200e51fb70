"""What a run would do: the valid rows grouped by account and currency.

A plan sends nothing. Per group it shows the rows, their total, how many the journal already holds
as done, how many are left, and (when the accounts were looked up) the available balance, with a
warning when it is short of what is left to debit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun.ingest.validate import Validation
from ledgerrun.job import Job

if TYPE_CHECKING:
    from ledgerrun.stripe.session import Session


@dataclass(frozen=True)
class Group:
    """The rows of one account in one currency."""

    account: str
    currency: str
    rows: int
    amount_minor: int
    done: int
    todo: int
    todo_minor: int
    available: int | None = None

    @property
    def short(self) -> bool:
        """True when the account's available balance cannot cover what is left to debit."""
        return self.available is not None and self.available < self.todo_minor


@dataclass
class Plan:
    validation: Validation
    groups: list[Group]
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.validation.ok

    def to_json(self) -> dict[str, Any]:
        keys = ("account", "currency", "rows", "amount_minor", "done", "todo")
        groups = []
        for group in self.groups:
            item = {k: v for k, v in asdict(group).items() if k in keys}
            if group.available is not None:
                item["available"] = group.available
                item["short"] = group.short
            groups.append(item)
        return {
            "valid": self.valid,
            "groups": groups,
            "totals": self.totals,
            "problems": [p.to_json() for p in self.validation.problems],
        }


def build_plan(
    validation: Validation,
    done: pa.Array | None = None,
    available: Mapping[tuple[str, str], int] | None = None,
) -> Plan:
    """Group the valid rows. ``done`` marks rows the journal holds as succeeded;
    ``available`` maps (account, currency) to the available balance in minor units."""
    n = validation.rows
    done = done if done is not None else pa.array([False] * n, pa.bool_())
    table = pa.table(
        {
            "account": validation.account,
            "currency": validation.currency,
            "amount_minor": validation.amount_minor,
            "done": pc.cast(done, pa.int64()),
            "todo_minor": pc.if_else(done, 0, validation.amount_minor),
        }
    ).filter(validation.valid)
    summary = table.group_by(["account", "currency"], use_threads=False).aggregate(
        [
            ("amount_minor", "count"),
            ("amount_minor", "sum"),
            ("done", "sum"),
            ("todo_minor", "sum"),
        ]
    )
    summary = summary.sort_by([("account", "ascending"), ("currency", "ascending")])
    groups = []
    for row in summary.to_pylist():
        key = (row["account"], row["currency"])
        count, done_count = row["amount_minor_count"], row["done_sum"]
        groups.append(
            Group(
                account=key[0],
                currency=key[1],
                rows=count,
                amount_minor=row["amount_minor_sum"],
                done=done_count,
                todo=count - done_count,
                todo_minor=row["todo_minor_sum"],
                available=None if available is None else available.get(key),
            )
        )
    totals: dict[str, int] = {}
    for group in groups:
        totals[group.currency] = totals.get(group.currency, 0) + group.amount_minor
    return Plan(validation, groups, dict(sorted(totals.items())))


def plan_job(job: Job, env: Mapping[str, str], *, offline: bool) -> Plan:
    """Validate (and unless ``offline``, pre-flight) the job, then plan it from the ledger and
    the journal. Online, each group's available balance is shown too. Sends nothing."""
    from ledgerrun.ingest.validate import blocking_problems, check
    from ledgerrun.send.preflight import earlier_entries, run_preflight
    from ledgerrun.store import sqlite as jr

    validation = check(job)
    earlier = earlier_entries(job, validation)
    done_ids = [a for a, e in earlier.items() if e.state == jr.SUCCEEDED]
    if offline or blocking_problems(validation):
        return build_plan(validation, _marked(validation, done_ids))
    from ledgerrun.stripe.session import connect  # imports the Stripe SDK: only when going online

    with connect(job, env) as session:
        run_preflight(job, session, validation, earlier)
        plan = build_plan(validation, _marked(validation, done_ids))
        balances = _balances(session, sorted({g.account for g in plan.groups}))
    available = {
        (g.account, g.currency): balances[g.account].get(g.currency, 0) for g in plan.groups
    }
    return build_plan(validation, _marked(validation, done_ids), available)


def _marked(validation: Validation, ids: list[str]) -> pa.Array:
    return pc.is_in(validation.adjustment_id, value_set=pa.array(ids, pa.string()))


def _balances(session: Session, accounts: list[str]) -> dict[str, dict[str, int]]:
    """Each account's available balance, fetched ``concurrency`` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def fetch(account: str) -> dict[str, int]:
        return session.caller.call(lambda: session.gateway.available(account))

    with ThreadPoolExecutor(session.job.stripe.concurrency) as pool:
        return dict(zip(accounts, pool.map(fetch, accounts), strict=True))
