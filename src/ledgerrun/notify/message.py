"""One notification: an event, its JSON body (what a webhook receives, signed) and the short text
that Slack and email show.

The body has the fields of SPEC 15.4 that apply to the event, in this order::

    {"event", "id", "job", "run_date", "run_id", "exit_code", "counts", "totals", "results",
     "batch", "by", "at", ...}

``id`` is the same for every try of one notification (a receiver can drop a repeat), and ``at``
(ISO 8601 UTC) is inside the signed body, so a receiver can refuse an old one replayed. ``totals``
are per currency, direction and status, in minor units (cents), named so:
``{"usd": {"debit": {"requested_minor": 150000, "succeeded_minor": 150000, ...}}}``. Fields that
do not apply are left out, never sent as ``null``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledgerrun.clock import iso
from ledgerrun.errors import ExitCode
from ledgerrun.scrub import scrub
from ledgerrun.vocab import money_text

Totals = Mapping[str, Mapping[str, Mapping[str, int]]]  # currency -> direction -> status -> minor

_TITLES = {
    "batch_uploaded": "needs approval",
    "batch_approved": "approved",
    "batch_rejected": "rejected",
    "batch_sent_back": "sent back to its preparer",
}


@dataclass(frozen=True)
class Notification:
    """What happened, in plain values; :meth:`body` is the JSON a webhook receives."""

    event: str
    job: str
    at: dt.datetime
    run_date: str | None = None
    run_id: str | None = None
    exit_code: int | None = None
    counts: Mapping[str, int] | None = None
    totals: Totals | None = None
    results: str | None = None
    batch: Mapping[str, Any] | None = None
    by: str | None = None
    message: str | None = None  # why a run stopped early, or a decision's comment
    discrepancies: Mapping[str, int] | None = None  # reconcile: how many of each kind
    id: str = field(default_factory=lambda: secrets.token_hex(8))

    def body(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "event": self.event,
            "id": self.id,
            "job": self.job,
            "run_date": self.run_date,
            "run_id": self.run_id,
            "exit_code": self.exit_code,
            "counts": dict(self.counts) if self.counts is not None else None,
            "totals": minor_totals(self.totals) if self.totals is not None else None,
            "results": self.results,
            "batch": dict(self.batch) if self.batch is not None else None,
            "by": self.by,
            "at": iso(self.at),
            "message": scrub(self.message) if self.message else None,
            "discrepancies": dict(self.discrepancies) if self.discrepancies else None,
        }
        return {k: v for k, v in fields.items() if v is not None}

    def payload(self) -> bytes:
        """The exact bytes sent (and signed): compact JSON in UTF-8."""
        return json.dumps(self.body(), ensure_ascii=False, separators=(",", ":")).encode()

    # --- for people ----------------------------------------------------------------------------

    def subject(self) -> str:
        """One line: a mail's subject, Slack's first line."""
        where = f"job {self.job}" + (f", run date {self.run_date}" if self.run_date else "")
        if self.event == "run_end":
            code = self.exit_code if self.exit_code is not None else "?"
            return f"ledgerrun {where}: the run ended with exit {code}{self._counts_line(', ')}"
        if self.event == "reconcile_discrepancy":
            found = sum((self.discrepancies or {}).values())
            return f"ledgerrun {where}: reconcile found {found} discrepanc" + (
                "y" if found == 1 else "ies"
            )
        batch = self.batch or {}
        title = _TITLES.get(self.event, self.event)
        return f"ledgerrun {where}: batch {batch.get('id', '?')} {title}"

    def text(self, web_url: str | None = None) -> str:
        """A few lines for people (Slack's message, an email's body); no secret, no markup."""
        lines = [self.subject()]
        if self.exit_code is not None and self.event == "run_end":
            try:
                lines.append(f"Exit {self.exit_code}: {ExitCode(self.exit_code).meaning}.")
            except ValueError:
                lines.append(f"Exit {self.exit_code}.")
        for currency, directions in sorted((self.totals or {}).items()):
            for direction, by_status in sorted(directions.items()):
                done = by_status.get("succeeded", 0)
                asked = by_status.get("requested", 0)
                lines.append(
                    f"{direction.capitalize()}s in {currency.upper()}: "
                    f"{money_text(done, currency)} succeeded of {money_text(asked, currency)}"
                )
        if self.discrepancies:
            found = ", ".join(f"{kind} {n}" for kind, n in sorted(self.discrepancies.items()))
            lines.append(f"Discrepancies: {found}.")
        if self.batch:
            lines.extend(self._batch_lines(web_url))
        if self.message:
            lines.append(("Comment: " if self.event.startswith("batch_") else "") + self.message)
        if self.results:
            lines.append(f"Results: {self.results}")
        if self.by:
            lines.append(f"By: {self.by}")
        lines.append(f"At: {iso(self.at)}")
        return scrub("\n".join(lines))

    def _counts_line(self, lead: str) -> str:
        shown = [f"{n:,} {status}" for status, n in (self.counts or {}).items() if n]
        return lead + ", ".join(shown) if shown else ""

    def _batch_lines(self, web_url: str | None) -> list[str]:
        batch = self.batch or {}
        lines = []
        if batch.get("file"):
            rows = batch.get("rows")
            lines.append(f"File: {batch['file']}" + (f" ({rows:,} rows)" if rows else ""))
        if batch.get("uploaded_by"):
            lines.append(f"Uploaded by: {batch['uploaded_by']}")
        link = batch.get("url") or (
            f"{web_url.rstrip('/')}/batches/{batch['id']}" if web_url and batch.get("id") else None
        )
        if link:
            lines.append(f"Open: {link}")
        return lines


def minor_totals(totals: Totals) -> dict[str, dict[str, dict[str, int]]]:
    """``{"usd": {"debit": {"succeeded": 100}}}`` -> ``{... {"succeeded_minor": 100}}}``: the
    unit in each amount's name."""
    return {
        currency: {
            direction: {f"{status}_minor": int(amount) for status, amount in by_status.items()}
            for direction, by_status in directions.items()
        }
        for currency, directions in totals.items()
    }
