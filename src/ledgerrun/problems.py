"""A problem found in a ledger: where it is, what it is, and what a person should do about it.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first data row is row 2.
Problems about the file or a whole column (a missing column, a ledger total over its limit) sit
on row 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

VALUE_CUT = 80

# Every stable code, with the next step a finance person can take. Offline checks first, then the
# ones that need the API (pre-flight and the journal).
FIXES: dict[str, str] = {
    "unreadable_file": "Export the ledger again (CSV UTF-8, .xlsx or .parquet) and check it opens.",
    "unsupported_format": "Save the ledger as .csv, .parquet or .xlsx.",
    "missing_column": "Add the column to the header row, or map your header to it in [columns].",
    "empty_value": "Fill in the cell, or remove the row.",
    "duplicate_adjustment_id": "Give each adjustment its own id: the id is what stops a double "
    "debit.",
    "adjustment_id_too_long": "Shorten the id to 200 characters or fewer.",
    "bad_account": "Use the connected account's id, 'acct_' followed by letters and digits.",
    "bad_amount": "Write a plain number such as 1500.00 or 1,500.00: no symbol, sign or exponent.",
    "non_positive_amount": "Debits must be above zero; remove the row or correct the amount.",
    "too_many_decimals": "Correct the amount to the decimal places the currency has.",
    "amount_mismatch": "Make amount and amount_minor agree, or keep only one of them.",
    "unknown_currency": "Use a three-letter ISO 4217 code such as usd, eur or jpy.",
    "bad_method": "Use 'transfer' or 'charge', or leave the cell empty for the job's default.",
    "bad_metadata": "Keep metadata keys to 40 characters without [ or ], values to 500 characters, "
    "at most 48 keys, none starting 'ledgerrun_'.",
    "description_too_long": "Shorten the description to 1,000 characters or fewer.",
    "over_max_amount": "Split or correct the row, or raise [limits] max_amount in the job.",
    "over_max_total": "Split the ledger, or raise [limits] max_total in the job.",
    "account_not_found": "Check the account id; Stripe has no such account.",
    "account_inaccessible": "The platform's key cannot act on this account; check the connection.",
    "account_not_eligible": "The platform is not responsible for this account's negative balances "
    "(for example a Standard account); it cannot be debited this way.",
    "currency_mismatch": "Debit in the account's default currency.",
    "region_mismatch": "Account debits need the platform and account in the same region.",
    "adjustment_conflict": "This id was already used by this job with other values; give the new "
    "adjustment a new id, or restore the original values.",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem on one cell (or row, or the file), in the shape of the JSON output."""

    row: int
    column: str
    code: str
    value: str
    message: str

    @classmethod
    def make(cls, row: int, column: str, code: str, value: str, message: str) -> Problem:
        """Build a problem, cutting the offending value to what a report can show."""
        if code not in FIXES:
            raise ValueError(f"unknown problem code {code!r}")
        shown = value if len(value) <= VALUE_CUT else value[: VALUE_CUT - 1] + "…"
        return cls(row, column, code, shown, message)

    @property
    def fix(self) -> str:
        """The next step for a person, in one sentence."""
        return FIXES[self.code]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sort_key(problem: Problem) -> tuple[int, str, str]:
    return (problem.row, problem.column, problem.code)
