"""The words every stage shares: statuses, directions, problems, and what to do about each.

One owner per vocabulary. The enums are ``StrEnum`` so they compare equal to the plain strings
written in files and JSON (``Status.SUCCEEDED == "succeeded"``).

Problems are found in a ledger (or by pre-flight): where it is, what it is, and what a person
should do about it. Row numbers are the ones a spreadsheet shows (the header's own number, data
rows below it); problems about the file or a whole column sit on the header's row.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, NamedTuple

from ledgerrun.metadata_keys import LEDGER_MAX, PREFIX, RESERVED
from ledgerrun.stripe import facts

VALUE_CUT = 80
MESSAGE_CUT = 2000  # a safety net: messages quote values through shown(), never whole cells


class Status(enum.StrEnum):
    """What became of one ledger row in a run (the results file's ``status``)."""

    SUCCEEDED = "succeeded"  # the money moved; transfer_id and payment_id are set
    FAILED = "failed"  # Stripe refused it for good; no money moved
    INVALID = "invalid"  # a validation or pre-flight problem; not sent
    SKIPPED = "skipped"  # not sent: the run left it out (abort, a limit, a stop, an outage)
    UNKNOWN = "unknown"  # sent, outcome not known yet; a re-run settles it


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
SUCCEEDED, FAILED, INVALID, SKIPPED, UNKNOWN = (
    Status.SUCCEEDED,
    Status.FAILED,
    Status.INVALID,
    Status.SKIPPED,
    Status.UNKNOWN,
)


class State(enum.StrEnum):
    """What the store knows of one adjustment (or reversal), across runs."""

    PENDING = "pending"  # intent written; the outcome is not known
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # refused for good; a corrected row is sent under the next generation


class Direction(enum.StrEnum):
    DEBIT = "debit"  # from the connected account to the platform
    CREDIT = "credit"  # from the platform to the connected account


class Method(enum.StrEnum):
    """How a debit is made (credits have no method)."""

    TRANSFER = "transfer"
    CHARGE = "charge"


class Mode(enum.StrEnum):
    SANDBOX = "sandbox"  # the embedded or a local sandbox
    TEST = "test"  # Stripe, test mode
    LIVE = "live"  # Stripe, live mode: real money


# --- advice ------------------------------------------------------------------------------------

# Every stable problem code, with the next step a finance person can take. Offline checks first,
# then the ones that need the API (pre-flight, the store and Stripe's own books).
FIXES: dict[str, str] = {
    "unreadable_file": "Export the ledger again (CSV UTF-8, .xlsx or .parquet) and check it opens.",
    "unsupported_format": "Save the ledger as .csv, .parquet or .xlsx.",
    "missing_column": "Add the column to the header row, or map your header to it in [columns].",
    "empty_value": "Fill in the cell, or remove the row.",
    "bad_value": "The cell holds a spreadsheet error (such as #N/A): fix the formula or type the "
    "value in.",
    "formula_not_calculated": "Open the workbook in Excel and save it again, so every formula "
    "has a value.",
    "bad_adjustment_id": "Retype the id: it holds an invisible or control character (copied "
    "from a web page or a PDF?).",
    "duplicate_adjustment_id": "Give each adjustment its own id: the id is what stops a double "
    "debit.",
    "adjustment_id_too_long": "Shorten the id to 200 characters or fewer.",
    "bad_account": "Use the connected account's id, 'acct_' followed by letters and digits.",
    "bad_amount": "Write the amount as digits such as 1500.00 or 1,500.00 (the row's own currency "
    "symbol is fine, no exponent), or say in the job's [ledger] table how the export writes "
    "amounts (decimal).",
    "non_positive_amount": "Correct the amount: it must be above zero. If the export writes "
    'credits as negative amounts, set [ledger] negative = "credit" in the job.',
    "too_many_decimals": "Correct the amount to the decimal places the currency has.",
    "amount_mismatch": "Make amount and amount_minor agree, or keep only one of them.",
    "debit_and_credit": "Keep the amount in one column only: the Debit column for a debit, the "
    "Credit column for a credit.",
    "unknown_currency": "Use a three-letter ISO 4217 code such as usd, eur or jpy.",
    "bad_direction": "Use 'debit' or 'credit' (or DR/CR, D/C), or leave the cell empty for the "
    "job's default.",
    "bad_method": "Use 'transfer' or 'charge' for a debit, or leave the cell empty for the job's "
    "default; leave it empty for a credit.",
    "bad_metadata": f"Keep metadata keys to {facts.METADATA_KEY_MAX_CHARS} characters without [ "
    f"or ], values to {facts.METADATA_VALUE_MAX_CHARS} characters, at most "
    f"{LEDGER_MAX} keys (Stripe allows {facts.METADATA_MAX_KEYS}, "
    f"{RESERVED} are ledgerrun's own), none starting '{PREFIX}'.",
    "description_too_long": "Shorten the description to "
    f"{facts.DESCRIPTION_MAX_CHARS:,} characters or fewer.",
    "over_stripe_maximum": "Stripe debits at most 100,000 USD or its equivalent at a time: split "
    "the row into several adjustments, each with its own id.",
    "under_charge_minimum": "Debit a small amount by transfer (method 'transfer'): Stripe "
    "refuses a charge below 0.50 USD or its equivalent.",
    "over_max_amount": "Split or correct the row, or raise [limits] max_amount in the job.",
    "over_max_total": "Split the ledger, or raise [limits] max_total in the job.",
    "secret_in_ledger": "Remove the key from the ledger, then roll it in the Stripe dashboard "
    "(Developers > API keys): a key written in a file others open is no longer secret.",
    "control_total_mismatch": "The totals line does not equal the sum of the rows: a row is "
    "missing, extra or mistyped, or the total is out of date.",
    "account_not_found": "Check the account id; Stripe has no such account.",
    "account_inaccessible": "The platform's key cannot act on this account; check the connection.",
    "account_not_eligible": "The platform is not responsible for this account's negative balances "
    "(for example a Standard account); it cannot be debited this way.",
    "possible_duplicate_prefix": "The job's id_prefix changed since Stripe got this adjustment: "
    "restore the prefix, or, if the prefix changed on purpose and the row is new, run once with "
    "--allow-prefix-change.",
    "currency_mismatch": "Debit in the account's default currency.",
    "region_mismatch": "Account debits need the platform and account in the same region.",
    "no_consent": "Record the account's debit consent in the consent registry (or raise its "
    "max_amount) before debiting it.",
    "adjustment_conflict": "This id already moved money with other values: give the new "
    "adjustment a new id, or restore the original values.",
}


def _escape(ch: str) -> str:
    """A character as a report shows it: itself, or an escape when it is a control, format or
    other invisible character (``\\n``, ``\\x00``, ``\\u200b``)."""
    if ch.isprintable():
        return ch
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
    if named is not None:
        return named
    point = ord(ch)
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def shown(value: str, limit: int = VALUE_CUT) -> str:
    """``value`` as a message or a report may show it: control and invisible characters escaped
    (a line break as ``\\n``, a zero-width space as ``\\u200b``) and the result cut to ``limit``
    characters, the last of them ``…`` when something was cut. Only the first ``limit`` characters
    are ever looked at, so a cell of a million characters costs no more than a short one."""
    head = value[: limit + 1]
    if head.isprintable():
        return head if len(head) <= limit else head[: limit - 1] + "…"
    out: list[str] = []
    used = 0
    for ch in head:
        piece = _escape(ch)
        out.append(piece)
        used += len(piece)
    if used <= limit and len(value) <= limit:
        return "".join(out)
    kept: list[str] = []
    used = 0
    for piece in out:
        if used + len(piece) > limit - 1:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + "…"


# What to do about each kind of discrepancy reconcile finds.
RECONCILE_ADVICE: dict[str, str] = {
    "missing_transfer": "Stripe has no such transfer: check the dashboard; if the money really "
    "did not move, send the row again under a new adjustment id.",
    "missing_payment": "Stripe has no such payment on the other side: check the dashboard.",
    "mismatch": "Stripe's object differs from the results row: compare them in the dashboard.",
    "duplicate": "The adjustment moved money more than once: reverse the extra one (ledgerrun "
    "reverse, or by hand in the dashboard), then run reconcile again.",
    "orphan": "An object of the transfer group that no results row or journal entry accounts "
    "for: find out who made it; reverse it only if it should not exist.",
    "unsettled": "The money moved although the row is not reported succeeded: run the job again "
    "to settle the row (it is never sent twice).",
    "removed_from_ledger": "This job moved the money (its journal says so), but the row is no "
    "longer in the ledger: put the row back if it was removed by mistake; if it should not have "
    "moved, reverse it (ledgerrun reverse --adjustments).",
    "unrecorded_reversal": "Stripe holds a reversal of this transfer that the journal does not: "
    "find out who made it (the dashboard shows it); if it should not exist, the money must be "
    "moved again under a new adjustment id.",
    "missing_reversal": "The journal records a reversal that Stripe does not hold: check the "
    "dashboard, then run ledgerrun reverse again (it settles it, never twice).",
    "unchecked": "Stripe did not answer for this object: run reconcile again later.",
}


# What to do when Stripe refused a request, by Stripe's own error code.
STRIPE_ADVICE: dict[str, str] = {
    "balance_insufficient": "The balance is too low: wait for funds (or top the account up), "
    "then run the job again: the row is sent again under a new key.",
    "account_invalid": "The platform cannot act on this account: check its id and that it is "
    "still connected.",
    "amount_too_small": "The amount is below Stripe's minimum for the currency: correct the row.",
    "amount_too_large": "The amount is above Stripe's maximum: split the row into several "
    "adjustments, each with its own id.",
    "transfers_not_allowed": "Stripe does not let the platform move money to or from this "
    "account (a Standard account, or one in another region): it cannot be done with ledgerrun.",
    "network_error": "Stripe could not be reached: run the job again (nothing is sent twice).",
    "connection_failed": "Stripe could not be reached: run the job again later.",
    "api_error": "Stripe had an internal error: run the job again later.",
    "rate_limit": "Stripe was too busy: run the job again, or lower [stripe] rate_limit.",
    "lock_timeout": "Stripe was busy with the same object: run the job again.",
    "idempotency_error": "Stripe holds this key for other values: run ledgerrun reconcile, and "
    "check the row in the dashboard before anything else.",
    "resource_missing": "Stripe has no such object: check the ids (ledgerrun reconcile).",
}
# Why a row was left out of a run, and what to do.
SKIP_ADVICE: dict[str, str] = {
    "aborted": "Fix the invalid rows, or run with --skip-invalid.",
    "dry_run": "Run without --dry-run to send them.",
    "stopped": "Run the job again to send the rest: nothing is sent twice.",
    "stripe_unavailable": "Stripe stopped answering: run the job again later.",
    "account_check_unavailable": "Stripe did not answer the account check: run the job again.",
    "guard_unavailable": "Stripe's books could not be searched for it: run the job again.",
    "already_reversed": "Nothing to do: it was reversed in full already.",
}
# When no code says more: what to do about a row in each status.
ADVICE: dict[str, str] = {
    "failed": "Look the request id up in the Stripe dashboard, fix the cause, then run again.",
    "unknown": "Run the job again: it settles this row without sending it twice.",
    "invalid": "Correct the row in the ledger (ledgerrun validate lists them all), then run again.",
    "skipped": "See error_message in the results file.",
}


# The closing lines of a run, per status ({n}: how many rows).
RUN_NEXT_STEPS: dict[str, str] = {
    "failed": "{n} failed at Stripe (see error_code): fix the cause, then run the job again; a "
    "failed row is sent again under a new key, corrected values included.",
    "unknown": "{n} sent with the outcome unknown: run the job again to settle them; it never "
    "sends them twice.",
    "invalid": "{n} invalid: fix them in the ledger (ledgerrun validate lists them), then run "
    "again.",
    "skipped": "{n} skipped (see error_code): the run did not send them.",
}


def advice(status: str, code: str | None) -> str:
    """The one sentence a person needs for a row of this status and error code."""
    code = code or ""
    if status == Status.UNKNOWN:
        return ADVICE["unknown"]
    if status == Status.INVALID:
        return FIXES.get(code, ADVICE["invalid"])
    if status == Status.SKIPPED:
        return SKIP_ADVICE.get(code) or FIXES.get(code) or ADVICE["skipped"]
    return STRIPE_ADVICE.get(code) or FIXES.get(code) or ADVICE["failed"]


class Problem(NamedTuple):
    """One problem on one cell (or row, or the file), in the shape of the JSON output.

    ``advice`` overrides the code's usual next step (:data:`FIXES`) where it would mislead, such
    as a ledger path that does not exist (exporting the file again would not help).

    Problems and row outcomes are named tuples, made faster than dataclasses at start-up
    (docs/architecture.md says when a record is one)."""

    row: int
    column: str
    code: str
    value: str
    message: str
    advice: str = ""

    @classmethod
    def make(
        cls,
        row: int,
        column: str,
        code: str,
        value: str,
        message: str,
        *,
        fix: str | None = None,
    ) -> Problem:
        """Build a problem: the offending value cut to what a report can show, with control and
        invisible characters escaped (the message too, and a runaway message cut)."""
        if code not in FIXES:
            raise ValueError(f"unknown problem code {code!r}")
        if not message.isprintable() or len(message) > MESSAGE_CUT:
            message = shown(message, MESSAGE_CUT)
        return cls(row, column, code, shown(value), message, fix or "")

    @property
    def fix(self) -> str:
        """The next step for a person, in one sentence."""
        return self.advice or FIXES[self.code]

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "value": self.value,
            "message": self.message,
        }


def sort_key(problem: Problem) -> tuple[int, str, str]:
    return (problem.row, problem.column, problem.code)


class RowOutcome(NamedTuple):
    """The outcome of one ledger row, as the results file reports it."""

    status: str
    transfer_id: str | None = None
    payment_id: str | None = None
    idempotency_key: str | None = None
    request_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 0
    completed_at: dt.datetime | None = None
    earlier: bool = False  # done before this run (by an earlier run, or found in Stripe)


def money_text(minor: int, currency: str) -> str:
    """``150000, 'usd'`` -> ``'1,500.00 USD'``: how every message shows an amount."""
    from ledgerrun import money

    try:
        exp = money.exponent(currency)
    except KeyError:
        return f"{minor} (minor units) {currency.upper()}"
    return f"{money.format_major(minor, exp, grouping=True)} {currency.upper()}"
