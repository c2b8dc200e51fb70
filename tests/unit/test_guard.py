"""The Stripe guard (ledgerrun.send.guard): what it lists, from when, what it keeps, and what it
concludes about each row, on the fake client and store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from ledgerrun import errors
from ledgerrun.send import decide
from ledgerrun.send.guard import MARGIN, SWEEP, Guard, Want
from ledgerrun.store.model import SUCCEEDED
from ledgerrun.vocab import Status
from tests.helpers.constants import A, B, C
from tests.helpers.fakes import FakeClient, FakeStore, account, as_journal, movement
from tests.helpers.stages import ledger_job, prepared_online
from tests.helpers.store import intent

DAYS_90 = dt.timedelta(days=90)

RETRIES = 6  # the client tries each request six times
TIMED_OUT = errors.NetworkError("timed out", code="network_error").after(RETRIES)


def guard(client: FakeClient, store: FakeStore | None, **options: object) -> Guard:
    settings: dict[str, object] = {"group": "ledgerrun"}
    settings.update(options)
    return Guard(client, store, client.clock, **settings)  # type: ignore[arg-type]


def since_by_listing(client: FakeClient) -> dict[str, int]:
    """created_gte of every listing asked for, by the guard's name for it."""
    out = {}
    for call in client.calls:
        if call.method != "transfers":
            continue
        name = f"transfers:{call.subject}" if call.subject else "credits:ledgerrun"
        out[name] = call.kwargs["created_gte"]
    return out


def seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


# --- what is listed, and from when -------------------------------------------------------------


def test_one_listing_per_account_and_one_for_credits() -> None:
    client = FakeClient()
    made = guard(client, FakeStore())
    assert made.refresh([B, A, B]) == 3
    assert sorted(since_by_listing(client)) == [
        "credits:ledgerrun", f"transfers:{A}", f"transfers:{B}"]  # fmt: skip
    assert [c for c in client.calls if c.method == "charges"] == []  # capped at 100: never used


def test_the_first_listing_reaches_back_guard_days_by_stripes_clock() -> None:
    offset = dt.timedelta(minutes=7)  # Stripe's clock is ahead of ours
    client = FakeClient(server_offset=offset)
    guard(client, FakeStore(), guard_days=90, server_offset=lambda: offset).refresh([A])
    floor = seconds(client.clock.now() + offset - DAYS_90)
    assert set(since_by_listing(client).values()) == {floor}


def test_later_listings_start_just_before_their_high_water_mark() -> None:
    client, store = FakeClient(), FakeStore()
    future = seconds(client.clock.now()) + 600  # Stripe's newest object, ahead of our clock
    client.holds(movement("ADJ-1", account=A, created=future))
    guard(client, store).refresh([A])
    assert store.marks[f"transfers:{A}"] == future  # the newest object seen
    assert store.marks["credits:ledgerrun"] == seconds(client.clock.now())  # or now
    client.clock.advance(3600 * 24)
    client.calls.clear()
    guard(client, store).refresh([A, B])
    since = since_by_listing(client)
    assert since[f"transfers:{A}"] == future - MARGIN.total_seconds()
    assert since[f"transfers:{B}"] == seconds(client.clock.now() - DAYS_90)  # never listed


def test_a_mark_older_than_guard_days_reaches_back_guard_days_only() -> None:
    client, store = FakeClient(), FakeStore()
    store.marks[f"transfers:{A}"] = seconds(client.clock.now() - dt.timedelta(days=400))
    guard(client, store, guard_days=30).refresh([A])
    floor = seconds(client.clock.now() - dt.timedelta(days=30))
    assert since_by_listing(client)[f"transfers:{A}"] == floor


def test_an_old_pending_attempt_widens_every_listing() -> None:
    client, store = FakeClient(), FakeStore()
    store.marks[f"transfers:{A}"] = seconds(client.clock.now())
    long_ago = client.clock.now() - dt.timedelta(days=120)
    guard(client, store, guard_days=90).refresh([A, B], reach_back_to=long_ago)
    since = since_by_listing(client)
    assert set(since.values()) == {seconds(long_ago - MARGIN)}


# --- what is kept --------------------------------------------------------------------------------


def test_only_objects_ledgerrun_made_are_kept_and_a_mark_never_goes_back() -> None:
    client, store = FakeClient(), FakeStore()
    now = seconds(client.clock.now())
    client.holds(movement("ADJ-1", account=A, created=now - 50))
    client.holds(movement("HAND", account=A, created=now + 900, metadata={"note": "by hand"}))
    made = guard(client, store)
    made.refresh([A])
    assert [s.key for s in store.seen_.values()] == ["adj-1"] and made.listed == 1
    assert store.marks[f"transfers:{A}"] == now + 900  # seen, if not kept
    client.books.clear()
    guard(client, store).refresh([A])
    assert store.marks[f"transfers:{A}"] == now + 900


def test_a_read_only_guard_keeps_what_it_finds_to_itself() -> None:
    client, store = FakeClient(), FakeStore()
    client.holds(movement("ADJ-1", account=A))
    made = guard(client, store, writable=False)
    made.refresh([A])
    assert store.writes == [] and store.marks == {}
    assert list(made.objects(["adj-1"])) == ["adj-1"]


def test_without_a_store_the_guard_remembers_for_itself() -> None:
    client = FakeClient()
    client.holds(movement("ADJ-1", account=A))
    made = guard(client, None)
    made.refresh([A])
    assert made.verdicts([Want("adj-1", A, 100, "usd", "debit")]).found["adj-1"].account == A


# --- listings that fail --------------------------------------------------------------------------


def test_a_failed_account_listing_makes_only_that_accounts_rows_unsure() -> None:
    client, store = FakeClient(), FakeStore()
    client.script("transfers", TIMED_OUT, when=A)
    client.holds(movement("ADJ-2", account=B))
    made = guard(client, store)
    made.refresh([A, B])
    assert list(made.failed) == [f"transfers:{A}"] and "timed out" in made.failed[f"transfers:{A}"]
    assert f"transfers:{A}" not in store.marks and f"transfers:{B}" in store.marks
    assert made.unsure(Want("adj-1", A, 100, "usd", "debit"))
    assert not made.unsure(Want("adj-2", B, 100, "usd", "debit"))
    assert made.verdicts([Want("adj-2", B, 100, "usd", "debit")]).found  # the rest still known


def test_a_failed_platform_listing_makes_every_row_unsure() -> None:
    client = FakeClient()
    client.script(
        "transfers", errors.StripeServerError("500", code="api_error").after(RETRIES), when=None
    )
    made = guard(client, FakeStore())
    made.refresh([A])
    assert list(made.failed) == ["credits:ledgerrun"]
    assert made.unsure(Want("adj-1", A, 1, "usd", "debit"))
    assert made.unsure(Want("adj-2", B, 1, "usd", "credit"))


# --- verdicts ------------------------------------------------------------------------------------


def test_same_values_mean_done_other_values_mean_a_conflict() -> None:
    client, store = FakeClient(), FakeStore()
    now = client.clock.now()
    client.holds(movement("ADJ-1", account=A, created=now, transfer_id="tr_old"))
    client.holds(movement("ADJ-2", account=A, amount=999))
    client.holds(movement("ADJ-3", account=B, amount=100, direction="credit"))
    guard(client, store).refresh([A, B])
    client.clock.advance(60)  # a second copy of ADJ-1 appears, found by the next refresh
    client.holds(movement("ADJ-1", account=A, created=client.clock.now(), transfer_id="tr_new"))
    made = guard(client, store)
    made.refresh([A, B])
    wants = [
        Want("adj-1", A, 100, "usd", "debit"),
        Want("adj-2", A, 100, "usd", "debit"),
        Want("adj-3", B, 100, "usd", "debit"),  # Stripe holds a credit of it, not a debit
        Want("adj-4", A, 100, "usd", "debit"),
    ]
    verdicts = made.verdicts(wants)
    assert list(verdicts.found) == ["adj-1"]
    assert verdicts.found["adj-1"].transfer_id == "tr_new"  # the latest of the copies
    assert sorted(verdicts.conflicts) == ["adj-2", "adj-3"]


# --- through prepare and decide, as a run does it ------------------------------------------------


def test_a_row_already_in_stripe_is_found_and_not_sent_again(tmp_path: Path) -> None:
    client = FakeClient(accounts=[account(A), account(B)])
    made = client.holds(movement("ADJ-1", account=A, amount=150, job="other-job"))
    client.holds(movement("ADJ-2", account=B, amount=999))
    store = FakeStore()
    job = ledger_job(tmp_path, f"ADJ-1,{A},1.50,usd,,", f"ADJ-2,{B},2.00,usd,,",
                     f"ADJ-3,{A},3.00,usd,,", on_invalid="skip")  # fmt: skip
    prepared = prepared_online(job, client, store)
    assert list(prepared.found) == ["adj-1"]
    conflict = [p for p in prepared.validation.problems if p.code == "adjustment_conflict"]
    assert [(p.row, "already holds" in p.message) for p in conflict] == [(3, True)]
    plan = decide.rows(
        prepared, store=as_journal(store), run_id="run-1", dry_run=False, clock=client.clock
    )
    assert [i.key for i in plan.items] == ["adj-3"]  # only the new row is sent
    first = plan.outcomes[0]
    assert first is not None and first.status == Status.SUCCEEDED and first.earlier
    assert first.transfer_id == made.transfer_id
    assert store.adjustments["adj-1"].state == SUCCEEDED  # the journal learns it


def test_rows_pending_for_over_a_day_send_the_guard_back_to_their_attempt(
    tmp_path: Path,
) -> None:
    client, store = FakeClient(accounts=[account(A)]), FakeStore()
    attempted = client.clock.now() - dt.timedelta(days=200)
    old = dataclasses.replace(intent("adj-1", job="nightly", account=A, currency="usd",
                              amount_minor=100, attempted_at=attempted,
                              attempted_at_server=attempted))  # fmt: skip
    store.record_intent(old)
    prepared_online(ledger_job(tmp_path, f"ADJ-1,{A},1.00,usd,,", guard_days=90), client, store)
    assert set(since_by_listing(client).values()) == {seconds(attempted - MARGIN)}


def test_a_row_pending_for_less_than_a_day_does_not_ask_the_guard(tmp_path: Path) -> None:
    client, store = FakeClient(accounts=[account(A)]), FakeStore()
    store.record_intent(dataclasses.replace(
        intent("adj-1", account=A, currency="usd", amount_minor=100),
        attempted_at=client.clock.now(), attempted_at_server=client.clock.now()))  # fmt: skip
    prepared_online(ledger_job(tmp_path, f"ADJ-1,{A},1.00,usd,,"), client, store)
    assert client.calls == []  # resent under its own key: Stripe settles it


def test_a_listing_that_failed_leaves_its_rows_unguarded(tmp_path: Path) -> None:
    client = FakeClient(accounts=[account(A), account(C)])
    client.script("transfers", TIMED_OUT, when=C)
    job = ledger_job(tmp_path, f"ADJ-1,{A},1.00,usd,,", f"ADJ-2,{C},1.00,usd,,")
    prepared = prepared_online(job, client, FakeStore())
    assert list(prepared.unguarded) == ["adj-2"]


# --- the sweep: a store's first look at every connected account ----------------------------------


def test_a_store_that_never_swept_lists_every_connected_account_once() -> None:
    client = FakeClient(accounts=[account(A), account(B), account(C)])
    store, progress = FakeStore(), []
    made = guard(client, store, progress=lambda n, of: progress.append((n, of)))
    assert not made.swept
    assert made.refresh([A]) == 4  # A, and B and C for the sweep, and the credits
    assert sorted(since_by_listing(client)) == [
        "credits:ledgerrun", f"transfers:{A}", f"transfers:{B}", f"transfers:{C}"]  # fmt: skip
    # A tuple: mypy would hold made.swept to False, narrowed so by `assert not made.swept` above.
    assert (made.swept, SWEEP in store.marks) == (True, True)
    assert progress[0] == (0, 4) and progress[-1] == (4, 4) and len(progress) == 5
    client.calls.clear()
    again = guard(client, store)
    again.refresh([A])
    assert sorted(since_by_listing(client)) == ["credits:ledgerrun", f"transfers:{A}"]
    assert [c for c in client.calls if c.method == "accounts"] == []


def test_a_read_only_guard_never_sweeps() -> None:
    client = FakeClient(accounts=[account(A), account(B)])
    made = guard(client, FakeStore(), writable=False)
    made.refresh([A])
    assert sorted(since_by_listing(client)) == ["credits:ledgerrun", f"transfers:{A}"]
    assert not made.swept


def test_an_adjustment_moved_to_another_account_is_found_by_the_sweep() -> None:
    """ADJ-1 was debited from A by another job and store; the ledger now names B."""
    client = FakeClient(accounts=[account(A), account(B)])
    client.holds(movement("ADJ-1", account=A, amount=100, job="first"))
    made = guard(client, FakeStore())
    made.refresh([B])
    verdicts = made.verdicts([Want("adj-1", B, 100, "usd", "debit")])
    assert not verdicts.found
    assert [(o.account, o.job) for o in verdicts.conflicts["adj-1"]] == [(A, "first")]


def test_a_sweep_with_an_unanswered_listing_keeps_no_mark_and_guards_nothing() -> None:
    client = FakeClient(accounts=[account(A), account(B)])
    client.script("transfers", TIMED_OUT, when=B)  # only listed for the sweep
    store = FakeStore()
    made = guard(client, store)
    made.refresh([A])
    assert SWEEP not in store.marks  # the next run sweeps again
    assert made.unsure(Want("adj-1", A, 100, "usd", "debit"))  # B may hold A's rows' debits


def test_an_unanswered_account_list_guards_nothing() -> None:
    client = FakeClient(accounts=[account(A)])
    client.script("accounts", TIMED_OUT)
    store = FakeStore()
    made = guard(client, store)
    made.refresh([A])
    assert "accounts" in made.failed and SWEEP not in store.marks
    assert made.unsure(Want("adj-1", A, 100, "usd", "debit"))


# --- debits by charge: found by search, never by the capped listing ------------------------------


def test_debits_by_charge_beyond_a_hundred_are_found_by_search() -> None:
    client = FakeClient(accounts=[account(A)])
    for n in range(150):
        client.holds(movement(f"CH-{n:03d}", account=A, method="charge"))
    made = guard(client, FakeStore())
    made.refresh([A])
    assert len(made.objects(f"ch-{n:03d}" for n in range(150))) == 150
    (search,) = [c for c in client.calls if c.method == "search"]
    assert "metadata['ledgerrun_account']:'" + A + "'" in search.subject
    assert [c for c in client.calls if c.method == "charge"] == []  # search found them all


def test_a_charge_search_has_not_caught_up_with_is_fetched_by_id() -> None:
    """Search lags new charges by up to a minute; a charge made before ledgerrun_account
    existed carries none: the account's transfers still name its payment."""
    client = FakeClient(accounts=[account(A)])
    old = movement("CH-OLD", account=A, method="charge", metadata={
        "ledgerrun_job": "nightly", "ledgerrun_adjustment_id": "CH-OLD",
        "ledgerrun_run_date": "2026-11-26"})  # fmt: skip
    client.holds(old)
    client.holds(movement("CH-NEW", account=A, method="charge"))
    client.script("search", [])  # not searchable yet
    made = guard(client, FakeStore())
    made.refresh([A])
    found = made.objects(["ch-old", "ch-new"])
    assert sorted(found) == ["ch-new", "ch-old"] and found["ch-old"][0].account == A
    assert old.payment_id is not None
    assert sorted(c.subject for c in client.calls if c.method == "charge") == sorted(
        [old.payment_id, "py_chnew"]
    )


# --- another id_prefix ---------------------------------------------------------------------------


def test_the_same_job_id_and_values_under_another_prefix_are_found() -> None:
    client = FakeClient(accounts=[account(A)])
    client.holds(movement("ADJ-1", account=A, amount=100))  # no prefix
    client.holds(movement("ADJ-2", account=A, amount=100, job="other"))  # another job
    client.holds(movement("ADJ-3", account=A, amount=555))  # other values
    made = guard(client, FakeStore())
    made.refresh([A])
    wants = {Want(f"fin2:adj-{n}", A, 100, "usd", "debit"): f"adj-{n}" for n in (1, 2, 3, 4)}
    found = made.other_prefixes(wants, "nightly")
    assert list(found) == ["fin2:adj-1"] and found["fin2:adj-1"].key == "adj-1"
    memory = guard(client, None)  # the same without a store: from what it remembers
    memory.refresh([A])
    assert list(memory.other_prefixes(wants, "nightly")) == ["fin2:adj-1"]
