"""The run report's view model: plain, immutable data that the templates render.

:mod:`ledgerrun.output.report` builds it from a run's files; the templates in ``templates/`` decide
how it looks and escape every value on the way out. Money stays in integer minor units here.

The records are named tuples, made faster than dataclasses at start-up (docs/architecture.md
says when a record is one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # the reversals section's records are built only when there are reversals
    from ledgerrun.output.report_reversals import Reversals

ROW_CAP = 200  # rows listed per status; the results file has them all
EXTRA_CUT = 120  # characters shown of one extra ledger column
MESSAGE_CUT = 600  # characters shown of one error message
REVERSED = "succeeded"  # a reversal's status when its money went back


class Banner(NamedTuple):
    mode: str  # live, test, sandbox or unknown: a CSS class
    label: str
    about: str
    dry_run: bool


class Verdict(NamedTuple):
    tone: str  # ok, warn or stop: a CSS class; the label says the same in words
    label: str
    exit_code: int | None
    meaning: str
    sentence: str


class Detail(NamedTuple):
    label: str
    value: str
    full: str = ""  # the whole value, when ``value`` is cut (a tooltip, and shown in print)
    mono: bool = False
    link: str = ""  # a file beside the report


class StatusCount(NamedTuple):
    status: str
    rows: int


class TotalsLine(NamedTuple):
    """One currency and direction (or the net of both), in minor units."""

    currency: str
    direction: str  # debit, credit or net
    label: str
    amounts: dict[str, int]  # requested and each status of AMOUNT_STATUSES


class AccountLine(NamedTuple):
    account: str
    currency: str
    direction: str
    rows: int
    amounts: dict[str, int]  # requested, succeeded, failed, unknown, skipped, reversed


class Check(NamedTuple):
    tone: str  # ok, warn, stop or none
    label: str
    text: str


class PersonRow(NamedTuple):
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


class Reason(NamedTuple):
    code: str
    rows: int
    fix: str


class PeopleSection(NamedTuple):
    status: str
    title: str
    about: str
    total: int
    listable: int  # the rows a person should look at (a dry run's skipped rows are not)
    rows: list[PersonRow]  # the first of them, up to ROW_CAP
    reasons: Sequence[Reason] = ()  # skipped rows, by reason

    @property
    def more(self) -> int:
        """How many rows are left out of the list (the results file has them)."""
        return self.listable - len(self.rows)


class Discrepancies(NamedTuple):
    kind: str
    rows: int
    fix: str


class Reconcile(NamedTuple):
    state: str  # none, clean or dirty; gone: the run's sandbox ended with it
    command: str  # the command that checks this run (again)
    checked: str = ""  # what was checked, in words
    at: str = ""
    stale: bool = False  # the check ended before the run did
    kinds: Sequence[Discrepancies] = ()
    total: int = 0
    report: str = ""  # the discrepancy list's file name, beside the report


class Report(NamedTuple):
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
