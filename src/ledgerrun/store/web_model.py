"""The web application's records, as the stores keep them: users, sessions, batches, decisions
on them, the audit trail, and the work the workers claim. Nothing that moves money reads them.
Their protocol is :class:`ledgerrun.store.model.WebRecords`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

ROLES = ("preparer", "approver", "admin")


@dataclass(frozen=True)
class User:
    name: str
    role: str  # "preparer" | "approver" | "admin"
    password_hash: str  # Argon2; "" for users known only through a single-sign-on proxy
    disabled: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class WebSession:
    """A session of the web application, kept on the server under the SHA-256 of the random id
    its (signed) cookie carries. Ended by signing out, a new password or disabling, or expiry."""

    session_key: str
    user: str
    address: str  # where it was signed in from
    started_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None = None
    ended_why: str = ""


@dataclass(frozen=True)
class Batch:
    """One uploaded ledger, its validation and what became of it."""

    batch_id: str
    job: str
    file_name: str  # as uploaded (shown only, never used as a path)
    sha256: str  # the stored file is uploads/<sha256>
    size: int
    uploaded_by: str
    uploaded_at: dt.datetime
    status: str  # uploaded | invalid | valid | approved | rejected | running | done
    rows: int
    summary: dict[str, Any]  # totals, problem counts, control total, at upload
    run_id: str | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class Approval:
    batch_id: str
    job: str
    decision: str  # "approved" | "rejected" | "sent_back" (to its preparer, with a comment)
    by: str
    at: dt.datetime
    sha256: str  # the ledger approved: any change is a new batch
    totals: dict[str, Any]  # the plan's totals approved
    comment: str = ""


@dataclass(frozen=True)
class AuditEvent:
    at: dt.datetime
    user: str
    address: str
    action: str  # sign_in, sign_in_failed, upload, approve, reject, run, reverse, reconcile...
    batch_id: str = ""
    sha256: str = ""
    detail: dict[str, Any] | None = None
    seq: int | None = None


@dataclass(frozen=True)
class BatchQuery:
    """Which batches to list: every field given holds (``file_name``: a part, any case)."""

    statuses: tuple[str, ...] = ()
    uploaded_by: str = ""
    job: str = ""
    file_name: str = ""
    since: dt.datetime | None = None  # uploaded at or after
    until: dt.datetime | None = None  # uploaded before


@dataclass(frozen=True)
class AuditQuery:
    """Which audit events to read: every field given holds (``since`` <= at < ``until``)."""

    user: str = ""
    actions: tuple[str, ...] = ()
    batch_id: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class WorkItem:
    """A run, reversal or reconcile asked for from the web, done by a worker."""

    work_id: str
    batch_id: str
    kind: str  # "run" | "reverse" | "reconcile"
    requested_by: str
    requested_at: dt.datetime
    state: str  # queued | running | done | failed
    params: dict[str, Any]
    worker: str = ""
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    exit_code: int | None = None
    progress: dict[str, Any] | None = None
    message: str = ""
    lease_until: dt.datetime | None = None  # while running: its worker renews it while alive
    history: list[dict[str, Any]] = field(default_factory=list)  # who had it, and when
