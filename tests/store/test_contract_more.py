"""The store contract, continued: reversals, and the web application's records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import threading
import zlib
from pathlib import Path

import pytest

from ledgerrun.errors import JournalError
from ledgerrun.store.model import FAILED, PENDING, SUCCEEDED, ReversalEntry, Seen, Store
from ledgerrun.store.web_model import Approval, AuditEvent, Batch, User, WorkItem
from ledgerrun.store.web_users_sql import WebUsers
from tests.helpers.store import T0


def reversal(key: str = "adj-1", **changes: object) -> ReversalEntry:
    entry = ReversalEntry(
        key=key, reversal_id=key.upper(), adjustment_key="adj-1", adjustment_id="ADJ-1",
        job="nightly", run_date="2026-11-27", direction="debit", account="acct_1Abc",
        transfer_id="tr_1", context="acct_1Abc", currency="usd", amount_minor=500,
        reason="duplicate", state=PENDING, generation=0,
        idempotency_key=f"ledgerrun.v2:reversal:0:{key}", request={"amount": 500}, attempts=0,
        attempted_at=T0, attempted_at_server=T0, run_id="rev-1",
    )  # fmt: skip
    return dataclasses.replace(entry, **changes)  # type: ignore[arg-type]


def test_reversals_keep_intents_and_outcomes_like_adjustments(store: Store) -> None:
    store.record_reversal_intent(reversal())
    store.record_reversal_intent(reversal("part-2", amount_minor=100))
    store.record_reversal_success(
        "adj-1", run_id="rev-1", reversal_object_id="trr_1", request_id="req_1",
        completed_at=T0, attempts=1,
    )  # fmt: skip
    store.record_reversal_unknown(
        "part-2", run_id="rev-1", error_code="network_error", error_message="lost",
        request_id=None, attempts=1,
    )  # fmt: skip
    got = store.reversal_entries(["adj-1", "part-2", "nope"])
    assert got["adj-1"].state == SUCCEEDED and got["adj-1"].reversal_object_id == "trr_1"
    assert got["part-2"].state == PENDING and got["part-2"].error_code == "network_error"
    assert [r.key for r in store.reversals_of(["adj-1"])["adj-1"]] == ["adj-1", "part-2"]
    assert {r.key for r in store.iter_reversals("nightly")} == {"adj-1", "part-2"}
    with pytest.raises(JournalError, match="must not be sent again"):
        store.record_reversal_intent(reversal(generation=1, idempotency_key="k"))
    with pytest.raises(JournalError, match="higher generation"):
        store.record_reversal_intent(reversal("part-2", request={"amount": 200}))
    store.record_reversal_failure(
        "part-2", run_id="rev-2", error_code="balance_insufficient", error_message="m",
        request_id=None, completed_at=T0,
    )  # fmt: skip
    assert store.reversal_entries(["part-2"])["part-2"].state == FAILED
    assert store.entries(["adj-1"]) == {}  # reversals are not adjustments


def user(name: str = "ana", role: str = "preparer") -> User:
    return User(name, role, "$argon2id$x", False, T0)


def test_users_are_added_changed_and_never_doubled(store: Store) -> None:
    store.add_user(user())
    store.add_user(user("bo", "approver"))
    with pytest.raises(JournalError, match="already a user ana"):
        store.add_user(user())
    with pytest.raises(JournalError, match="unknown role"):
        store.add_user(user("cy", "owner"))
    store.update_user("ana", disabled=True, password_hash="$argon2id$y")
    assert store.user("ana") == User("ana", "preparer", "$argon2id$y", True, T0)
    assert [u.name for u in store.users()] == ["ana", "bo"] and store.user("zed") is None
    with pytest.raises(JournalError, match="no user zed"):
        store.update_user("zed", role="admin")


def test_failed_sign_ins_are_counted_by_name_or_address(store: Store) -> None:
    for n in range(3):
        store.record_signin("ana", "10.0.0.1", False, T0 + dt.timedelta(seconds=n))
    store.record_signin("ana", "10.0.0.1", True, T0 + dt.timedelta(seconds=5))
    store.record_signin("bo", "10.0.0.9", False, T0 + dt.timedelta(seconds=6))
    assert isinstance(store, WebUsers)  # failed_signins is the SQL stores', not the protocol's
    assert store.failed_signins("ana", "10.0.0.5", T0 - dt.timedelta(1)) == 3
    assert store.failed_signins("cy", "10.0.0.9", T0) == 1
    assert store.failed_signins("ana", "x", T0 + dt.timedelta(seconds=1)) == 1


def batch(batch_id: str = "b1", **changes: object) -> Batch:
    made = Batch(batch_id, "nightly", "Nov.xlsx", "ab" * 32, 1234, "ana", T0, "valid", 240,
                 {"totals": {"usd": 100}})  # fmt: skip
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


def test_batches_approvals_and_the_approval_of_a_ledger(store: Store) -> None:
    store.add_batch(batch())
    store.add_batch(batch("b2", uploaded_at=T0 + dt.timedelta(hours=1), sha256="cd" * 32))
    store.update_batch("b1", status="approved", run_id="r1", updated_at=T0)
    with pytest.raises(JournalError, match="cannot change sha256"):
        store.update_batch("b1", sha256="ef" * 32)  # a changed file is a new batch
    assert store.batch("b1") == batch(status="approved", run_id="r1", updated_at=T0)
    assert [b.batch_id for b in store.batches()] == ["b2", "b1"]  # newest first
    assert store.approval_for("nightly", "ab" * 32) is None
    yes = Approval("b1", "nightly", "approved", "bo", T0, "ab" * 32, {"usd": 100}, "ok")
    store.add_approval(yes)
    assert store.approvals("b1") == [yes]
    assert store.approval_for("nightly", "ab" * 32) == yes
    assert store.approval_for("weekly", "ab" * 32) is None
    later = dataclasses.replace(yes, decision="rejected", at=T0 + dt.timedelta(minutes=5))
    store.add_approval(later)
    assert store.approval_for("nightly", "ab" * 32) is None  # the latest decision counts


def test_the_audit_trail_only_grows_and_reads_newest_first(store: Store) -> None:
    seqs = [
        store.add_audit(AuditEvent(T0, "ana", "10.0.0.1", action, "b1", "ab", {"n": n}))
        for n, action in enumerate(["sign_in", "upload", "approve"])
    ]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    events = store.audit_events()
    assert [e.action for e in events] == ["approve", "upload", "sign_in"]
    assert events[0].detail == {"n": 2} and events[0].seq == seqs[2]
    assert [e.action for e in store.audit_events(before=seqs[2])] == ["upload", "sign_in"]


def test_two_workers_never_claim_the_same_work(store: Store) -> None:
    for n in range(20):
        store.enqueue(
            WorkItem(f"w{n}", "b1", "run", "bo", T0 + dt.timedelta(seconds=n), "queued", {})
        )
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (item := store.claim_work(name, T0)) is not None:
            with lock:
                claimed.append(item.work_id)

    threads = [threading.Thread(target=worker, args=(f"host-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(f"w{n}" for n in range(20))
    store.update_work("w3", state="done", exit_code=0, progress={"rows": 5}, ended_at=T0)
    item = store.work_item("w3")
    assert item is not None and (item.state, item.exit_code, item.progress) == (
        "done",
        0,
        {"rows": 5},
    )
    assert len(store.work_items("b1")) == 20 and store.claim_work("late", T0) is None


def test_every_run_keeps_its_files(store: Store) -> None:
    data = b"row,adjustment_id\n" + b"2,a\n" * 10_000
    store.save_run_file("run-1", "results.csv", data)
    store.save_run_file("run-1", "summary.json", b"{}")
    store.save_run_file("run-2", "results.csv", b"other")
    store.save_run_file("run-1", "summary.json", b'{"v": 2}')  # written again: replaced
    assert store.run_file("run-1", "results.csv") == data
    assert store.run_file("run-1", "summary.json") == b'{"v": 2}'
    assert store.run_file_names("run-1") == ["results.csv", "summary.json"]
    assert store.run_file("run-3", "results.csv") is None and store.run_file_names("run-3") == []


def test_a_parquet_file_is_kept_as_it_is_from_bytes_or_a_file_and_older_copies_read(
    store: Store, tmp_path: Path
) -> None:
    """A Parquet file (a run's own rows) compresses its own pages: it is kept as given, read
    from a file a piece at a time where the store can. Other files are kept compressed, and so
    were a run's rows before 3.0.0: those read back as before."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    rows = pa.table({"adjustment_id": [f"ADJ-{n:07d}" for n in range(50_000)]})
    pq.write_table(rows, sink, compression="zstd")
    parquet = sink.getvalue()
    with (tmp_path / "rows.parquet").open("w+b") as file:
        file.write(parquet)
        file.seek(0)
        store.save_run_file("run-1", "rows.parquet", file)
    text = b"row,adjustment_id\n" + b"2,a\n" * 10_000
    store.save_run_file("run-1", "results.csv", io.BytesIO(text))
    store.save_run_file("run-2", "rows.parquet", parquet)
    assert store.run_file("run-1", "rows.parquet") == parquet
    assert store.run_file("run-2", "rows.parquet") == parquet
    assert store.run_file("run-1", "results.csv") == text

    def kept(run_id: str, name: str) -> bytes:
        with store._tx("read a kept file") as conn:  # type: ignore[attr-defined]
            sql = "SELECT data FROM run_files WHERE run_id = ? AND name = ?"
            (data,) = conn.execute(sql, (run_id, name)).fetchone()
        return bytes(data)

    assert kept("run-1", "rows.parquet") == parquet  # not compressed again
    assert zlib.decompress(kept("run-1", "results.csv")) == text
    with store._tx("keep a file as 2.x did", write=True) as conn:  # type: ignore[attr-defined]
        conn.execute(
            "INSERT INTO run_files (run_id, name, data) VALUES (?, ?, ?)",
            ("run-old", "rows.parquet", zlib.compress(parquet, 6)),
        )
    assert store.run_file("run-old", "rows.parquet") == parquet


# --- what the guard finds under another id_prefix (issue 21) -------------------------------------


def test_objects_are_found_by_their_id_under_any_prefix_and_an_allowed_prefix_is_kept(
    store: Store,
) -> None:
    def seen(object_id: str, key: str, bare: str) -> Seen:
        return Seen(object_id, key, bare.upper(), "nightly", "2026-11-26", "debit", "transfer",
                    "acct_1", 500, "usd", 1_700_000_000, object_id, "", 0, bare)  # fmt: skip

    plain, old, other = (
        seen("tr_1", "inv-7", "inv-7"),
        seen("tr_2", "fin1:inv-7", "inv-7"),
        seen("tr_3", "inv-8", "inv-8"),
    )
    store.record_listing("transfers:acct_1", [plain, old, other], 100, T0)
    found = store.seen_bare(["inv-7", "inv-9"])
    assert sorted(s.key for s in found["inv-7"]) == ["fin1:inv-7", "inv-7"] and "inv-9" not in found
    assert store.seen_bare(["inv-8"])["inv-8"] == [other]
    assert store.allowed_prefix("nightly") is None
    store.allow_prefix("nightly", "fin2")
    store.allow_prefix("nightly", "fin3")
    assert (store.allowed_prefix("nightly"), store.allowed_prefix("other")) == ("fin3", None)
