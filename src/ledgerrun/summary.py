"""A run in figures: the typed summary every front end shows and ``<results>.summary.json`` holds.

Built by the runner from the rows' outcomes, written by ``output``, read back by ``reconcile``
and the report. Money is in integer minor units, summed exactly (Python integers).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ledgerrun.clock import iso
from ledgerrun.control_total import ControlTotal
from ledgerrun.vocab import STATUSES, Status

__all__ = ["TOTAL_KEYS", "ControlTotal", "Outputs", "Summary", "count", "totals"]

TOTAL_KEYS = ("requested", "succeeded", "failed", "unknown", "skipped")


class Outputs(NamedTuple):
    """Where a run's files go: the results, and the summary and report beside them."""

    results: Path
    summary: Path
    report: Path

    @classmethod
    def beside(cls, results: Path) -> Outputs:
        return cls(
            results,
            results.with_name(results.name + ".summary.json"),
            results.with_name(results.name + ".report.html"),
        )

    def all(self) -> tuple[Path, Path, Path]:
        return (self.results, self.summary, self.report)


@dataclass
class Summary:
    run_id: str
    job: str
    job_file: str
    run_date: str
    mode: str
    user: str
    host: str
    version: str
    dry_run: bool
    exit_code: int
    started_at: dt.datetime
    ended_at: dt.datetime
    ledger: str
    ledger_sha256: str | None
    results: str
    rows: int
    counts: dict[str, int]
    totals: dict[str, dict[str, dict[str, int]]]  # currency -> direction -> status -> minor
    sent_now: int  # rows this run sent (and settled)
    done_earlier: int  # rows found done: by an earlier run, or in Stripe's books
    control_total: ControlTotal | None = None
    consent_checked: bool | None = None
    api_base: str | None = None  # where the run sent its requests, when not Stripe's own API
    sandbox_embedded: bool = False  # a sandbox that lived only inside the run
    timezone: str | None = None  # the IANA zone whose calendar the run date is a day of
    id_prefix: str = ""  # the job's id_prefix: part of every adjustment's identity
    api_version: str = ""  # the Stripe-Version every request was sent with
    limits: str = ""  # whose rate limits the run kept to: test, live, or off (a sandbox)
    sending: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["control_total"] = None if self.control_total is None else self.control_total._asdict()
        data["started_at"] = iso(self.started_at)
        data["ended_at"] = iso(self.ended_at)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        values = dict(data)
        for name in ("started_at", "ended_at"):
            values[name] = dt.datetime.fromisoformat(str(values[name]).replace("Z", "+00:00"))
        line = values.get("control_total")
        values["control_total"] = ControlTotal(**line) if line else None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


def count(statuses: Iterable[str]) -> dict[str, int]:
    found = Counter(statuses)
    return {status: found.get(status, 0) for status in STATUSES}


def totals(
    rows: Iterable[tuple[str, str, int | None, str]],
) -> dict[str, dict[str, dict[str, int]]]:
    """(currency, direction, amount_minor, status) per row -> currency -> direction -> status
    -> exact sum; invalid rows and rows without an amount are left out."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for currency, direction, amount, status in rows:
        if amount is None or status == Status.INVALID or not currency:
            continue
        by_status = out.setdefault(currency, {}).setdefault(direction, dict.fromkeys(TOTAL_KEYS, 0))
        by_status[status] = by_status.get(status, 0) + int(amount)
        by_status["requested"] += int(amount)
    return {c: dict(sorted(d.items())) for c, d in sorted(out.items())}
