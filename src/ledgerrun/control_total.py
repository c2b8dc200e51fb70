"""A ledger's totals line checked against its rows: what validation finds, a plan shows and a
run's summary keeps (:mod:`ledgerrun.summary` re-exports it). Its own module so that checking a
ledger does not load the run's summary; a named tuple (its fields as a dict are ``_asdict()``),
as docs/architecture.md says records on every command's path are."""

from __future__ import annotations

from typing import NamedTuple


class ControlTotal(NamedTuple):
    """The ledger's totals line, checked against its rows.

    ``stated`` is what the line says and ``computed`` the figure of the rows it is compared
    with, both in major units as text with thousands separators (``12,345.67``); ``currency`` is
    the line's own currency (then only that currency's rows count; the job's currency when the
    file has none) or None (every row counts, as a spreadsheet adds them). ``row`` is the line's
    row in the spreadsheet.

    ``basis`` says which figure of the rows the line was compared with: ``sum`` (the rows are
    all debits, or all credits), ``net`` (debits less credits), ``gross`` (debits plus
    credits), or ``columns`` (a debit total and a credit total, each compared with its own
    column: ``stated``/``computed`` are the debits', ``stated_credits``/``credits`` the
    credits'). ``debits`` and ``credits`` are what the counted rows add up to, each way.
    ``uncounted`` rows have an amount or direction that could not be read: while there are any,
    the line is not checked (``matches`` is false, and no mismatch is reported)."""

    row: int
    stated: str
    computed: str
    currency: str | None
    matches: bool
    basis: str = "sum"
    debits: str = ""
    credits: str = ""
    stated_credits: str | None = None
    uncounted: int = 0

    @property
    def checked(self) -> bool:
        """Whether every row could be counted, so that the line was compared at all."""
        return self.uncounted == 0

    def describe(self) -> str:
        """What the line was compared with, in words: the same figures the check used."""
        unit = f" {self.currency.upper()}" if self.currency else ""
        if not self.checked:
            rows = "1 row" if self.uncounted == 1 else f"{self.uncounted:,} rows"
            return (
                f"not checked: {rows} could not be counted (an amount, currency or direction "
                "that could not be read)"
            )
        if self.basis == "columns":
            verdict = "match" if self.matches else "do NOT match"
            return (
                f"debits {self.stated} and credits {self.stated_credits or '-'} {verdict} the "
                f"rows' debits {self.debits} and credits {self.credits}{unit}"
            )
        verdict = "matches" if self.matches else "does NOT match"
        if self.basis == "sum":
            return f"{self.stated} {verdict} the rows' sum ({self.computed}{unit})"
        how = "less" if self.basis == "net" else "plus"
        return (
            f"{self.stated} {verdict} the rows' {self.basis} ({self.computed}{unit}: debits "
            f"{self.debits} {how} credits {self.credits})"
        )
