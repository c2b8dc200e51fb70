"""Dates and times in an xlsx cell: what a date or time number format shows, written in ISO form.

A spreadsheet stores a date as a serial number (days since 1899-12-30, or since 1904-01-01 in the
1904 system; the fraction is the time of day) and shows it through its number format:
``yyyy-mm-dd``, ``m/d/yyyy``, ``d mmm yyyy h:mm``. ledgerrun writes what the format shows in one
unambiguous form, whatever order or names the format uses:

* a whole date (year, month and day shown): ``2026-01-05``;
* a date and a time of day: ``2026-01-05 14:30`` (``:05`` more when seconds are shown);
* a time of day alone: ``14:30`` (or ``14:30:05``);
* a year and a month (``mmm-yy``): ``2026-01``; a year alone: ``2026``.

Anything else cannot be written faithfully and gives None: a day and month without a year, a
weekday or month name alone, elapsed times (``[h]:mm``), fractions of a second, and serials
outside Excel's calendar (before 1900-01-01 or after 9999-12-31, which Excel shows as ``####``).
The time of day is the serial's fraction rounded to the nearest second, as Excel shows it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from dataclasses import dataclass
from decimal import Decimal

_LAST_SERIAL = 2_958_465  # 9999-12-31 in the 1900 system
_EPOCH_1900 = dt.date(1899, 12, 30)  # serial 0 of the days after Excel's phantom 1900-02-29
_EPOCH_1904 = dt.date(1904, 1, 1)
_SECONDS = 86_400


@dataclass(frozen=True)
class DateFormat:
    """Which parts of a date and time a number format section shows."""

    year: bool = False
    month: bool = False
    day: bool = False
    weekday: bool = False
    hour: bool = False
    minute: bool = False
    second: bool = False
    exotic: bool = False  # elapsed time or fractions of a second

    @property
    def has_date(self) -> bool:
        return self.year or self.month or self.day or self.weekday

    @property
    def kind(self) -> str:
        """``date``, ``time`` or ``date and time``: what the format shows, for messages."""
        timed = self.hour or self.minute or self.second
        if self.has_date and timed:
            return "date and time"
        return "date" if self.has_date else "time"


WHOLE = DateFormat(year=True, month=True, day=True)


@functools.lru_cache(maxsize=256)
def parse(code: str) -> DateFormat:
    """The date and time parts one section of a number format shows."""
    tokens: list[tuple[str, int]] = []
    exotic = False
    i = 0
    while i < len(code):
        ch = code[i]
        if ch == '"':
            end = code.find('"', i + 1)
            i = len(code) if end < 0 else end + 1
        elif ch in "\\_*":
            i += 2
        elif ch == "[":
            end = code.find("]", i)
            inner = code[i + 1 : end].lower() if end > 0 else ""
            if inner and set(inner) <= set("hms"):
                exotic = True  # [h]:mm, elapsed time
                tokens.append((inner[0], len(inner)))
            i = len(code) if end < 0 else end + 1
        elif code[i : i + 5].upper() == "AM/PM":
            i += 5
        elif code[i : i + 3].upper() == "A/P":
            i += 3
        elif ch.lower() in "ymdhs":
            j = i
            while j < len(code) and code[j].lower() == ch.lower():
                j += 1
            tokens.append((ch.lower(), j - i))
            i = j
        elif ch == "." and tokens and tokens[-1][0] == "s" and code[i + 1 : i + 2] == "0":
            exotic = True  # ss.00: fractions of a second
            i += 1
        else:
            i += 1
    parts: dict[str, bool] = {}
    for index, (letter, count) in enumerate(tokens):
        if letter == "m" and count <= 2:
            before = tokens[index - 1][0] if index else ""
            after = tokens[index + 1][0] if index + 1 < len(tokens) else ""
            letter = "minute" if before == "h" or after == "s" else "month"
        elif letter == "d":
            letter = "weekday" if count >= 3 else "day"
        else:
            letter = {"y": "year", "m": "month", "h": "hour", "s": "second"}[letter]
        parts[letter] = True
    return DateFormat(**parts, exotic=exotic)


def _day(days: int, date1904: bool) -> str | None:
    """Day number ``days`` as ``YYYY-MM-DD``; None outside Excel's calendar."""
    if date1904:
        if not 0 <= days <= _LAST_SERIAL - 1462:
            return None
        return (_EPOCH_1904 + dt.timedelta(days=days)).isoformat()
    if days == 60:
        return "1900-02-29"  # Excel keeps Lotus 1-2-3's leap day that never was
    if not 1 <= days <= _LAST_SERIAL:
        return None  # day 0 shows as 1900-01-00
    if days < 60:
        days += 1  # before the phantom leap day, serials run one day ahead of the calendar
    return (_EPOCH_1900 + dt.timedelta(days=days)).isoformat()


def render(value: Decimal, fmt: DateFormat, date1904: bool = False) -> str | None:
    """``value`` (a serial) as ``fmt`` shows it, in ISO form; None when that cannot be written
    faithfully (see the module docstring)."""
    if fmt.exotic or value < 0:
        return None
    moment = (value * _SECONDS).to_integral_value(rounding=decimal.ROUND_HALF_UP)
    days, seconds = divmod(int(moment), _SECONDS)
    hours, rest = divmod(seconds, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}" + (f":{rest % 60:02d}" if fmt.second else "")
    timed = fmt.hour or fmt.minute or fmt.second
    if timed and not (fmt.hour and fmt.minute):
        return None  # an hour alone, or minutes and seconds without the hour
    if not fmt.has_date:
        return clock if days <= _LAST_SERIAL else None
    day = _day(days, date1904)
    if day is None:
        return None
    if fmt.year and fmt.month and fmt.day:
        return f"{day} {clock}" if timed else day
    if timed or fmt.day or fmt.weekday:
        return None  # a day without its month or year, or a partial date with a time
    if fmt.year and fmt.month:
        return day[:7]
    return day[:4] if fmt.year else None


def serial(iso: str, date1904: bool = False) -> Decimal | None:
    """The serial of an ISO date or date-time (an xlsx cell of type ``d``); None if unreadable."""
    try:
        moment = dt.datetime.fromisoformat(iso.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    epoch = _EPOCH_1904 if date1904 else _EPOCH_1900
    days = (moment.date() - epoch).days
    if not date1904 and days <= 60:
        days -= 1  # before 1900-03-01 the serials carry the phantom leap day's offset
    since = dt.timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second)
    return Decimal(days) + Decimal(int(since.total_seconds())) / _SECONDS
