"""The plan's balances and shortfalls (ledgerrun.send.plan) on the fake client: every account's
balance looked up, credits counted before the debits they cover in ledger order, rows done not
counted again, and never a negative shortfall; the same figures in the text, the JSON and the
Python API's result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledgerrun.api.results import PlanResult
from ledgerrun.output import text
from ledgerrun.send.plan import Plan, plan_online, shortfalls
from tests.helpers.constants import A, B
from tests.helpers.fakes import FakeClient, FakeStore, account, movement
from tests.helpers.stages import fake_session, ledger_job, prepared_online


def planned(tmp_path: Path, client: FakeClient, *rows: str) -> Plan:
    """``ledgerrun plan`` (online) of a ledger of ``rows`` against the fake client."""
    job = ledger_job(tmp_path, *rows)
    prepared = prepared_online(job, client, FakeStore(), writable=False)
    return plan_online(prepared, fake_session(job, client))


def fake(balances: dict[str | None, dict[str, int]]) -> FakeClient:
    client = FakeClient(accounts=[account(A), account(B)])
    client.balances.update(balances)
    return client


def group(plan: Plan, account_id: str, direction: str = "debit", currency: str = "usd") -> Any:
    (found,) = [
        g
        for g in plan.groups
        if (g.account, g.direction, g.currency) == (account_id, direction, currency)
    ]
    return found


def json_group(plan: Plan, account_id: str, direction: str = "debit") -> dict[str, Any]:
    (found,) = [
        g
        for g in plan.to_json()["groups"]
        if (g["account"], g["direction"]) == (account_id, direction)
    ]
    return dict(found)


# --- balances for every group -------------------------------------------------------------------


def test_a_group_with_nothing_left_to_do_shows_the_accounts_real_balance(tmp_path: Path) -> None:
    client = fake({A: {"usd": 7_516_289}, B: {"usd": 50_000}})
    client.holds(movement("ADJ-1", account=A, amount=1_000))
    client.holds(movement("ADJ-2", account=A, amount=2_000))
    plan = planned(
        tmp_path, client,
        f"ADJ-1,{A},10.00,usd,debit,transfer",
        f"ADJ-2,{A},20.00,usd,debit,transfer",
        f"ADJ-3,{B},30.00,usd,debit,transfer",
    )  # fmt: skip
    done = group(plan, A)
    assert (done.todo, done.todo_minor) == (0, 0)
    assert done.available == 7_516_289  # Stripe's figure, not a placeholder 0
    assert not done.short and done.shortfall_minor == 0
    assert json_group(plan, A) == {
        "account": A, "currency": "usd", "direction": "debit", "rows": 2,
        "amount_minor": 3_000, "done": 2, "todo": 0,
        "available": 7_516_289, "short": False, "shortfall_minor": 0,
    }  # fmt: skip
    assert {c.subject for c in client.sent("available")} >= {A, B}
    shown = text.plan(plan, 50)
    assert "75,162.89" in shown and "short by" not in shown


def test_every_account_of_the_ledger_is_looked_up_credits_too(tmp_path: Path) -> None:
    client = fake({A: {"usd": 1_234}, B: {"usd": 98_765}, None: {"usd": 10_000_000}})
    plan = planned(tmp_path, client, f"C-1,{B},5.00,usd,credit,", f"D-1,{A},1.00,usd,debit,")
    credit = group(plan, B, "credit")
    assert credit.available == 98_765 and not credit.short
    assert json_group(plan, B, "credit")["available"] == 98_765
    assert plan.to_json()["platform_available_minor"] == {"usd": 10_000_000}
    assert plan.to_json()["credits_short_minor"] == {}


def test_a_currency_stripe_lists_no_balance_in_holds_zero_and_is_short(tmp_path: Path) -> None:
    client = fake({A: {"eur": 50_000}})
    plan = planned(tmp_path, client, f"D-1,{A},12.34,usd,debit,transfer")
    debit = group(plan, A)
    assert debit.available == 0 and debit.shortfall_minor == 1_234


def test_offline_nothing_is_looked_up_and_nothing_is_short(tmp_path: Path) -> None:
    from ledgerrun.send.plan import build_plan
    from ledgerrun.send.prepare import prepare

    job = ledger_job(tmp_path, f"D-1,{A},99999.00,usd,debit,transfer")
    plan = build_plan(prepare(job, None))
    (only,) = plan.groups
    assert only.available is None and not only.short
    assert set(plan.to_json()["groups"][0]) == {
        "account", "currency", "direction", "rows", "amount_minor", "done", "todo",
    }  # fmt: skip
    assert "platform_available_minor" not in plan.to_json()


# --- credits before the debits they cover -------------------------------------------------------


def test_a_credit_earlier_in_the_ledger_covers_a_later_debit(tmp_path: Path) -> None:
    client = fake({A: {"usd": 1_000}, None: {"usd": 1_000_000}})
    plan = planned(tmp_path, client, f"C-1,{A},50.00,usd,credit,", f"D-1,{A},55.00,usd,debit,")
    debit = group(plan, A)
    assert debit.available == 1_000 and debit.todo_minor == 5_500
    assert not debit.short and debit.shortfall_minor == 0  # 10.00 + 50.00 - 55.00 = 5.00 left
    assert json_group(plan, A)["short"] is False
    assert "short by" not in text.plan(plan, 50)


def test_a_credit_after_the_debit_does_not_cover_it(tmp_path: Path) -> None:
    client = fake({A: {"usd": 1_000}, None: {"usd": 1_000_000}})
    plan = planned(tmp_path, client, f"D-1,{A},55.00,usd,debit,", f"C-1,{A},50.00,usd,credit,")
    debit = group(plan, A)
    assert debit.short and debit.shortfall_minor == 4_500
    found = json_group(plan, A)
    assert (found["available"], found["short"], found["shortfall_minor"]) == (1_000, True, 4_500)
    assert "short by 45.00 USD; fails unless reserves cover it" in text.plan(plan, 50)


def test_the_shortfall_is_the_deepest_the_balance_goes_after_a_debit(tmp_path: Path) -> None:
    client = fake({A: {"usd": 1_000}, None: {"usd": 1_000_000}})
    plan = planned(
        tmp_path, client,
        f"C-1,{A},30.00,usd,credit,",   # 10 -> 40
        f"D-1,{A},50.00,usd,debit,",    # 40 -> -10: short by 10
        f"C-2,{A},100.00,usd,credit,",  # -10 -> 90
        f"D-2,{A},60.00,usd,debit,",    # 90 -> 30
        f"D-3,{A},45.00,usd,debit,",    # 30 -> -15: short by 15, the deepest
    )  # fmt: skip
    assert group(plan, A).shortfall_minor == 1_500


def test_credits_cover_only_their_own_account_and_currency(tmp_path: Path) -> None:
    client = fake({A: {"usd": 0, "eur": 0}, B: {"usd": 0}, None: {"usd": 10**9, "eur": 10**9}})
    plan = planned(
        tmp_path, client,
        f"C-1,{B},100.00,usd,credit,",  # another account's credit
        f"C-2,{A},100.00,eur,credit,",  # another currency's credit
        f"D-1,{A},20.00,usd,debit,",
    )  # fmt: skip
    assert group(plan, A).shortfall_minor == 2_000


def test_shortfalls_directly() -> None:
    rows = [
        (A, "usd", "credit", 500),
        (A, "usd", "debit", 400),
        (B, "usd", "debit", 100),
        (A, "usd", "debit", 300),  # 100 + 500 - 400 - 300 = -100
        ("acct_unlooked", "usd", "debit", 10**6),  # not looked up: not checked
    ]
    assert shortfalls(rows, {(A, "usd"): 100, (B, "usd"): 100}) == {(A, "usd"): 100}
    assert shortfalls([], {(A, "usd"): -50}) == {}  # nothing to send: never short
    assert shortfalls([(A, "usd", "debit", 10)], {(A, "usd"): -50}) == {(A, "usd"): 60}


# --- rows done ------------------------------------------------------------------------------------


def test_after_a_run_rows_done_are_not_counted_again_and_nothing_is_negative(
    tmp_path: Path,
) -> None:
    client = fake({A: {"usd": 1_000}})
    client.holds(movement("D-1", account=A, amount=1_993_674))
    plan = planned(tmp_path, client, f"D-1,{A},19936.74,usd,debit,transfer")
    debit = group(plan, A)
    assert (debit.todo, debit.available, debit.shortfall_minor) == (0, 1_000, 0)
    assert json_group(plan, A)["shortfall_minor"] == 0
    shown = text.plan(plan, 50)
    assert "short by" not in shown and "lacks the available balance" not in shown


def test_a_credit_already_done_is_in_the_balance_and_not_counted_twice(tmp_path: Path) -> None:
    client = fake({A: {"usd": 1_000}, None: {"usd": 1_000_000}})
    client.holds(movement("C-1", account=A, amount=5_000, direction="credit"))
    plan = planned(tmp_path, client, f"C-1,{A},50.00,usd,credit,", f"D-1,{A},55.00,usd,debit,")
    assert group(plan, A, "credit").todo == 0
    assert group(plan, A).shortfall_minor == 4_500


def test_only_the_debits_left_count_when_some_are_done(tmp_path: Path) -> None:
    client = fake({A: {"usd": 1_000}})
    client.holds(movement("D-1", account=A, amount=50_000))
    plan = planned(
        tmp_path, client, f"D-1,{A},500.00,usd,debit,transfer", f"D-2,{A},12.00,usd,debit,"
    )
    debit = group(plan, A)
    assert (debit.done, debit.todo_minor, debit.shortfall_minor) == (1, 1_200, 200)


# --- the platform's balance for credits -------------------------------------------------------


def test_the_platforms_shortfall_for_credits_counts_only_credits_left(tmp_path: Path) -> None:
    client = fake({A: {"usd": 0}, B: {"usd": 0}, None: {"usd": 3_000}})
    client.holds(movement("C-1", account=A, amount=4_000, direction="credit"))
    plan = planned(tmp_path, client, f"C-1,{A},40.00,usd,credit,", f"C-2,{B},50.00,usd,credit,")
    assert plan.credits_short() == {"usd": 2_000}
    assert plan.to_json()["credits_short_minor"] == {"usd": 2_000}
    assert "short of the credits left by 20.00 USD" in text.plan(plan, 50)


# --- the Python API's result: the same figures ------------------------------------------------


@pytest.mark.parametrize("order", ["credit first", "debit first"])
def test_the_python_apis_groups_carry_the_same_figures(tmp_path: Path, order: str) -> None:
    client = fake({A: {"usd": 1_000}, None: {"usd": 1_000_000}})
    rows = [f"C-1,{A},50.00,usd,credit,", f"D-1,{A},55.00,usd,debit,"]
    plan = planned(tmp_path, client, *(rows if order == "credit first" else rows[::-1]))
    result = PlanResult(plan.exit_code, plan.prepared.job, plan)
    frame = result.groups.set_index(["account", "direction"])
    debit = frame.loc[(A, "debit")]
    want = 0 if order == "credit first" else 4_500
    assert int(debit["shortfall_minor"]) == want == group(plan, A).shortfall_minor
    assert bool(debit["short"]) is (want > 0)
    assert int(debit["available"]) == 1_000
    assert int(frame.loc[(A, "credit")]["available"]) == 1_000
