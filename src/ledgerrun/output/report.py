"""What the run report shows, worked out from a run's files: the view model its templates render.

Built from the summary (version 2, :meth:`ledgerrun.summary.Summary.to_json`), the results table,
and, when they exist beside the results, reconcile's summary (``<results>.reconcile.json``) and
the reversals made since (``<results stem>.reversals.csv``). Everything here is plain data: the
templates decide how it looks, and escape every value on the way out. Money stays in integer minor
units (exact) until a filter formats it.

A summary written by an older ledgerrun may lack fields: they show as unknown instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.errors import ExitCode
from ledgerrun.output.report_after import (
    parse_time,
    reconcile_view,
    stamp,
)
from ledgerrun.output.report_model import (
    EXTRA_CUT,
    MESSAGE_CUT,
    ROW_CAP,
    AccountLine,
    Banner,
    Check,
    Detail,
    PeopleSection,
    PersonRow,
    Reason,
    Report,
    StatusCount,
    TotalsLine,
    Verdict,
)
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

EXIT_MEANINGS = {int(code): code.meaning for code in ExitCode}
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
    reversal_view = None
    if reversals is not None:
        from ledgerrun.output.report_reversals import reversals_view

        reversal_view = reversals_view(reversals, table, reversals_file)
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
        reconcile=reconcile_view(summary, reconciliation),
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
        Detail("Started", stamp(s.get("started_at"))),
        Detail("Ended", stamp(s.get("ended_at")) + _took(s)),
        Detail("Results file", results_file, mono=True, link=results_file),
        Detail("ledgerrun version", str(s.get("version") or "?")),
    ]
    sending = s.get("sending") or {}
    if sending.get("rows"):
        seconds = float(sending.get("seconds") or 0)
        details.append(Detail("Sending", f"{int(sending['rows']):,} rows in {seconds:.1f} s"))
    return details


def _took(s: Json) -> str:
    start, end = parse_time(s.get("started_at")), parse_time(s.get("ended_at"))
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
    # Summed as Python integers, so no total can overflow, a few thousand rows at a time: the
    # memory is one line per (account, currency, direction), however long the ledger (Arrow's
    # grouping engine took 87 MB more for 120,000 rows).
    picked = table.select(["account", "currency", "direction", "status", "amount_minor"])
    lines: dict[tuple[str, str, str], dict[str, int]] = {}
    empty = dict.fromkeys(("rows", "requested", *AMOUNT_STATUSES), 0)
    for batch in picked.to_batches(max_chunksize=4096):
        for account, currency, direction, status, minor in zip(
            *(column.to_pylist() for column in batch.columns), strict=True
        ):
            if minor is None or status is None or status == INVALID:
                continue
            into = lines.setdefault((account, currency, direction), dict(empty))
            into["rows"] += 1
            into["requested"] += minor
            if status in into:
                into[status] += minor
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
    basis = line.get("basis") or "sum"
    if int(line.get("uncounted") or 0):
        return Check(
            "stop",
            "Not checked",
            f"{where} states {stated}, but {line.get('uncounted')} rows could not be counted "
            "(an amount, currency or direction that could not be read).",
        )
    if basis == "columns":
        credits = f"{line.get('credits')}{currency}"
        stated_credits = f"{line.get('stated_credits') or '-'}{currency}"
        figures = (
            f"{where} states debits of {stated} and credits of {stated_credits}; the rows' debits "
            f"add up to {computed} and their credits to {credits}"
        )
        if line.get("matches"):
            return Check("ok", "Matches", figures + ".")
        return Check("stop", "Does not match", figures + ". A row is missing, extra or mistyped.")
    if basis in ("net", "gross"):
        how = "less" if basis == "net" else "plus"
        computed += f" {basis} (debits {line.get('debits')} {how} credits {line.get('credits')})"
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
        found = pc.filter(table, pc.equal(table["status"], status))
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
            listed = pc.filter(found, pc.not_equal(found["error_code"], "dry_run"))
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
