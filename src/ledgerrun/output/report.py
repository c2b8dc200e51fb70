"""What the run report shows, worked out from a run's files: the view model its templates render.

Built from the summary (version 2, :meth:`ledgerrun.summary.Summary.to_json`), the results table,
and, when they exist beside the results, reconcile's summary (``<results>.reconcile.json``) and
the reversals made since (``<results stem>.reversals.csv``). Everything here is plain data: the
templates decide how it looks, and escape every value on the way out. Money stays in integer minor
units (exact) until a filter formats it.

A summary written by an older ledgerrun may lack fields: they show as unknown instead of failing.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun import money
from ledgerrun.output.results import RESULT_COLUMNS
from ledgerrun.output.text import plural
from ledgerrun.vocab import (
    ADVICE,
    FAILED,
    INVALID,
    SKIPPED,
    STATUSES,
    STRIPE_ADVICE,
    SUCCEEDED,
    UNKNOWN,
    advice,
    shown,
)

Json = dict[str, Any]

ROW_CAP = 200  # rows listed per status; the results file has them all
EXTRA_CUT = 120  # characters shown of one extra ledger column
MESSAGE_CUT = 600  # characters shown of one error message
EXIT_MEANINGS = {
    0: "every row is done",
    1: "some rows failed or were left out",
    2: "nothing sent: the input is invalid",
    3: "incomplete: run the job again",
    4: "another run holds the lock",
}
MODES = {
    "live": ("LIVE", "Real money: this run used Stripe in live mode."),
    "test": ("TEST", "Stripe test mode: test data only, no real money moved."),
    "sandbox": ("SANDBOX rehearsal", "A simulated Stripe on this machine: no money moved."),
}
UNKNOWN_FIX = ADVICE["unknown"]
STRIPE_FIXES = STRIPE_ADVICE
NEEDS_A_PERSON = (
    (FAILED, "Failed rows", "Stripe refused these; no money moved for them."),
    (UNKNOWN, "Rows with an unknown outcome", "Sent, but no answer came back."),
    (INVALID, "Invalid rows", "Not sent: the ledger has problems on these rows."),
    (SKIPPED, "Skipped rows", "Not sent by this run."),
)
AMOUNT_STATUSES = (SUCCEEDED, FAILED, UNKNOWN, SKIPPED)
DIRECTIONS = ("debit", "credit")
REVERSED = "succeeded"  # a reversal's status when its money went back


# --- the view model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Banner:
    mode: str  # live, test, sandbox or unknown: a CSS class
    label: str
    about: str
    dry_run: bool


@dataclass(frozen=True)
class Verdict:
    tone: str  # ok, warn or stop: a CSS class; the label says the same in words
    label: str
    exit_code: int | None
    meaning: str
    sentence: str


@dataclass(frozen=True)
class Detail:
    label: str
    value: str
    full: str = ""  # the whole value, when ``value`` is cut (a tooltip, and shown in print)
    mono: bool = False
    link: str = ""  # a file beside the report


@dataclass(frozen=True)
class StatusCount:
    status: str
    rows: int


@dataclass(frozen=True)
class TotalsLine:
    """One currency and direction (or the net of both), in minor units."""

    currency: str
    direction: str  # debit, credit or net
    label: str
    amounts: dict[str, int]  # requested and each status of AMOUNT_STATUSES


@dataclass(frozen=True)
class AccountLine:
    account: str
    currency: str
    direction: str
    rows: int
    amounts: dict[str, int]  # requested, succeeded, failed, unknown, skipped, reversed


@dataclass(frozen=True)
class Check:
    tone: str  # ok, warn, stop or none
    label: str
    text: str


@dataclass(frozen=True)
class PersonRow:
    row: int | None
    adjustment_id: str
    account: str
    amount_minor: int | None
    currency: str
    direction: str
    error_code: str
    message: str
    request_id: str
    attempts: int | None
    fix: str
    extra: list[tuple[str, str]]  # the ledger's other columns, cut


@dataclass(frozen=True)
class Reason:
    code: str
    rows: int
    fix: str


@dataclass(frozen=True)
class PeopleSection:
    status: str
    title: str
    about: str
    total: int
    listable: int  # the rows a person should look at (a dry run's skipped rows are not)
    rows: list[PersonRow]  # the first of them, up to ROW_CAP
    reasons: list[Reason] = field(default_factory=list)  # skipped rows, by reason

    @property
    def more(self) -> int:
        """How many rows are left out of the list (the results file has them)."""
        return self.listable - len(self.rows)


@dataclass(frozen=True)
class Discrepancies:
    kind: str
    rows: int
    fix: str


@dataclass(frozen=True)
class Reconcile:
    state: str  # none, clean or dirty
    command: str  # the command that checks this run (again)
    checked: str = ""  # what was checked, in words
    at: str = ""
    stale: bool = False  # the check ended before the run did
    kinds: list[Discrepancies] = field(default_factory=list)
    total: int = 0
    report: str = ""  # the discrepancy list's file name, beside the report


@dataclass(frozen=True)
class ReversalLine:
    account: str
    currency: str
    direction: str
    reversals: int  # succeeded
    reversed_minor: int
    not_reversed: int  # any other status


@dataclass(frozen=True)
class ReversalRow:
    row: int | None
    adjustment_id: str
    transfer_id: str
    account: str
    amount: str
    currency: str
    status: str
    error: str
    reason: str


@dataclass(frozen=True)
class Reversals:
    file: str
    lines: list[ReversalLine]
    problems: list[ReversalRow]
    total_problems: int


@dataclass(frozen=True)
class Report:
    title: str
    banner: Banner
    verdict: Verdict
    details: list[Detail]
    rows: int
    sent_now: int | None
    done_earlier: int | None
    counts: list[StatusCount]
    totals: list[TotalsLine]
    amount_columns: tuple[str, ...]
    accounts: list[AccountLine]
    account_columns: tuple[str, ...]
    invalid_rows: int
    control_total: Check
    consent: Check
    people: list[PeopleSection]
    reconcile: Reconcile
    reversals: Reversals | None
    notes: list[str]
    results_file: str
    version: str


# --- building it --------------------------------------------------------------------------------


def build(
    summary: Json,
    table: pa.Table,
    reconciliation: Json | None = None,
    reversals: pa.Table | None = None,
    reversals_file: str = "",
) -> Report:
    """The report of one run, from its summary, results and the files found beside them."""
    counts = {s: int((summary.get("counts") or {}).get(s, 0)) for s in STATUSES}
    rows = int(summary.get("rows") or sum(counts.values()))
    results_file = Path(str(summary.get("results") or "results")).name
    reversal_view = None if reversals is None else _reversals(reversals, table, reversals_file)
    reversed_by = (
        None
        if reversal_view is None
        else {(r.account, r.currency, r.direction): r.reversed_minor for r in reversal_view.lines}
    )
    accounts = _accounts(table, reversed_by)
    return Report(
        title=f"Run report: {summary.get('job') or '?'}, {summary.get('run_date') or '?'}",
        banner=_banner(summary),
        verdict=_verdict(summary, counts, rows),
        details=_details(summary, results_file),
        rows=rows,
        sent_now=_int_or_none(summary.get("sent_now")),
        done_earlier=_int_or_none(summary.get("done_earlier")),
        counts=[StatusCount(s, counts[s]) for s in STATUSES],
        totals=_totals(summary.get("totals") or {}),
        amount_columns=("requested", *AMOUNT_STATUSES),
        accounts=accounts,
        account_columns=(
            "requested",
            SUCCEEDED,
            FAILED,
            UNKNOWN,
            SKIPPED,
            *(["reversed"] if reversed_by is not None else []),
        ),
        invalid_rows=counts[INVALID],
        control_total=_control_total(summary.get("control_total")),
        consent=_consent(summary.get("consent_checked")),
        people=_people(table),
        reconcile=_reconcile(summary, reconciliation),
        reversals=reversal_view,
        notes=[shown(str(n), 400) for n in summary.get("notes") or []],
        results_file=results_file,
        version=str(summary.get("version") or "?"),
    )


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(str(value))


def _banner(s: Json) -> Banner:
    mode = str(s.get("mode") or "").lower()
    label, about = MODES.get(mode, ("MODE UNKNOWN", "The summary does not say which Stripe."))
    return Banner(mode if mode in MODES else "unknown", label, about, bool(s.get("dry_run")))


def _verdict(s: Json, counts: dict[str, int], rows: int) -> Verdict:
    raw = s.get("exit_code")
    code = int(raw) if isinstance(raw, int) else None
    meaning = EXIT_MEANINGS.get(code, "not a known exit code") if code is not None else "unknown"
    done = counts[SUCCEEDED]
    if code == 4:
        return Verdict("stop", "Not run", code, meaning, "Another run of this job holds the lock.")
    if code == 2:
        invalid = plural(counts[INVALID], "invalid row")
        return Verdict("stop", "Nothing sent", code, meaning, f"The ledger has {invalid}.")
    if code == 3 or counts[UNKNOWN]:
        unknown = plural(counts[UNKNOWN], "row")
        return Verdict(
            "stop",
            "Incomplete",
            code,
            meaning,
            f"{unknown} with an unknown outcome: run the job again to settle "
            f"{'it' if counts[UNKNOWN] == 1 else 'them'} (nothing is sent twice).",
        )
    if s.get("dry_run"):
        return Verdict(
            "warn" if code else "ok",
            "Dry run",
            code,
            meaning,
            f"Dry run of {plural(rows, 'row')}: nothing was sent.",
        )
    if code == 0 and done == rows:
        return Verdict("ok", "Done", code, meaning, f"All {plural(rows, 'row')} succeeded.")
    left = ", ".join(f"{counts[k]:,} {k}" for k in (FAILED, SKIPPED, INVALID) if counts[k])
    return Verdict(
        "warn",
        "Needs attention",
        code,
        meaning,
        f"{done:,} of {plural(rows, 'row')} succeeded; {left or 'see below'}.",
    )


def _details(s: Json, results_file: str) -> list[Detail]:
    sha = str(s.get("ledger_sha256") or "")
    user, host = s.get("user"), s.get("host")
    who = f"{user or '?'}@{host}" if host else str(user or "?")
    ledger = str(s.get("ledger") or "")
    job_file = str(s.get("job_file") or "")
    details = [
        Detail("Ran by", who, mono=True),
        Detail("Job", str(s.get("job") or "?")),
        Detail("Job file", job_file or "none: the ledger was run directly", mono=bool(job_file)),
        Detail("Run date", str(s.get("run_date") or "?")),
        Detail("Run id", str(s.get("run_id") or "?"), mono=True),
        Detail("Ledger", Path(ledger).name or "?", full=ledger, mono=True),
        Detail("Ledger SHA-256", sha[:12] + "…" if sha else "unread", full=sha, mono=bool(sha)),
        Detail("Started", _stamp(s.get("started_at"))),
        Detail("Ended", _stamp(s.get("ended_at")) + _took(s)),
        Detail("Results file", results_file, mono=True, link=results_file),
        Detail("ledgerrun version", str(s.get("version") or "?")),
    ]
    sending = s.get("sending") or {}
    if sending.get("rows"):
        seconds = float(sending.get("seconds") or 0)
        details.append(Detail("Sending", f"{int(sending['rows']):,} rows in {seconds:.1f} s"))
    return details


def _parse_time(stamp: object) -> dt.datetime | None:
    if not stamp:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _stamp(stamp: object) -> str:
    moment = _parse_time(stamp)
    if moment is None:
        return str(stamp or "?")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _took(s: Json) -> str:
    start, end = _parse_time(s.get("started_at")), _parse_time(s.get("ended_at"))
    if start is None or end is None or end < start:
        return ""
    seconds = int((end - start).total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    took = f"{hours}\u00a0h {minutes}\u00a0min" if hours else f"{minutes}\u00a0min {seconds}\u00a0s"
    return f" (took {took})" if minutes or hours else f" (took {seconds}\u00a0s)"


def _totals(raw: Mapping[str, Any]) -> list[TotalsLine]:
    """Per currency: debits, credits (those present), then their net (debits less credits)."""
    keys = ("requested", *AMOUNT_STATUSES)
    lines: list[TotalsLine] = []
    for currency in sorted(raw):
        by_direction = raw[currency] or {}
        if any(isinstance(v, int) for v in by_direction.values()):  # an older, flat summary
            by_direction = {"debit": by_direction}
        sums = {
            d: {k: int((by_direction.get(d) or {}).get(k, 0)) for k in keys}
            for d in DIRECTIONS
            if d in by_direction
        }
        for direction, amounts in sums.items():
            label = "Debits" if direction == "debit" else "Credits"
            lines.append(TotalsLine(currency, direction, label, amounts))
        if len(sums) == len(DIRECTIONS):  # with one direction, its line is the net
            debit, credit = sums["debit"], sums["credit"]
            net = {k: debit[k] - credit[k] for k in keys}
            lines.append(TotalsLine(currency, "net", "Net (debits − credits)", net))
    return lines


def _accounts(
    table: pa.Table, reversed_by: Mapping[tuple[str, str, str], int] | None
) -> list[AccountLine]:
    """One line per account, currency and direction: every valid row with an amount."""
    keep = pc.and_(pc.is_valid(table["amount_minor"]), pc.not_equal(table["status"], INVALID))
    picked = table.select(["account", "currency", "direction", "status", "amount_minor"])
    picked = picked.filter(keep)
    if picked.num_rows == 0:
        return []
    # Summed as 38-digit decimals, so no total can overflow; one row comes back per (account,
    # currency, direction, status), however long the ledger.
    exact = picked.set_column(4, "amount_minor", picked["amount_minor"].cast(pa.decimal128(38, 0)))
    sums = exact.group_by(
        ["account", "currency", "direction", "status"], use_threads=False
    ).aggregate([("amount_minor", "sum"), ("amount_minor", "count")])
    lines: dict[tuple[str, str, str], dict[str, int]] = {}
    for r in sums.to_pylist():
        key = (r["account"], r["currency"], r["direction"])
        into = lines.setdefault(key, dict.fromkeys(("rows", "requested", *AMOUNT_STATUSES), 0))
        minor = int(r["amount_minor_sum"])
        into["rows"] += int(r["amount_minor_count"])
        into["requested"] += minor
        if r["status"] in into:
            into[r["status"]] += minor
    out = []
    for key, amounts in sorted(lines.items()):
        rows = amounts.pop("rows")
        if reversed_by is not None:
            amounts["reversed"] = reversed_by.get(key, 0)
        out.append(AccountLine(*key, rows, amounts))
    return out


def _control_total(line: Json | None) -> Check:
    if not line:
        return Check("none", "No totals line", "The ledger has no totals line to check against.")
    currency = f" {str(line.get('currency')).upper()}" if line.get("currency") else ""
    stated, computed = f"{line.get('stated')}{currency}", f"{line.get('computed')}{currency}"
    where = f"the totals line (row {line.get('row')})"
    if line.get("matches"):
        return Check("ok", "Matches", f"{where} states {stated}; the rows add up to {computed}.")
    return Check(
        "stop",
        "Does not match",
        f"{where} states {stated}, but the rows add up to {computed}. A row is missing, extra or "
        "mistyped, or the total is out of date.",
    )


def _consent(checked: object) -> Check:
    if checked is True:
        return Check("ok", "Checked", "Every account was checked against the consent registry.")
    if checked is False:
        return Check(
            "warn", "Not checked", "Consent was not checked: the job names no consent registry."
        )
    return Check("none", "Not recorded", "This run's summary does not say whether it was checked.")


def _fix(status: str, code: str) -> str:
    return advice(status, code)


def _people(table: pa.Table) -> list[PeopleSection]:
    extra = [c for c in table.column_names if c not in RESULT_COLUMNS]
    sections = []
    for status, title, about in NEEDS_A_PERSON:
        found = table.filter(pc.equal(table["status"], status))
        if found.num_rows == 0:
            continue
        reasons: list[Reason] = []
        listed = found
        if status == SKIPPED:
            counted = sorted(
                pc.value_counts(found["error_code"]).to_pylist(),
                key=lambda c: (-c["counts"], c["values"]),
            )
            reasons = [
                Reason(c["values"] or "", int(c["counts"]), _fix(SKIPPED, c["values"] or ""))
                for c in counted
            ]
            # A dry run's rows are skipped by design: the reasons say so, no row needs a person.
            listed = found.filter(pc.not_equal(found["error_code"], "dry_run"))
        rows = [_person(r, status, extra) for r in listed.slice(0, ROW_CAP).to_pylist()]
        sections.append(
            PeopleSection(status, title, about, found.num_rows, listed.num_rows, rows, reasons)
        )
    return sections


def _person(r: Json, status: str, extra: Iterable[str]) -> PersonRow:
    code = str(r.get("error_code") or "")
    attempts = r.get("attempts")
    return PersonRow(
        row=r.get("row"),
        adjustment_id=str(r.get("adjustment_id") or ""),
        account=str(r.get("account") or ""),
        amount_minor=r.get("amount_minor"),
        currency=str(r.get("currency") or ""),
        direction=str(r.get("direction") or ""),
        error_code=code,
        message=shown(str(r.get("error_message") or ""), MESSAGE_CUT),
        request_id=str(r.get("stripe_request_id") or ""),
        attempts=None if attempts is None else int(attempts),
        fix=_fix(status, code),
        extra=[(name, shown(str(r[name]), EXTRA_CUT)) for name in extra if r.get(name)],
    )


def reconcile_command(s: Json) -> str:
    """The command that reconciles this run: its job file when it has one, else its ledger."""
    target = str(s.get("job_file") or s.get("ledger") or "<job file or ledger>")
    date = str(s.get("run_date") or "<run date>")
    return f"ledgerrun reconcile {shlex.quote(target)} --date {shlex.quote(date)}"


def _reconcile(s: Json, rec: Json | None) -> Reconcile:
    from ledgerrun.reconcile.check import NEXT_STEP

    command = reconcile_command(s)
    if rec is None or rec.get("run_date") not in (None, "all", s.get("run_date")):
        return Reconcile("none", command)
    checked = int(rec.get("succeeded_rows_checked") or 0)
    found = int(rec.get("objects_found") or rec.get("debits_found") or 0)
    words = (
        f"{plural(checked, 'succeeded row')} checked, "
        f"{plural(found, 'object')} of the transfer group found at Stripe"
    )
    if rec.get("other_dates"):
        words += f" ({plural(int(rec['other_dates']), 'object')} of other run dates)"
    ended, run_ended = _parse_time(rec.get("ended_at")), _parse_time(s.get("ended_at"))
    stale = ended is not None and run_ended is not None and ended < run_ended
    at = _stamp(rec.get("ended_at")) if rec.get("ended_at") else ""
    report = Path(str(rec.get("report") or "")).name
    if rec.get("clean"):
        return Reconcile("clean", command, words, at, stale, report=report)
    kinds = [
        Discrepancies(str(k), int(n), NEXT_STEP.get(str(k), "See the reconcile report."))
        for k, n in sorted((rec.get("discrepancies") or {}).items())
    ]
    return Reconcile("dirty", command, words, at, stale, kinds, sum(k.rows for k in kinds), report)


def _reversals(found: pa.Table, results: pa.Table, file_name: str) -> Reversals:
    """Reversed amounts per account, currency and direction: those of the results row each
    reversal undoes (found by transfer id, else by row number)."""
    by_transfer: dict[str, tuple[str, str]] = {}
    by_row: dict[int, tuple[str, str]] = {}
    for r in results.select(["row", "transfer_id", "account", "direction"]).to_pylist():
        where = (str(r["account"]), str(r["direction"]))
        if r["transfer_id"]:
            by_transfer[r["transfer_id"]] = where
        if r["row"] is not None:
            by_row[int(r["row"])] = where
    sums: dict[tuple[str, str, str], list[int]] = {}
    problems: list[ReversalRow] = []
    total_problems = 0
    for r in found.to_pylist():
        cell = {k: "" if v is None else str(v) for k, v in r.items()}
        row = int(cell["row"]) if cell.get("row", "").isdigit() else None
        account, direction = by_transfer.get(cell.get("transfer_id", "")) or by_row.get(
            -1 if row is None else row, ("?", "")
        )
        currency = cell.get("currency", "").lower()
        into = sums.setdefault((account, currency, direction), [0, 0, 0])
        if cell.get("status") == REVERSED:
            into[0] += 1
            into[1] += _minor(cell.get("amount", ""), currency)
            continue
        into[2] += 1
        total_problems += 1
        if len(problems) < ROW_CAP:
            problems.append(
                ReversalRow(
                    row,
                    cell.get("adjustment_id", ""),
                    cell.get("transfer_id", ""),
                    account,
                    cell.get("amount", ""),
                    currency,
                    cell.get("status", ""),
                    shown(cell.get("error", ""), MESSAGE_CUT),
                    shown(cell.get("reason", ""), EXTRA_CUT),
                )
            )
    lines = [ReversalLine(*key, n, m, bad) for key, (n, m, bad) in sorted(sums.items())]
    return Reversals(file_name, lines, problems, total_problems)


def _minor(text: str, currency: str) -> int:
    """A reversal's amount (major units, as the results write them) in minor units; 0 when it
    cannot be read (the reversal still counts)."""
    try:
        return money.parse_major(text, money.exponent(currency))
    except (KeyError, ValueError, money.AmountError):
        return 0
