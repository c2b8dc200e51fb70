"""Currencies and their exponents: how many decimal places each one has.

Currencies
    ``CURRENCY_EXPONENTS`` maps every active ISO 4217 alphabetic code (lower-case) to the number of
    decimal places the product uses for it. These follow Stripe, not ISO's minor-unit column:

    * 0 for BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF;
    * 3 for BHD JOD KWD OMR TND;
    * 2 for every other code (including ISK, HUF, CLF, IQD and LYD, and the funds, metals and
      special codes such as BOV, XAU, XDR and XTS, and the code for "no currency").

    Codes are matched without regard to case, but only plain ASCII letters count (so a look-alike
    such as the Kelvin sign in "\\u212aWD" is not KWD).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# --- the table ----------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_ZERO_DECIMAL: Final = frozenset(
    _words("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf")
)
_THREE_DECIMAL: Final = frozenset(_words("bhd jod kwd omr tnd"))

# Active ISO 4217 alphabetic codes (list one), as of late 2026. Withdrawn codes are left out on
# purpose: HRK (Croatia, euro since 2023), ZWL (replaced by ZWG in 2024), ANG (replaced by XCG in
# 2025), BGN (Bulgaria, euro since 2026).
_ACTIVE_CODES: Final = _words("""
    aed afn all amd aoa ars aud awg azn bam bbd bdt bhd bif bmd bnd bob bov brl bsd btn bwp byn bzd
    cad cdf che chf chw clf clp cny cop cou crc cuc cup cve czk djf dkk dop dzd egp ern etb eur fjd
    fkp gbp gel ghs gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr iqd irr isk jmd jod jpy kes kgs
    khr kmf kpw krw kwd kyd kzt lak lbp lkr lrd lsl lyd mad mdl mga mkd mmk mnt mop mru mur mvr mwk
    mxn mxv myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar
    sbd scr sdg sek sgd shp sle sll sos srd ssp stn svc syp szl thb tjs tmt tnd top try ttd twd tzs
    uah ugx usd usn uyi uyu uyw uzs ved ves vnd vuv wst xaf xag xau xba xbb xbc xbd xcd xcg xdr xof
    xpd xpf xpt xsu xts xua xxx yer zar zmw zwg
""")


def _build_table() -> Mapping[str, int]:
    table: dict[str, int] = {}
    for code in sorted(_ACTIVE_CODES):
        if code in table:  # pragma: no cover - guards against an edit that repeats a code
            raise AssertionError(f"currency {code} listed twice")
        table[code] = 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2
    if not table.keys() >= _ZERO_DECIMAL | _THREE_DECIMAL:  # pragma: no cover
        raise AssertionError("an exponent class names a code missing from the table")
    return MappingProxyType(table)


CURRENCY_EXPONENTS: Final[Mapping[str, int]] = _build_table()
"""Lower-case ISO 4217 code -> number of decimal places (0, 2 or 3). Read-only."""

EXPONENTS: Final = (0, 2, 3)
SCALE: Final[Mapping[int, int]] = MappingProxyType({exp: 10**exp for exp in EXPONENTS})

MAX_MINOR: Final = 10**15 - 1
"""The largest amount, in minor units, ledgerrun accepts."""

MAX_MINOR_DIGITS: Final = len(str(MAX_MINOR))  # 15


def _normal_code(code: object) -> str | None:
    if isinstance(code, str) and code.isascii():
        return code.lower()
    return None


def is_currency(code: str) -> bool:
    """True if ``code`` is an active ISO 4217 code, in any letter case."""
    normal = _normal_code(code)
    return normal is not None and normal in CURRENCY_EXPONENTS


def exponent(code: str) -> int:
    """Decimal places of ``code`` (any letter case); ``KeyError`` if it is not a known currency."""
    normal = _normal_code(code)
    if normal is None or normal not in CURRENCY_EXPONENTS:
        raise KeyError(code)
    return CURRENCY_EXPONENTS[normal]


# --- symbols -----------------------------------------------------------------------------------

# Currency symbols as finance systems write them beside an amount (``$1,234.56``, ``1.234,56 €``,
# ``kr 100``), and the currencies each one is the local symbol of. A row's own ISO code counts
# too (``USD 12.00``). Letters are matched in any case; other characters exactly.
_SYMBOL_TEXT: Final = {
    "$": """usd cad aud nzd sgd hkd mxn twd ars clp cop uyu cup dop bsd bbd bzd bmd kyd xcd jmd
         ttd fjd lrd nad sbd srd gyd cve""",
    "US$": "usd",
    "U$S": "usd",
    "C$": "cad",
    "CA$": "cad",
    "Can$": "cad",
    "A$": "aud",
    "AU$": "aud",
    "NZ$": "nzd",
    "HK$": "hkd",
    "S$": "sgd",
    "MX$": "mxn",
    "Mex$": "mxn",
    "$U": "uyu",
    "NT$": "twd",
    "R$": "brl",
    "€": "eur",
    "£": "gbp gip fkp shp",
    "¥": "jpy cny",
    "￥": "jpy cny",
    "円": "jpy",
    "元": "cny",
    "CN¥": "cny",
    "RMB": "cny",
    "₹": "inr",
    "₩": "krw",
    "원": "krw",
    "₽": "rub",
    "руб.": "rub",
    "₺": "try",
    "TL": "try",
    "₪": "ils",
    "₫": "vnd",
    "฿": "thb",
    "₱": "php",
    "₦": "ngn",
    "₴": "uah",
    "₸": "kzt",
    "₡": "crc",
    "₲": "pyg",
    "₵": "ghs",
    "zł": "pln",
    "Kč": "czk",
    "Ft": "huf",
    "kr": "sek nok dkk isk",
    "kr.": "dkk isk",
    "lei": "ron",
    "Fr.": "chf",
    "SFr.": "chf",
    "R": "zar",
    "RM": "myr",
    "Rp": "idr",
    "Rs": "inr pkr lkr npr",
    "Rs.": "inr pkr lkr npr",
}


def symbol_key(text: str) -> str:
    """How a symbol is compared: ASCII letters upper-cased, every other character as it is."""
    return text.translate(_ASCII_UPPER)


_ASCII_UPPER: Final = {code: code - 32 for code in range(ord("a"), ord("z") + 1)}


def _build_symbols() -> Mapping[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for symbol, codes in _SYMBOL_TEXT.items():
        key = symbol_key(symbol)
        currencies = frozenset(codes.split())
        if key in table or not currencies <= CURRENCY_EXPONENTS.keys():  # pragma: no cover
            raise AssertionError(f"symbol {symbol} listed twice or for an unknown currency")
        if key.lower() in CURRENCY_EXPONENTS:  # pragma: no cover
            raise AssertionError(f"symbol {symbol} reads as another currency's code")
        table[key] = currencies
    for code in CURRENCY_EXPONENTS:
        table[code.upper()] = frozenset((code,))
    return MappingProxyType(table)


SYMBOLS: Final[Mapping[str, frozenset[str]]] = _build_symbols()
"""A symbol's key (:func:`symbol_key`) -> the currencies it stands for; every ISO code (upper
case) stands for itself."""


def symbol_owners(symbol: str) -> frozenset[str]:
    """The currencies ``symbol`` is written for (lower-case codes); empty when it is no symbol."""
    return SYMBOLS.get(symbol_key(symbol), frozenset())
