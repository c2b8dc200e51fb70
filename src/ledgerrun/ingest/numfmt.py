"""What a spreadsheet shows for a number: Excel's number formats, applied to the stored value.

An xlsx cell stores a number as text in the file (``0.30000000000000004``, ``12.345``) and a
number format to show it with (``0.00``, ``00000``, ``#,##0``, ``yyyy-mm-dd``). Two rules:

* An **amount** (:func:`exact`) is the stored number at Excel's 15 significant digits, written in
  full without an exponent: ``0.30000000000000004`` is ``0.3``; ``12.345`` shown as ``12.35`` is
  still ``12.345``. The format never rounds an amount, and its currency symbols and text are
  ignored.
* **Any other number** (:func:`shown`) is what the format displays: ``456`` as ``00000`` is
  ``00456``, ``1234.5`` as ``#,##0.00`` is ``1,234.50``, a date is ``YYYY-MM-DD``. Supported:
  General, ``0``, zero padding, fixed decimals, thousands separators, ``@``, quoted text and
  currency symbols around the number, sections for negative numbers and zero, and dates. Anything
  else (percentages, fractions, exponents, conditions, times) falls back to the 15-significant-
  digit form, which is what Excel's formula bar shows.

Arithmetic is decimal throughout: the stored text is never turned into a float.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from dataclasses import dataclass
from decimal import Decimal

_CONTEXT = decimal.Context(prec=1000, rounding=decimal.ROUND_HALF_UP, Emax=10**6, Emin=-(10**6))
SIGNIFICANT = 15

# Excel's built-in formats by id (the ones a workbook need not spell out).
BUILTIN: dict[int, str] = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)',
    6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    37: "#,##0_);(#,##0)",
    38: "#,##0_);[Red](#,##0)",
    39: "#,##0.00_);(#,##0.00)",
    40: "#,##0.00_);[Red](#,##0.00)",
    41: '_(* #,##0_);_(* (#,##0);_(* "-"_);_(@_)',
    42: '_("$"* #,##0_);_("$"* (#,##0);_("$"* "-"_);_(@_)',
    43: '_(* #,##0.00_);_(* (#,##0.00);_(* "-"??_);_(@_)',
    44: '_("$"* #,##0.00_);_("$"* (#,##0.00);_("$"* "-"??_);_(@_)',
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
    48: "##0.0E+0",
    49: "@",
}
BUILTIN.update(dict.fromkeys([*range(27, 37), *range(50, 59)], "yyyy-mm-dd"))  # East Asian dates


def number(text: str) -> Decimal | None:
    """The stored number, exactly; None when the text is not a finite number."""
    try:
        value = Decimal(text.strip())
    except decimal.InvalidOperation:
        return None
    return value if value.is_finite() else None


def significant(value: Decimal) -> Decimal:
    """``value`` rounded to Excel's 15 significant digits."""
    if not value:
        return Decimal(0)
    step = Decimal(1).scaleb(value.adjusted() - SIGNIFICANT + 1)
    return value.quantize(step, context=_CONTEXT)


def plain(value: Decimal) -> str:
    """Written in full, without an exponent or trailing zeros: ``1E+2`` is ``100``."""
    if not value:
        return "0"
    return format(value.normalize(_CONTEXT), "f")


def exact(text: str) -> str:
    """An amount cell: the stored number at 15 significant digits, written in full."""
    value = number(text)
    return text.strip() if value is None else plain(significant(value))


def general(value: Decimal) -> str:
    """Excel's General format: up to 15 significant digits; an exponent only for a number too
    large or too small to show in full (``1.23456789012346E+18``)."""
    rounded = significant(value)
    if not rounded or -10 <= rounded.adjusted() < SIGNIFICANT:
        return plain(rounded)
    return format(rounded.normalize(_CONTEXT), "E")


def shown(text: str, code: str, date1904: bool = False) -> str:
    """A number cell (not an amount) as its number format ``code`` displays it."""
    value = number(text)
    if value is None:
        return text.strip()
    sections = _parse(code)
    if sections is None:
        return general(value)
    if sections[0].date:
        return _date(value, date1904) or general(value)
    section, signed = sections[0], value
    if value < 0 and len(sections) > 1:
        section, signed = sections[1], -value  # the section writes its own sign, if any
    elif not value and len(sections) > 2:
        section = sections[2]
    if section.date:
        return _date(value, date1904) or general(value)
    return section.render(signed)


# --- formats -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    prefix: str = ""
    suffix: str = ""
    general: bool = False  # "General" (with text around it) rather than digit placeholders
    digits: bool = False  # has digit placeholders
    int_min: int = 0  # zeros before the point: the least digits the whole part shows
    grouping: bool = False
    dec_min: int = 0  # zeros after the point
    dec_max: int = 0  # zeros, # and ? after the point
    point: bool = False
    date: bool = False

    def render(self, value: Decimal) -> str:
        if self.general or not self.digits:
            body = general(value) if self.general else ""
            return self.prefix + body + self.suffix
        sign = "-" if value < 0 else ""
        rounded = significant(abs(value)).quantize(
            Decimal(1).scaleb(-self.dec_max), context=_CONTEXT
        )
        whole, _, fraction = format(rounded, "f").partition(".")
        fraction = fraction.rstrip("0").ljust(self.dec_min, "0")
        if whole == "0" and self.int_min == 0:
            whole = ""
        whole = whole.rjust(self.int_min, "0")
        if self.grouping and whole:
            whole = f"{int(whole):,}".rjust(len(whole) + (len(whole) - 1) // 3, "0")
        dot = "." if fraction or self.point else ""
        if not rounded:
            sign = ""
        return f"{self.prefix}{sign}{whole}{dot}{fraction}{self.suffix}"


class _Exotic(Exception):
    """A format outside what ledgerrun renders; the value falls back to General."""


@functools.lru_cache(maxsize=256)
def _parse(code: str) -> tuple[_Section, ...] | None:
    if not code or code.lower() in ("general", "@"):
        return None
    try:
        return tuple(_section(part) for part in _split(code)[:3])
    except _Exotic:
        return None


def _split(code: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(code):
        ch = code[i]
        if ch == '"':
            end = code.find('"', i + 1)
            end = len(code) - 1 if end < 0 else end
            current.append(code[i : end + 1])
            i = end + 1
            continue
        if ch == "\\" and i + 1 < len(code):
            current.append(code[i : i + 2])
            i += 2
            continue
        if ch == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


_DATE_LETTERS = set("ymdhsYMDHS")


def _section(code: str) -> _Section:
    before: list[str] = []
    after: list[str] = []
    pattern: list[str] = []
    letters: set[str] = set()
    general = False
    i = 0
    while i < len(code):
        ch = code[i]
        literal: str | None = None
        if ch == '"':
            end = code.find('"', i + 1)
            end = len(code) if end < 0 else end
            literal, i = code[i + 1 : end], end + 1
        elif ch == "\\":
            literal, i = code[i + 1 : i + 2], i + 2
        elif ch in "_*":
            literal, i = "", i + 2  # padding and fill: nothing a value needs
        elif ch == "[":
            end = code.find("]", i)
            inner = code[i + 1 : end] if end > 0 else ""
            if inner.startswith("$"):
                literal = inner[1:].split("-")[0]
            elif not inner.isalpha() and not inner.lower().startswith("color"):
                raise _Exotic  # conditions, elapsed times
            i = (end if end > 0 else len(code)) + 1
        elif code[i : i + 7].lower() == "general":
            if pattern:
                raise _Exotic
            general, i = True, i + 7
            literal = ""
        elif ch in "0#?.,":
            if after or general:
                raise _Exotic  # text between digit placeholders, as in 000-00-0000
            pattern.append(ch)
            i += 1
            continue
        elif ch in "%@" or (ch in "Ee" and code[i + 1 : i + 2] in ("+", "-")):
            raise _Exotic
        elif ch == "/" and pattern:
            raise _Exotic  # a fraction, as in # ?/?; between date parts it is a separator
        elif ch in _DATE_LETTERS or code[i : i + 5].upper() == "AM/PM":
            letters.add(ch.lower())
            i += 5 if code[i : i + 5].upper() == "AM/PM" else 1
            continue
        else:
            literal, i = ch, i + 1
        if literal is not None:
            (after if pattern or general else before).append(literal)
    if letters:
        if letters & {"d", "y"} or letters == {"m"}:
            return _Section(date=True)
        raise _Exotic  # a time of day
    return _digits("".join(before), "".join(after), "".join(pattern), general)


def _digits(prefix: str, suffix: str, pattern: str, general: bool) -> _Section:
    if general:
        return _Section(prefix=prefix, suffix=suffix, general=True)
    whole, point, fraction = pattern.partition(".")
    if whole.endswith(",") or "," in fraction or "." in fraction:
        raise _Exotic  # scaling by thousands, or a second point
    return _Section(
        prefix=prefix,
        suffix=suffix,
        digits=bool(pattern.strip(".,")),
        int_min=whole.count("0"),
        grouping="," in whole,
        dec_min=fraction.count("0"),
        dec_max=len(fraction),
        point=bool(point) and not fraction,
    )


def _date(value: Decimal, date1904: bool) -> str | None:
    """A date serial as ``YYYY-MM-DD`` (the time of day dropped); None when it is no date."""
    days = int(value.to_integral_value(rounding=decimal.ROUND_FLOOR))
    try:
        if date1904:
            day = dt.date(1904, 1, 1) + dt.timedelta(days=days)
        elif days == 60:
            return "1900-02-29"  # Excel keeps Lotus 1-2-3's leap day that never was
        elif 1 <= days < 60:
            day = dt.date(1899, 12, 31) + dt.timedelta(days=days)
        elif days > 60:
            day = dt.date(1899, 12, 30) + dt.timedelta(days=days)
        else:
            return None
    except OverflowError:
        return None
    return day.isoformat() if days >= 0 else None
