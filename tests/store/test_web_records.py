"""The store contract for the web application's newer records, on every store: every decision on
a ledger, server-side sessions, sign-in failures by name, address and browser, and batches and
audit events found by what people search for."""

from __future__ import annotations

import dataclasses
import datetime as dt

from ledgerrun.store.model import Store
from ledgerrun.store.web_model import (
    Approval,
    AuditEvent,
    AuditQuery,
    Batch,
    BatchQuery,
    User,
    WebSession,
)
from ledgerrun.store.web_users_sql import WebUsers
from tests.helpers.store import T0

HOUR = dt.timedelta(hours=1)


def test_every_decision_on_a_ledger_oldest_first(store: Store) -> None:
    yes = Approval("b1", "nightly", "approved", "ada", T0, "ab" * 32, {"rows": 1}, "")
    back = dataclasses.replace(yes, decision="sent_back", by="bo", at=T0 + HOUR, comment="fix")
    other = dataclasses.replace(yes, job="weekly", at=T0 + 2 * HOUR)
    for decision in (back, yes, other):
        store.add_approval(decision)
    assert store.decisions("nightly", "ab" * 32) == [yes, back]
    assert store.decisions("nightly", "cd" * 32) == []


def session(key: str, user: str = "ana", **changes: object) -> WebSession:
    made = WebSession(key, user, "10.0.0.1", T0, T0 + 8 * HOUR)
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


def test_sessions_end_on_sign_out_a_new_password_and_disabling(store: Store) -> None:
    store.add_user(User("ana", "preparer", "h", False, T0))
    store.add_user(User("bo", "approver", "h", False, T0))
    for key, user in (("k1", "ana"), ("k2", "ana"), ("k3", "bo"), ("k4", "bo")):
        store.add_session(session(key, user))
    assert store.web_session("k1") == session("k1")
    assert store.web_session("nope") is None
    store.end_session("k1", T0 + HOUR, "signed out")
    ended = store.web_session("k1")
    assert ended is not None and ended.ended_at == T0 + HOUR and ended.ended_why == "signed out"
    store.end_session("k1", T0 + 2 * HOUR, "again")  # an ended session stays as it ended
    assert store.web_session("k1") == ended
    assert [s.session_key for s in store.open_sessions(T0)] == ["k2", "k3", "k4"]
    assert store.open_sessions(T0 + 9 * HOUR) == []  # expired
    store.update_user("ana", password_hash="new")
    assert store.web_session("k2").ended_why == "the password was changed"  # type: ignore[union-attr]
    store.update_user("bo", role="admin")  # a new role keeps the sessions
    assert store.web_session("k3").ended_at is None  # type: ignore[union-attr]
    store.update_user("bo", disabled=True)
    assert store.web_session("k3").ended_why == "the user was disabled"  # type: ignore[union-attr]
    store.add_session(session("k5", "bo"))
    assert store.end_sessions("bo", T0, "by an administrator") == 1


def test_sign_in_failures_by_name_address_and_browser(store: Store) -> None:
    at = [T0 + dt.timedelta(seconds=n) for n in range(10)]
    store.record_signin("ana", "10.0.0.1", False, at[0])
    store.record_signin("ana", "10.0.0.2", False, at[1], "browser-1")
    store.record_signin("ana", "10.0.0.1", True, at[2])
    store.record_signin("bo", "10.0.0.1", False, at[3])
    assert store.signin_failures(T0 - HOUR, name="ana") == (2, at[1])
    assert store.signin_failures(T0 - HOUR, name="ana", device="") == (1, at[0])
    assert store.signin_failures(T0 - HOUR, address="10.0.0.1", device="") == (2, at[3])
    assert store.signin_failures(T0 - HOUR, name="ana", device="browser-1") == (1, at[1])
    assert store.signin_failures(at[3], name="bo") == (0, None)  # after ``since`` only
    assert isinstance(store, WebUsers)  # failed_signins is the SQL stores', not the protocol's
    assert store.failed_signins("ana", "10.0.0.9", T0 - HOUR) == 2  # the older question


def batch(batch_id: str, **changes: object) -> Batch:
    made = Batch(batch_id, "nightly", "November.xlsx", "ab" * 32, 10, "ana", T0, "valid", 2, {})
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


def test_batches_are_found_by_status_uploader_job_name_and_date(store: Store) -> None:
    store.add_batch(batch("b1"))
    store.add_batch(batch("b2", uploaded_at=T0 + HOUR, status="approved", uploaded_by="bo"))
    store.add_batch(batch("b3", uploaded_at=T0 + 2 * HOUR, job="weekly", file_name="Dec_50%.csv"))

    def found(**query: object) -> list[str]:
        return [b.batch_id for b in store.batches(query=BatchQuery(**query))]  # type: ignore[arg-type]

    assert found() == ["b3", "b2", "b1"]
    assert found(statuses=("valid",)) == ["b3", "b1"]
    assert found(statuses=("approved", "rejected")) == ["b2"]
    assert found(uploaded_by="bo") == ["b2"] and found(job="weekly") == ["b3"]
    assert found(file_name="NOVEMBER") == ["b2", "b1"]  # a part of the name, any letter case
    assert found(file_name="_50%") == ["b3"] and found(file_name="%") == ["b3"]  # taken literally
    assert found(file_name="r_") == []  # "_" is no wildcard: "er." would match one
    assert found(since=T0 + HOUR) == ["b3", "b2"] and found(until=T0 + HOUR) == ["b1"]
    assert [b.batch_id for b in store.batches(limit=1)] == ["b3"]


def test_the_audit_trail_is_found_by_user_action_batch_and_date(store: Store) -> None:
    events = [
        AuditEvent(T0, "ana", "10.0.0.1", "sign_in"),
        AuditEvent(T0 + HOUR, "ana", "10.0.0.1", "upload", "b1", "ab"),
        AuditEvent(T0 + 2 * HOUR, "bo", "10.0.0.2", "refused", "b1", "ab", {"why": "four eyes"}),
        AuditEvent(T0 + 3 * HOUR, "bo", "10.0.0.2", "approve", "b2", "cd"),
    ]
    seqs = [store.add_audit(e) for e in events]

    def found(before: int | None = None, **query: object) -> list[str]:
        got = store.audit_events(before=before, query=AuditQuery(**query))  # type: ignore[arg-type]
        return [e.action for e in got]

    assert found(user="bo") == ["approve", "refused"]
    assert found(actions=("refused", "sign_in")) == ["refused", "sign_in"]
    assert found(batch_id="b1") == ["refused", "upload"]
    assert found(since=T0 + HOUR, until=T0 + 3 * HOUR) == ["refused", "upload"]
    assert found(before=seqs[3], user="bo") == ["refused"]


def test_each_web_record_has_a_field_for_each_column_of_its_table() -> None:
    """The stores decode a row into its record by position, and a work item's changeable
    fields are its table's columns (store/web_sql.py): they must not drift apart."""
    from ledgerrun.store import schema
    from ledgerrun.store.web_model import WorkItem

    tables = {
        Batch: schema.BATCH_COLUMNS,
        Approval: schema.APPROVAL_COLUMNS,  # by -> by_user
        AuditEvent: schema.AUDIT_COLUMNS,  # user -> username
        WorkItem: schema.WORK_COLUMNS,
        User: schema.USER_COLUMNS,
        WebSession: schema.SESSION_COLUMNS,
    }
    for record, columns in tables.items():
        assert len(dataclasses.fields(record)) == len(columns), record
    assert [f.name for f in dataclasses.fields(WorkItem)] == list(schema.WORK_COLUMNS)
