"""What a spreadsheet shows for a number: Excel's number formats, applied to the stored value.

An xlsx cell stores a number as text in the file (``0.30000000000000004``, ``12.345``) and a
number format to show it with (``0.00``, ``00000``, ``#,##0``, ``yyyy-mm-dd``). Two rules:

* An **amount** (:func:`exact`) is the stored number at Excel's 15 significant digits, written in
  full without an exponent: ``0.30000000000000004`` is ``0.3``; ``12.345`` shown as ``12.35`` is
  still ``12.345``. The format never rounds an amount. Whether what the format shows *is* the
  amount (not a date, a percentage, another currency, fewer decimals) is judged against the row's
  currency by :mod:`~ledgerrun.ingest.moneyfmt`, from the :class:`Section` that shows it.
* **Any other number** (:func:`shown`) is what the format displays: ``456`` as ``00000`` is
  ``00456``, ``1234.5`` as ``#,##0.00`` is ``1,234.50``, ``0.25`` as ``0%`` is ``25%``, a date
  is written in ISO form (``2026-01-05``, ``2026-01-05 14:30``: :mod:`~ledgerrun.ingest.datefmt`).
  Supported: General, ``0``, zero padding, fixed decimals, thousands separators, ``@``, quoted
  text and currency symbols around the number, sections for negative numbers and zero,
  percentages, scientific notation, dates and times. Anything else (fractions, conditions,
  elapsed times, text between digits) is not shown faithfully (:func:`display` says so) and falls
  back to the 15-significant-digit form, which is what Excel's formula bar shows.

Arithmetic is decimal throughout: the stored text is never turned into a float.
"""

from __future__ import annotations

import decimal
import functools
import re
from dataclasses import dataclass, replace
from decimal import Decimal

from ledgerrun.ingest import datefmt

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
    return display(text, code, date1904)[0]


def display(text: str, code: str, date1904: bool = False) -> tuple[str, bool]:
    """A number cell as its format shows it, and whether that is faithful: False when ledgerrun
    cannot render the format (a fraction, a condition, an elapsed time, a date it cannot write
    in full), in which case the text is the 15-significant-digit form (Excel's formula bar)."""
    value = number(text)
    if value is None:
        return text.strip(), True
    chosen = section_for(value, code)
    if chosen is None:
        return general(value), True
    section, signed = chosen
    rendered = section.render(signed, date1904)
    if rendered is not None:
        return rendered, True
    if section.date is not None and section.date.has_date:  # at least the whole date, then
        return datefmt.render(value, datefmt.WHOLE, date1904) or general(value), False
    return general(value), False


def section_for(value: Decimal, code: str) -> tuple[Section, Decimal] | None:
    """The section of ``code`` that shows ``value``, with the value it renders (a negative
    number's own section writes its sign itself); None for General and text formats."""
    sections = parse(code)
    if sections is None:
        return None
    section, signed = sections[0], value
    if sections[0].kind == "date":
        return section, value
    if value < 0 and len(sections) > 1:
        section, signed = sections[1], -value
    elif not value and len(sections) > 2:
        section = sections[2]
    return section, signed


# --- formats -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One section of a number format: its kind, the text around the number, its placeholders.

    ``kind`` is ``general``, ``number``, ``percent``, ``scientific``, ``fraction``, ``date``
    (dates and times: ``date`` says which parts) or ``exotic`` (conditions, scaling, text
    between digits: nothing ledgerrun renders)."""

    kind: str = "number"
    prefix: str = ""
    suffix: str = ""
    digits: bool = False  # has digit placeholders
    int_min: int = 0  # zeros before the point: the least digits the whole part shows
    int_places: int = 0  # placeholders before the point
    grouping: bool = False
    dec_min: int = 0  # zeros after the point
    dec_max: int = 0  # zeros, # and ? after the point
    point: bool = False
    exp_min: int = 0  # scientific: the least digits of the exponent
    exp_plus: bool = False  # scientific: E+ (the exponent's sign always shown) rather than E-
    date: datefmt.DateFormat | None = None

    @property
    def text(self) -> str:
        """The text the section adds around the number (a currency symbol, a label)."""
        return self.prefix + self.suffix

    def render(self, value: Decimal, date1904: bool = False) -> str | None:
        """``value`` as this section shows it; None when ledgerrun cannot render it."""
        if self.kind == "date":
            assert self.date is not None
            return datefmt.render(value, self.date, date1904)
        if self.kind == "general":
            return self.prefix + general(value) + self.suffix
        if self.kind == "percent":
            return self._number(value * 100)
        if self.kind == "scientific":
            return self._scientific(value)
        if self.kind == "number":
            return self._number(value)
        return None

    def _digits(self, value: Decimal) -> str:
        """``abs(value)`` through the placeholders, without the text around it."""
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
        return f"{whole}{dot}{fraction}"

    def _number(self, value: Decimal) -> str:
        if not self.digits:
            return self.prefix + self.suffix
        body = self._digits(value)
        sign = "-" if value < 0 and body.strip("0.,") else ""
        return f"{self.prefix}{sign}{body}{self.suffix}"

    def _scientific(self, value: Decimal) -> str | None:
        if self.int_places != 1:
            return None  # engineering notation (##0.0E+0): exponents in steps of the places
        exponent = 0
        mantissa = significant(abs(value))
        if mantissa:
            exponent = mantissa.adjusted()
            mantissa = mantissa.scaleb(-exponent)
            step = Decimal(1).scaleb(-self.dec_max)
            if mantissa.quantize(step, context=_CONTEXT) >= 10:
                exponent, mantissa = exponent + 1, mantissa.scaleb(-1)
        sign = "-" if value < 0 else ""
        power = "-" if exponent < 0 else ("+" if self.exp_plus else "")
        body = self._digits(mantissa) + "E" + power + str(abs(exponent)).rjust(self.exp_min, "0")
        return f"{self.prefix}{sign}{body}{self.suffix}"


class _Exotic(Exception):
    """A format outside what ledgerrun renders."""


@functools.lru_cache(maxsize=256)
def parse(code: str) -> tuple[Section, ...] | None:
    """The sections of a number format (at most three: positive, negative, zero); None for
    General and the text format ``@``."""
    if not code or code.lower() in ("general", "@"):
        return None
    out = []
    for part in _split(code)[:3]:
        try:
            out.append(_section(part))
        except _Exotic:
            out.append(Section(kind="fraction" if _fraction(part) else "exotic"))
    return tuple(out)


def _fraction(code: str) -> bool:
    """A fraction such as ``# ?/?`` or ``?/8``: a slash between digit placeholders, no date."""
    bare = re.sub(r'"[^"]*"?|\\.|\[[^\]]*\]?', "", code)
    if "AM/PM" in bare.upper() or "A/P" in bare.upper() or set(bare) & _DATE_LETTERS:
        return False
    return bool(re.search(r"[0#?]\s*/\s*[0-9#?]", bare))


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


def _section(code: str) -> Section:
    before: list[str] = []
    after: list[str] = []
    pattern: list[str] = []
    exponent: list[str] = []
    letters: set[str] = set()
    general = percent = slash = False
    plus: bool | None = None  # scientific: E+ or E-
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
            elif inner and set(inner.lower()) <= set("hms"):
                letters.add("h")  # an elapsed time, [h]:mm
            elif not inner.isalpha() and not inner.lower().startswith("color"):
                raise _Exotic  # conditions such as [>=100]
            i = (end if end > 0 else len(code)) + 1
        elif code[i : i + 7].lower() == "general":
            if pattern:
                raise _Exotic
            general, i = True, i + 7
            literal = ""
        elif ch in "0#?.," and plus is not None:
            if ch in "0#?":
                exponent.append(ch)
            i += 1
            continue
        elif ch in "0#?.,":
            if after or general:
                raise _Exotic  # text between digit placeholders, as in 000-00-0000
            pattern.append(ch)
            i += 1
            continue
        elif ch in "Ee" and code[i + 1 : i + 2] in ("+", "-") and pattern:
            plus, i = code[i + 1] == "+", i + 2
            continue
        elif ch == "%":
            percent, literal, i = True, "%", i + 1
        elif ch == "/":
            slash, i = True, i + 1
            continue
        elif ch == "@":
            raise _Exotic
        elif ch in _DATE_LETTERS or code[i : i + 5].upper() == "AM/PM":
            letters.add(ch.lower())
            i += 5 if code[i : i + 5].upper() == "AM/PM" else 1
            continue
        else:
            literal, i = ch, i + 1
        if literal is not None:
            (after if pattern or general else before).append(literal)
    if letters:
        return Section(kind="date", date=datefmt.parse(code))
    if slash:
        if not pattern:
            raise _Exotic
        return Section(kind="fraction")
    prefix, suffix = "".join(before), "".join(after)
    if general:
        return Section(kind="general", prefix=prefix, suffix=suffix)
    section = _digits(prefix, suffix, "".join(pattern))
    if plus is not None:
        kind = "scientific"
        return replace(section, kind=kind, exp_min=exponent.count("0"), exp_plus=plus)
    return replace(section, kind="percent") if percent else section


def _digits(prefix: str, suffix: str, pattern: str) -> Section:
    whole, point, fraction = pattern.partition(".")
    if whole.endswith(",") or "," in fraction or "." in fraction:
        raise _Exotic  # scaling by thousands, or a second point
    return Section(
        prefix=prefix,
        suffix=suffix,
        digits=bool(pattern.strip(".,")),
        int_min=whole.count("0"),
        int_places=sum(whole.count(c) for c in "0#?"),
        grouping="," in whole,
        dec_min=fraction.count("0"),
        dec_max=len(fraction),
        point=bool(point) and not fraction,
    )
