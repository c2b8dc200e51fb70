"""Composite ids: an adjustment id built from several columns, the same however it is exported.

A daily sheet has no id column: its rows are told apart by the day and the account. The job
says which columns make the id (``[columns] adjustment_id = ["Date", "Connected Account"]``) and
each row's id is its parts' canonical forms joined with ``-``:
``2026-12-01-acct_1connaa000000``. The results file and Stripe's metadata show the id as built.

- Each part is canonicalised as a whole id is (:mod:`~ledgerrun.ingest.identity`): case folded,
  surrounding spaces removed, leading zeros of a number dropped; a decimal number also loses its
  trailing zeros (``12.50`` is ``12.5``, as a re-save writes it). An empty part, or one holding
  an invisible character, is refused on its own cell.
- A part that looks like a **date** is written ``YYYY-MM-DD``, so that a re-export that writes
  dates another way (Excel's ``12/1/2026`` for ``12/01/2026``) builds the same ids. A date is
  read with the job's ``[ledger] date_format`` when it is written that way. ``YYYY-MM-DD`` (what a
  date cell of a workbook reads as), a year-first date and a date with its month's name
  (``1-Dec-2026``) need no format. Without a format, a date that could mean two days
  (``05/12/2026``: 12 May or 5 December) is refused, as is a two-digit year; a date that can only
  mean one (``13/12/2026``, ``12/13/2026``, ``05/05/2026``) is read as that day. A time of day
  other than midnight is refused (the id would drop it), as is a date that is no day at all
  (``02/30/2026``) or one not written in the job's format.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.ingest import identity
from ledgerrun.ingest.validation import Collector
from ledgerrun.job import DATE_FORMAT_PATTERN

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?"
_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?: ?[ap]\.?m\.?)?)?"
# What looks like a date, in RE2 and Python alike (no back-references): three numbers between
# one kind of separator, or a day, a month's name and a year; then perhaps a time of day.
SHAPE = (
    r"(?i)^(?:[0-9]{1,4}(?:/[0-9]{1,2}/|\.[0-9]{1,2}\.|-[0-9]{1,2}-)[0-9]{1,4}"
    rf"|[0-9]{{1,2}}[-/. ]{_MONTH}[-/. ][0-9]{{2,4}}|{_MONTH} [0-9]{{1,2}},? [0-9]{{4}}){_TIME}$"
)
_SHAPE = re.compile(SHAPE)
_NUMERIC = re.compile(r"([0-9]{1,4})([/.\-])([0-9]{1,2})\2([0-9]{1,4})")
_NAMED = re.compile(rf"(?i)([0-9]{{1,2}})[-/. ]({_MONTH})[-/. ]([0-9]{{2,4}})")
_NAMED_FIRST = re.compile(rf"(?i)({_MONTH}) ([0-9]{{1,2}}),? ([0-9]{{4}})")
_CLOCK = re.compile(
    r"(?i)[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(?: ?([ap])\.?m\.?)?$"
)
_TOKEN = {"YYYY": r"([0-9]{4})", "YY": r"([0-9]{2})", "MMM": f"({_MONTH})"}
_TOKEN.update(dict.fromkeys(("MM", "M", "DD", "D"), r"([0-9]{1,2})"))


class DateRefused(ValueError):
    """A date part that cannot be written as one day; the message says why."""


@dataclass(frozen=True)
class _Format:
    pattern: re.Pattern[str]
    order: tuple[str, str, str]  # "Y", "M", "D" in the order the format writes them
    short_year: bool

    @classmethod
    def of(cls, text: str) -> _Format:
        found = re.fullmatch(DATE_FORMAT_PATTERN, text.upper())
        if found is None:
            raise ValueError(f"not a date format: {text!r}")
        tokens = (found["a"], found["b"], found["c"])
        sep = re.escape(found["sep"])
        pattern = re.compile("(?i)" + sep.join(_TOKEN[t] for t in tokens))
        order: tuple[str, str, str] = (tokens[0][0], tokens[1][0], tokens[2][0])
        return cls(pattern, order, "YY" in tokens)


def _month(text: str) -> int:
    return _MONTHS.index(text[:3].lower()) + 1


def _day(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _year(text: str, short_ok: bool, shown: str) -> int:
    if len(text) == 4:
        return int(text)
    if len(text) == 2 and short_ok:
        return 2000 + int(text)
    raise DateRefused(
        f"The date '{shown}' has a {len(text)}-digit year; write the year in four digits, or "
        "give its format in the job's [ledger] date_format."
    )


def canonical_date(text: str, date_format: str | None = None) -> str:
    """A date part as ``YYYY-MM-DD`` (see the module docstring); DateRefused when it cannot be
    taken as exactly one day."""
    clock = _CLOCK.search(text)
    day_text = text[: clock.start()] if clock else text
    if clock:
        hour, minute = int(clock[1]), int(clock[2])
        second = int(clock[3] or 0) + (1 if (clock[4] or "").strip("0") else 0)
        if clock[5] and hour == 12:
            hour = 0 if clock[5].lower() == "a" else 12
        if (hour, minute, second) != (0, 0, 0):
            raise DateRefused(
                f"'{text}' holds a time of day; the id is built from the date alone, so two "
                "times of one day would make one id. Leave the time out of the id's columns."
            )
    fmt = _Format.of(date_format) if date_format else None
    if fmt is not None:
        found = fmt.pattern.fullmatch(day_text)
        if found is not None:
            values = dict(zip(fmt.order, found.groups(), strict=True))
            month = values["M"]
            day = _day(
                _year(values["Y"], fmt.short_year, text),
                _month(month) if month[0].isalpha() else int(month),
                int(values["D"]),
            )
            if day is None:
                raise DateRefused(f"'{text}' is not a day of the calendar (as {date_format}).")
            return day.isoformat()
    named = _NAMED.fullmatch(day_text) or _NAMED_FIRST.fullmatch(day_text)
    if named is not None:
        found_day, month_name, year_text = named.groups()
        if found_day[0].isalpha():
            found_day, month_name = month_name, found_day
        year = _year(year_text, bool(fmt and fmt.short_year), text)
        day = _day(year, _month(month_name), int(found_day))
        if day is None:
            raise DateRefused(f"'{text}' is not a day of the calendar.")
        return day.isoformat()
    numeric = _NUMERIC.fullmatch(day_text)
    if numeric is None:  # pragma: no cover - the shape was checked first
        raise DateRefused(f"'{text}' is not a date ledgerrun can read.")
    lead, middle, last = numeric[1], numeric[3], numeric[4]
    if len(lead) == 4:  # year first: 2026-12-01, 2026/12/01
        day = _day(int(lead), int(middle), int(last))
        if day is None:
            raise DateRefused(f"'{text}' is not a day of the calendar.")
        return day.isoformat()
    if fmt is not None:
        raise DateRefused(
            f"The date '{text}' is not written as the job's date_format says ({date_format})."
        )
    year = _year(last, False, text)
    readings = {
        d for d in (_day(year, int(middle), int(lead)), _day(year, int(lead), int(middle))) if d
    }
    if not readings:
        raise DateRefused(f"'{text}' is not a day of the calendar.")
    if len(readings) > 1:
        a, b = sorted(readings)
        raise DateRefused(
            f"The date '{text}' could be {a:%d %B %Y} or {b:%d %B %Y}; ledgerrun never guesses "
            'which. Give the job\'s date format, such as [ledger] date_format = "MM/DD/YYYY".'
        )
    return readings.pop().isoformat()


def _numbers(canonical: pa.Array) -> pa.Array:
    """A decimal number as a re-save writes it: ``12.50`` and ``012.5`` are ``12.5``, ``12.00`` is
    ``12`` (leading zeros already go for whole numbers, as for any id)."""
    decimal = pc.match_substring_regex(canonical, r"^[0-9]+\.[0-9]+$")
    if not pc.any(decimal).as_py():
        return canonical
    trimmed = pc.ascii_rtrim(pc.ascii_rtrim(canonical, characters="0"), characters=".")
    trimmed = pc.ascii_ltrim(trimmed, characters="0")
    trimmed = pc.if_else(
        pc.starts_with(trimmed, "."), pc.binary_join_element_wise("0", trimmed, ""), trimmed
    )
    trimmed = pc.if_else(pc.equal(trimmed, ""), "0", trimmed)
    return pc.if_else(decimal, trimmed, canonical)


def build(
    parts: pa.Table, headers: list[str], date_format: str | None, out: Collector
) -> tuple[pa.Array, pa.Array]:
    """Each row's id as built (empty where a part was refused) and the rows whose parts were
    refused (each problem is on its part's own cell, ``headers`` naming the columns)."""
    refused = pa.repeat(False, parts.num_rows)
    pieces = []
    for index, header in enumerate(headers):
        values = parts.column(index)
        piece, bad = _part(
            values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values,
            header,
            date_format,
            out,
        )
        refused = pc.or_(refused, bad)
        pieces.append(piece)
    built = pc.binary_join_element_wise(*pieces, "-") if len(pieces) > 1 else pieces[0]
    return pc.if_else(refused, "", built), refused


def _part(
    values: pa.Array, header: str, date_format: str | None, out: Collector
) -> tuple[pa.Array, pa.Array]:
    """One part's canonical form on every row, and the rows where it was refused."""

    def blank(v: str, i: int) -> str:
        return f"'{header}' is empty; it is part of the adjustment id."

    def hidden(v: str, i: int) -> str:
        found = ", ".join(identity.invisible_characters(values[i].as_py())[:5])
        return (
            f"'{v}' holds invisible or control characters ({found}); it is part of the "
            "adjustment id. Retype it."
        )

    empty = pc.equal(values, "")
    out.cells(empty, header, "empty_value", values, blank)
    invisible = identity.invisible_array(values)
    out.cells(invisible, header, "bad_adjustment_id", values, hidden)
    canonical = _numbers(identity.canonical_array(values))
    refused = pc.or_(empty, invisible)
    dated = pc.and_(pc.match_substring_regex(values, SHAPE), pc.invert(invisible))
    if not pc.any(dated).as_py():
        return canonical, refused
    # A day's date repeats on many rows: each distinct text is read once.
    distinct = pc.unique(pc.filter(values, dated))
    readings: list[str | None] = []
    reasons: dict[str, str] = {}
    for text in distinct.to_pylist():
        try:
            readings.append(canonical_date(text, date_format))
        except DateRefused as exc:
            readings.append(None)
            reasons[text] = str(exc)
    read = pc.take(pa.array(readings, pa.string()), pc.index_in(values, value_set=distinct))
    canonical = pc.if_else(dated, pc.fill_null(read, ""), canonical)
    bad = pc.fill_null(pc.and_(dated, pc.is_null(read)), False)
    why = {i: reasons[values[i].as_py()] for i in pc.indices_nonzero(bad).to_pylist()}

    def refusal(v: str, i: int) -> str:
        return why[i]

    fix = "Correct the date, or give the job's [ledger] date_format so each date reads as one day."
    out.cells(bad, header, "bad_adjustment_id", values, refusal, fix=fix)
    return canonical, pc.or_(refused, bad)
