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
