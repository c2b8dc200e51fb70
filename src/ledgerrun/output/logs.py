"""Logs for machines and for people who asked for more (``-v``), fed by the run's events.

``--log-format json`` writes one JSON object per line to stderr, for cron and log collectors;
nothing else is ever written to stderr then (stop notices, errors and even crashes are JSON
objects too). Every object has ``ts``, ``level`` and ``event``, and ``job`` and ``run_id`` once
they are known:

=====================  ===========================================================================
event                  fields
=====================  ===========================================================================
run_start              ledger, ledger_sha256, rows, dry_run, mode, version
row_invalid            row, adjustment_id, account, code, message (one per invalid row)
row_failed             row, adjustment_id, account, amount (display text, "4,999.00 USD"),
                       amount_minor (integer minor units), currency, direction, code, request_id,
                       message
row_unknown            the same fields as row_failed
account_done           account, rows, succeeded, failed, unknown, skipped
breaker_open           reason (Stripe stopped answering; the run stops sending)
run_stopping           reason (a store error or a refused key stopped the run)
stopping               message (the first Ctrl-C or SIGTERM); stop_now (the second)
run_end                exit_code, counts, totals (minor units, by currency, direction and
                       status), results, report, duration_s
reconcile_discrepancy  run_date, kind, adjustment_id, account, transfer_id, payment_id, amount,
                       amount_minor, currency, detail, advice (one per discrepancy reconcile
                       found)
reconcile_end          run_date, verdict, exit_code, succeeded_rows_checked, objects_found,
                       other_dates, counts, results, report (reconcile's verdict, last)
notify_sent            channel, notification, attempts (a notification delivered; JSON logs only)
notify_failed          channel, notification, attempts, message (not delivered; the exit code
                       stands)
metrics_failed         path, message (the [metrics] textfile could not be written)
waiting_for_ledger     message (--wait-for-ledger: the ledger is not there yet; waiting)
error                  message, exit_code (the command could not go on)
crash                  message, traceback (a bug: please report it)
stopped                message (Ctrl-C outside a run)
notice                 message (a line for the operator: a sandbox or worker starting)
log                    logger, message (a server's own log line: web requests; the sandbox's,
                       with -v)
=====================  ===========================================================================

No secret is ever written: every string is scrubbed of anything shaped like a Stripe key (or a
password in a database URL) before it leaves, on top of keys never being put in a message.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from ledgerrun import __version__
from ledgerrun.clock import iso
from ledgerrun.events import (
    AccountDone,
    BreakerOpen,
    Event,
    GuardSweep,
    RowDone,
    RowInvalid,
    RunEnd,
    RunStart,
    RunStopping,
)
from ledgerrun.scrub import scrub
from ledgerrun.vocab import FAILED, UNKNOWN, shown

__all__ = [
    "JsonLog",
    "JsonLogHandler",
    "TextLog",
    "reconcile_events",
    "reconcile_lines",
    "row_fields",
    "scrub",
]


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

    def __call__(self, event: Event) -> None:
        match event:
            case RunStart():
                self._started = self.now()
                self.context = {"job": event.job, "run_id": event.run_id}
                self.write(
                    event.name,
                    ledger=event.ledger,
                    ledger_sha256=event.ledger_sha256,
                    rows=event.rows,
                    dry_run=event.dry_run,
                    mode=event.mode,
                    version=__version__,
                )
            case RowInvalid():
                self.write(event.name, level="warning", **_fields(event))
            case AccountDone():
                fields: dict[str, Any] = {"account": event.account, "rows": event.rows}
                for status in ("succeeded", "failed", "unknown", "skipped"):
                    fields[status] = event.counts.get(status, 0)
                self.write(event.name, **fields)
            case RowDone() if event.outcome.status in (FAILED, UNKNOWN):
                self.write(f"row_{event.outcome.status}", level="warning", **row_fields(event))
            case RunStopping() if event.traceback:
                self.write(
                    event.name, level="error", reason=event.reason, traceback=event.traceback
                )
            case BreakerOpen() | RunStopping():
                self.write(event.name, level="error", reason=event.reason)
            case GuardSweep() if _sweep_step(event):
                about: dict[str, Any] = {"job": event.job, "run_id": event.run_id or None}
                self.write(event.name, **about, listed=event.listed, listings=event.listings)
            case RunEnd():
                duration = (self.now() - self._started).total_seconds() if self._started else None
                code = event.exit_code
                self.write(
                    event.name,
                    level=level_of(code),
                    exit_code=code,
                    counts=event.counts,
                    totals=event.totals,
                    results=event.results,
                    report=event.report,
                    duration_s=None if duration is None else round(duration, 3),
                )


def _fields(event: RowInvalid) -> dict[str, Any]:
    return {
        "row": event.row,
        "adjustment_id": event.adjustment_id,
        "account": event.account,
        "code": event.code,
        "message": event.message,
    }


def row_fields(event: RowDone) -> dict[str, Any]:
    outcome = event.outcome
    return {
        "row": event.row,
        "adjustment_id": event.adjustment_id,
        "account": event.account,
        "amount": event.amount,
        "amount_minor": event.amount_minor,
        "currency": event.currency,
        "direction": event.direction,
        "code": outcome.error_code,
        "request_id": outcome.request_id,
        "message": outcome.error_message,
    }


def level_of(exit_code: int) -> str:
    """The level of a command's closing event: info for exit 0, warning for 1, else error."""
    return "info" if exit_code == 0 else "warning" if exit_code == 1 else "error"


def reconcile_events(findings: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``reconcile``'s JSON log events, as (event, level, fields), from its findings (the
    reconciliation's ``to_json()``, with ``report``, the CSV of what to do): one
    ``reconcile_discrepancy`` per discrepancy (a warning; an error when Stripe did not answer
    for the object), then ``reconcile_end`` with the verdict, so a log alone says what was
    found."""
    scope = findings.get("run_date")
    out: list[tuple[str, str, dict[str, Any]]] = []
    for item in findings.get("discrepancies") or []:
        level = "error" if item.get("kind") == "unchecked" else "warning"
        out.append(("reconcile_discrepancy", level, {"run_date": scope, **item}))
    code = int(findings.get("exit_code", 0))
    keys = ("verdict", "exit_code", "succeeded_rows_checked", "objects_found", "other_dates")
    end = {"run_date": scope, **{k: findings.get(k) for k in keys}}
    end |= {k: findings.get(k) for k in ("counts", "results", "report")}
    out.append(("reconcile_end", level_of(code), end))
    return out


def reconcile_lines(findings: Mapping[str, Any]) -> list[str]:
    """``reconcile``'s text log lines on stderr: a short line per discrepancy and one with the
    verdict, when anything was found (nothing when everything agrees)."""
    found = list(findings.get("discrepancies") or [])
    if not found:
        return []
    scope = findings.get("run_date")
    lines = []
    for item in found:
        ids = " ".join(str(i) for i in (item.get("transfer_id"), item.get("payment_id")) if i)
        amount = f", {item['amount']}" if item.get("amount") else ""
        lines.append(
            f"reconcile {scope}: {item.get('kind')} adjustment "
            f"{shown(str(item.get('adjustment_id') or '')) or '(none)'} on {item.get('account')} "
            f"({ids or 'no Stripe id'}{amount}): {shown(str(item.get('detail') or ''), 200)}"
        )
    kinds = ", ".join(f"{n} {kind}" for kind, n in (findings.get("counts") or {}).items())
    lines.append(
        f"reconcile {scope}: {findings.get('verdict')} (exit {findings.get('exit_code')}): "
        f"{kinds}; what to do about each: {findings.get('report')}"
    )
    return [scrub(line) for line in lines]


class TextLog:
    """Lines for people on stderr: always the breaker and a stopped run; with ``-v`` also every
    failed or unknown row and every account done."""

    def __init__(self, stream: TextIO, verbose: int = 1) -> None:
        self.stream = stream
        self.verbose = verbose
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = None
        match event:
            case BreakerOpen():
                line = f"Stripe stopped answering ({event.reason}): no more requests are sent."
            case GuardSweep() if _sweep_step(event):
                line = (
                    f"Stripe guard: this journal's first look at every connected account: "
                    f"{event.listed:,} of {event.listings:,} listed"
                )
            case RunStopping():
                line = f"The run is stopping: {event.reason}"
                if event.traceback:
                    line += "\n" + event.traceback.rstrip()
            case RowDone() if self.verbose and event.outcome.status in (FAILED, UNKNOWN):
                outcome = event.outcome
                line = (
                    f"row {event.row} {event.adjustment_id} ({event.amount}) on "
                    f"{event.account}: {outcome.status} [{outcome.error_code}] "
                    f"{outcome.error_message} ({outcome.request_id or '-'})"
                )
            case AccountDone() if self.verbose:
                counts = ", ".join(f"{k} {v}" for k, v in sorted(event.counts.items()))
                line = f"account {event.account} done: {event.rows} rows ({counts})"
        if line is not None:
            with self._lock:
                self.stream.write(scrub(line) + "\n")
                self.stream.flush()


def _sweep_step(event: GuardSweep) -> bool:
    """Whether a sweep's progress is worth a line: its start and its end, and each tenth of a
    long one (a platform of hundreds of accounts takes minutes)."""
    if event.listed in (0, event.listings):
        return True
    return event.listings >= 200 and event.listed % (event.listings // 10) == 0


class JsonLogHandler(logging.Handler):
    """Python ``logging`` records as ``log`` events, for the commands that run a server (the
    web application's requests, the sandbox's request log): JSON logs stay JSON throughout."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._log = JsonLog(stream)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {"logger": record.name, "message": record.getMessage()}
            if record.exc_info:
                fields["traceback"] = logging.Formatter().formatException(record.exc_info)
            self._log.write("log", level=record.levelname.lower(), **fields)
        except Exception:  # a log line must never take the server down
            self.handleError(record)
