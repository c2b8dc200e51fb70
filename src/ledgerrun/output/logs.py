"""Logs for machines and for people who asked for more (`-v`), fed by the run's events.

``--log-format json`` writes one JSON object per line to stderr, for cron and log collectors:

=============  ===============================================================================
event          fields (besides ``ts``, ``level``, ``event``, ``job``, ``run_id``)
=============  ===============================================================================
run_start      ledger, ledger_sha256, rows, dry_run, version
account_done   account, rows, succeeded, failed, unknown, skipped
row_failed     row, adjustment_id, account, code, request_id, message
row_unknown    row, adjustment_id, account, code, request_id, message
run_end        exit_code, counts, totals, results, report, duration_s
error          message, exit_code (a run that could not start)
=============  ===============================================================================

No API key is ever written: every string is scrubbed of anything shaped like a Stripe key before
it leaves, on top of the key never being put in a message in the first place.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from typing import Any, TextIO

from ledgerrun import __version__
from ledgerrun.clock import iso
from ledgerrun.outcome import FAILED, UNKNOWN, RowOutcome

_KEY = re.compile(r"\b([sr]k_(?:live|test)_)[A-Za-z0-9]+([A-Za-z0-9]{4})\b")


def scrub(text: str) -> str:
    """Any Stripe key in ``text`` reduced to its kind and last four characters."""
    return _KEY.sub(r"\1…\2", text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class JsonLog:
    """An Events listener writing one JSON object per line."""

    def __init__(self, stream: TextIO, now: Any = None) -> None:
        self.stream = stream
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.context: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._started: dt.datetime | None = None

    def write(self, event: str, level: str = "info", **fields: Any) -> None:
        record = {"ts": iso(self.now()), "level": level, "event": event, **self.context, **fields}
        line = json.dumps(_clean(record), ensure_ascii=False, default=str)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def __call__(self, kind: str, fields: dict[str, Any]) -> None:
        if kind == "run_start":
            self._started = self.now()
            self.context = {"job": fields["job"], "run_id": fields["run_id"]}
            self.write(
                "run_start",
                ledger=fields["ledger"],
                ledger_sha256=fields["ledger_sha256"],
                rows=fields["rows"],
                dry_run=fields["dry_run"],
                version=__version__,
            )
        elif kind == "account_done":
            counts = fields["counts"]
            self.write(
                "account_done",
                account=fields["account"],
                rows=fields["rows"],
                **{s: counts.get(s, 0) for s in ("succeeded", "failed", "unknown", "skipped")},
            )
        elif kind == "row_done":
            outcome: RowOutcome = fields["outcome"]
            if outcome.status in (FAILED, UNKNOWN):
                item = fields["item"]
                self.write(
                    f"row_{outcome.status}",
                    level="warning",
                    row=item.row,
                    adjustment_id=item.adjustment_id,
                    account=item.account,
                    code=outcome.error_code,
                    request_id=outcome.request_id,
                    message=outcome.error_message,
                )
        elif kind == "run_end":
            duration = (self.now() - self._started).total_seconds() if self._started else None
            code = fields["exit_code"]
            self.write(
                "run_end",
                level="info" if code == 0 else "warning" if code == 1 else "error",
                exit_code=code,
                counts=fields["counts"],
                totals=fields["totals"],
                results=fields["results"],
                report=fields.get("report"),
                duration_s=None if duration is None else round(duration, 3),
            )


class TextLog:
    """With ``-v``: a line on stderr for every failed or unknown row and every account done."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, kind: str, fields: dict[str, Any]) -> None:
        line = None
        if kind == "row_done" and fields["outcome"].status in (FAILED, UNKNOWN):
            item, outcome = fields["item"], fields["outcome"]
            line = (
                f"row {item.row} {item.adjustment_id} on {item.account}: {outcome.status} "
                f"[{outcome.error_code}] {outcome.error_message} ({outcome.request_id or '-'})"
            )
        elif kind == "account_done":
            counts = ", ".join(f"{k} {v}" for k, v in sorted(fields["counts"].items()))
            line = f"account {fields['account']} done: {fields['rows']} rows ({counts})"
        if line is not None:
            with self._lock:
                self.stream.write(scrub(line) + "\n")
                self.stream.flush()
