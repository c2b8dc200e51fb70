"""Logs for machines and for people who asked for more (``-v``), fed by the run's events.

``--log-format json`` writes one JSON object per line to stderr, for cron and log collectors;
nothing else is ever written to stderr then (stop notices, errors and even crashes are JSON
objects too). Every object has ``ts``, ``level`` and ``event``, and ``job`` and ``run_id`` once
they are known:

==============  ==============================================================================
event           fields
==============  ==============================================================================
run_start       ledger, ledger_sha256, rows, dry_run, mode, version
row_invalid     row, adjustment_id, account, code, message (one per invalid row)
row_failed      row, adjustment_id, account, amount, currency, direction, code, request_id,
                message
row_unknown     the same fields as row_failed
account_done    account, rows, succeeded, failed, unknown, skipped
breaker_open    reason (Stripe stopped answering; the run stops sending)
run_stopping    reason (a store error or a refused key stopped the run)
stopping        message (the first Ctrl-C or SIGTERM); stop_now (the second)
run_end         exit_code, counts, totals, results, report, duration_s
error           message, exit_code (the command could not go on)
crash           message, traceback (a bug: please report it)
==============  ==============================================================================

No secret is ever written: every string is scrubbed of anything shaped like a Stripe key (or a
password in a database URL) before it leaves, on top of keys never being put in a message.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable
from typing import Any, TextIO

from ledgerrun import __version__
from ledgerrun.clock import iso
from ledgerrun.vocab import FAILED, UNKNOWN, RowOutcome

_KEY = re.compile(r"\b([sr]k_(?:live|test)_)[A-Za-z0-9]*?([A-Za-z0-9]{0,4})\b")
_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def scrub(text: str) -> str:
    """Any Stripe key in ``text`` cut to its kind and last four characters, database passwords
    hidden, and control characters escaped (a value from a ledger must not drive a terminal)."""
    text = _KEY.sub(lambda m: f"{m.group(1)}…{m.group(2)}", text)
    text = _URL_PASSWORD.sub(r"\1…@", text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


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

    def __init__(self, stream: TextIO, now: Callable[[], dt.datetime] | None = None) -> None:
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
                mode=fields.get("mode"),
                version=__version__,
            )
        elif kind == "row_invalid":
            self.write("row_invalid", level="warning", **fields)
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
                self.write(f"row_{outcome.status}", level="warning", **row_fields(fields))
        elif kind in ("breaker_open", "run_stopping"):
            self.write(kind, level="error", reason=fields.get("reason"))
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


def row_fields(fields: dict[str, Any]) -> dict[str, Any]:
    item, outcome = fields["item"], fields["outcome"]
    return {
        "row": item.row,
        "adjustment_id": item.adjustment_id,
        "account": item.account,
        "amount": item.amount_text,
        "amount_minor": item.amount,
        "currency": item.currency,
        "direction": item.direction,
        "code": outcome.error_code,
        "request_id": outcome.request_id,
        "message": outcome.error_message,
    }


class TextLog:
    """Lines for people on stderr: always the breaker and a stopped run; with ``-v`` also every
    failed or unknown row and every account done."""

    def __init__(self, stream: TextIO, verbose: int = 1) -> None:
        self.stream = stream
        self.verbose = verbose
        self._lock = threading.Lock()

    def __call__(self, kind: str, fields: dict[str, Any]) -> None:
        line = None
        if kind == "breaker_open":
            line = f"Stripe stopped answering ({fields.get('reason')}): no more requests are sent."
        elif kind == "run_stopping":
            line = f"The run is stopping: {fields.get('reason')}"
        elif self.verbose and kind == "row_done" and fields["outcome"].status in (FAILED, UNKNOWN):
            item, outcome = fields["item"], fields["outcome"]
            line = (
                f"row {item.row} {item.adjustment_id} ({item.amount_text}) on {item.account}: "
                f"{outcome.status} [{outcome.error_code}] {outcome.error_message} "
                f"({outcome.request_id or '-'})"
            )
        elif self.verbose and kind == "account_done":
            counts = ", ".join(f"{k} {v}" for k, v in sorted(fields["counts"].items()))
            line = f"account {fields['account']} done: {fields['rows']} rows ({counts})"
        if line is not None:
            with self._lock:
                self.stream.write(scrub(line) + "\n")
                self.stream.flush()
