"""How amounts are written: the grammars the scalar and the array parsers share.

:data:`PLAIN` is the ledger template's own grammar (section 2 of the spec): digits, commas only
between groups of three, a dot before the decimals, nothing else. Finance systems write more, and
a job reads their exports as written with :class:`Notation` (``written=True``):

- the **row's own currency symbol or code**, before or after the number, with or without a
  space: ``$1,681.21``, ``1.234,56 €``, ``USD 12.00``, ``kr 100``; a symbol that belongs to
  another currency, or is no currency symbol at all, is refused (never converted, never ignored);
- **negatives** written with a leading minus (``-50.00``, ``-$50.00``, ``$-50.00``), a trailing
  minus (``50.00-``, as SAP writes them) or accounting parentheses (``(50.00)``, ``($50.00)``,
  ``$(50.00)``); exactly one of these, so ``-(50.00)`` is refused rather than guessed;
- with ``decimal = ","``, a **decimal comma**, thousands grouped by ``.`` or a space (a no-break
  space too): ``1.234,56``, ``1 234,56``. The decimal mark is never guessed: ``1.234,56`` read
  with a decimal point does not match, and the message names the setting.

An exponent (``1e3``), a ``+`` sign, spaces inside the digits (except as a decimal-comma
notation's thousands separator) and anything else are refused as before. Whatever the notation,
the value is exact: these grammars only find the digits, the decimal mark and the sign.

The patterns are written for both Python's ``re`` (the scalar specification) and RE2 (the
vectorised form): literal characters only, no look-around, no back-references.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DECIMAL_MARKS: Final = (".", ",")
SPACES: Final = " \u00a0\u202f"  # a space, a no-break space, a narrow no-break space
_WS: Final = f"[{SPACES}]*"
# A symbol: anything that cannot be part of the number or the sign (whether it is a currency
# symbol is decided after the match, against the table of symbols).
_SYMBOL: Final = f"[^0-9.,()+\\-{SPACES}]+"
_NUMBER: Final = {
    ".": r"(?:[0-9]+|[1-9][0-9]{0,2}(?:,[0-9]{3})+)(?:\.[0-9]+)?",
    ",": (
        r"(?:[0-9]+|[1-9][0-9]{0,2}(?:\.[0-9]{3})+"
        f"|[1-9][0-9]{{0,2}}(?:[{SPACES}][0-9]{{3}})+)(?:,[0-9]+)?"
    ),
}


@dataclass(frozen=True)
class Notation:
    """How a ledger's amounts are written (see the module docstring).

    ``decimal`` is the decimal mark of amounts written as text; ``written`` allows the row's
    currency symbol, accounting parentheses and a trailing minus; ``negatives`` makes a negative
    amount a value (a negative number of minor units) rather than ``non_positive_amount``."""

    decimal: str = "."
    written: bool = False
    negatives: bool = False

    def __post_init__(self) -> None:
        if self.decimal not in DECIMAL_MARKS:
            raise ValueError(f"decimal must be one of {DECIMAL_MARKS}, not {self.decimal!r}")

    def number(self) -> str:
        """The pattern of the unsigned number, without anchors."""
        return _NUMBER[self.decimal]

    def plain(self) -> str:
        """The pattern of a plain amount: an optional leading minus and the number (groups
        ``sign`` and ``num``)."""
        return f"(?P<sign>-?)(?P<num>{self.number()})"

    def pattern(self) -> str:
        """The full pattern of the notation, without anchors. Groups: ``o1``/``o2`` an opening
        parenthesis, ``c1``/``c2`` a closing one, ``s1``...``s4`` a minus, ``pre``/``post`` a
        symbol, ``num`` the number. Only the written notation has more than ``sign``/``num``."""
        if not self.written:
            return self.plain()
        return (
            f"(?P<o1>\\(?){_WS}(?P<s1>-?)(?:(?P<pre>{_SYMBOL}){_WS})?(?P<o2>\\(?)(?P<s2>-?)"
            f"(?P<num>{self.number()})(?P<s3>-?)(?P<c2>\\)?)(?:{_WS}(?P<post>{_SYMBOL}))?"
            f"(?P<s4>-?){_WS}(?P<c1>\\)?)"
        )

    def other(self) -> Notation:
        """The same notation with the other decimal mark (to say which one a text looks like)."""
        return Notation("," if self.decimal == "." else ".", self.written, self.negatives)

    def digits(self, number: str) -> tuple[str, str]:
        """A matched number's whole and decimal digits, separators removed."""
        whole, _, fraction = number.partition(self.decimal)
        return "".join(c for c in whole if c.isascii() and c.isdigit()), fraction


PLAIN: Final = Notation()
"""Section 2's grammar: ``1,500.00``; no symbol, no parentheses, a leading minus only."""
