"""What the search forms ask for: batches (status, uploader, job, file name, upload dates), rows
of a ledger or of a run's results (account, adjustment id, amount from and to), and the audit
trail (user, action, batch, dates).

Each form's values come from the page's query string and go back into its links (pages, the
CSV export), so a filtered view can be shared and reloaded. Dates are days in the viewer's time
zone (the page's script sends it as ``tz``; UTC without it). Amounts are in each currency's own
units, as the pages show them (``1,000.50``), compared exactly.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun import money
from ledgerrun.clock import valid_zone
from ledgerrun.store.web_model import AuditQuery, BatchQuery

# The batch list's status choices: words, and the statuses each stands for.
BATCH_STATUSES: dict[str, tuple[str, tuple[str, ...]]] = {
    "waiting": ("Waiting for approval or a run", ("valid", "approving")),
    "approved": ("Approved", ("approved",)),
    "problems": ("Has problems", ("invalid", "uploaded")),
    "sent_back": ("Sent back", ("sent_back",)),
    "rejected": ("Rejected", ("rejected",)),
    "running": ("Running", ("running",)),
    "done": ("Run finished: every row sent", ("done",)),
    "failures": ("Run finished: some rows failed", ("done_with_failures",)),
    "unfinished": ("Run refused, incomplete or blocked",
                   ("run_refused", "run_incomplete", "run_busy", "failed")),
}  # fmt: skip
# The audit trail's actions, in words (the filter's choices; others show as written).
ACTIONS: dict[str, str] = {
    "sign_in": "Signed in",
    "sign_in_failed": "Sign-in failed",
    "sign_in_throttled": "Sign-in slowed down",
    "sign_out": "Signed out",
    "refused": "Refused",
    "upload": "Uploaded",
    "check": "Check with Stripe asked for",
    "check_end": "Checked with Stripe",
    "restore_upload": "Original file restored",
    "approve": "Approved",
    "reject": "Rejected",
    "send_back": "Sent back",
    "run": "Run started",
    "run_end": "Run ended",
    "reconcile": "Reconcile started",
    "reconcile_end": "Reconcile ended",
    "reverse_dry_run": "Reversal dry run",
    "reverse": "Reversal started",
    "reverse_end": "Reversal ended",
    "download": "Downloaded",
    "audit_export": "Audit trail exported",
    "user_added": "User added",
    "user_disabled": "User disabled",
    "user_enabled": "User enabled",
    "user_password": "Password changed",
    "user_role": "Role changed",
    "work_taken_over": "Work taken over",
}
_TEXT_CUT = 100


def _text(params: Mapping[str, str], name: str) -> str:
    return str(params.get(name, "")).strip()[:_TEXT_CUT]


def zone_of(params: Mapping[str, str]) -> str:
    """The viewer's time zone, as the page's script sent it (UTC when it did not)."""
    name = _text(params, "tz")
    return name if name and valid_zone(name) else "UTC"


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


def _bounds(
    params: Mapping[str, str], zone: str
) -> tuple[dt.datetime | None, dt.datetime | None, str]:
    """``from`` and ``to`` (days, both included) as moments in UTC; an error text for a day
    that is not one."""
    tz = zoneinfo.ZoneInfo(zone)
    start, end = _text(params, "from"), _text(params, "to")
    first, last = _day(start), _day(end)
    if (start and first is None) or (end and last is None):
        return None, None, "Dates are days such as 2026-11-30."
    since = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC) if first else None
    until = (
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
        if last
        else None
    )
    return since, until, ""


def _link(values: Mapping[str, str], *without: str) -> str:
    """The query string of a filter's values, empty ones (and those named) left out."""
    return urlencode({k: v for k, v in values.items() if v and k not in without})


class _Form:
    """What every search form shares: its values as typed, whether any is set (the viewer's
    time zone aside), and a link to the same search without some of them."""

    values: dict[str, str]

    @property
    def active(self) -> bool:
        return any(v for k, v in self.values.items() if k != "tz")

    def link(self, *without: str) -> str:
        return _link(self.values, *without)


@dataclass(frozen=True)
class BatchFilter(_Form):
    """The batch list's search form."""

    values: dict[str, str] = field(default_factory=dict)
    query: BatchQuery = field(default_factory=BatchQuery)
    error: str = ""

    @classmethod
    def read(cls, params: Mapping[str, str]) -> BatchFilter:
        names = ("status", "uploader", "job", "file", "from", "to", "tz")
        values = {n: _text(params, n) for n in names}
        status = values["status"] if values["status"] in BATCH_STATUSES else ""
        values["status"] = status
        since, until, error = _bounds(params, zone_of(params))
        query = BatchQuery(
            statuses=BATCH_STATUSES[status][1] if status else (),
            uploaded_by=values["uploader"],
            job=values["job"],
            file_name=values["file"],
            since=since,
            until=until,
        )
        return cls(values, query, error)


@dataclass(frozen=True)
class AuditFilter(_Form):
    """The audit trail's search form."""

    values: dict[str, str] = field(default_factory=dict)
    query: AuditQuery = field(default_factory=AuditQuery)
    error: str = ""

    @classmethod
    def read(cls, params: Mapping[str, str]) -> AuditFilter:
        names = ("user", "action", "batch", "from", "to", "tz")
        values = {n: _text(params, n) for n in names}
        since, until, error = _bounds(params, zone_of(params))
        query = AuditQuery(
            user=values["user"],
            actions=(values["action"],) if values["action"] else (),
            batch_id=values["batch"],
            since=since,
            until=until,
        )
        return cls(values, query, error)


def _amount(text: str) -> Decimal | None:
    """``1,000.50`` as an exact decimal; None for text that is not an amount."""
    cleaned = text.replace(",", "").replace(" ", "").replace("\u00a0", "")
    if not re.fullmatch(r"-?\d+(\.\d+)?|-?\.\d+", cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None


@dataclass(frozen=True)
class RowFilter(_Form):
    """The rows' search form: a part of the account or adjustment id (any letter case), and
    the amount from and to (each currency in its own units, both included)."""

    values: dict[str, str] = field(default_factory=dict)
    least: Decimal | None = None
    most: Decimal | None = None
    error: str = ""

    @classmethod
    def read(cls, params: Mapping[str, str]) -> RowFilter:
        values = {n: _text(params, n) for n in ("account", "id", "min", "max")}
        least, most = _amount(values["min"]), _amount(values["max"])
        bad = [values[n] for n, v in (("min", least), ("max", most)) if values[n] and v is None]
        error = f"Not an amount: {bad[0]!r} (write it as 1,000.50)." if bad else ""
        return cls(values, least, most, error)

    def mask(
        self, ids: pa.Array, accounts: pa.Array, minor: pa.Array, currencies: pa.Array
    ) -> pa.Array:
        """True for the rows the form asks for (rows whose amount could not be read never
        match an amount)."""
        keep = pa.array([True] * len(ids), pa.bool_())
        for column, text in ((accounts, self.values.get("account")),
                             (ids, self.values.get("id"))):  # fmt: skip
            if text:
                found = pc.match_substring(pc.cast(column, pa.string()), text, ignore_case=True)
                keep = pc.and_(keep, pc.fill_null(found, False))
        if self.least is None and self.most is None:
            return keep
        within = pa.array([False] * len(ids), pa.bool_())
        for code in pc.unique(pc.drop_null(currencies)).to_pylist():
            try:
                scale = Decimal(10) ** money.exponent(str(code))
            except KeyError:
                continue
            here = pc.equal(currencies, code)
            if self.least is not None:
                here = pc.and_(here, pc.greater_equal(minor, _bound(self.least * scale, up=True)))
            if self.most is not None:
                here = pc.and_(here, pc.less_equal(minor, _bound(self.most * scale, up=False)))
            within = pc.or_(within, pc.fill_null(here, False))
        return pc.and_(keep, within)


def _bound(value: Decimal, *, up: bool) -> int:
    """A bound in minor units as a whole number: a fraction of a cent rounds inward."""
    whole = int(value)
    if value != whole and up and value > 0:
        return whole + 1
    if value != whole and not up and value < 0:
        return whole - 1
    return whole
