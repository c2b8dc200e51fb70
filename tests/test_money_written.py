"""Amounts as finance systems write them: the row's currency symbol, accounting negatives, the
decimal comma. The scalar parser is the specification; the array parser must agree with it on
every text, currency and notation (a property test), as for the plain grammar."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerrun.money import CURRENCY_EXPONENTS, AmountError, check_major_text, parse_major
from ledgerrun.money.arrays import parse_major_array, parse_minor_array
from ledgerrun.money.notation import PLAIN, Notation
from ledgerrun.money.scalar import parse_minor
from ledgerrun.money.table import symbol_owners

DOT = Notation(".", written=True, negatives=True)
COMMA = Notation(",", written=True, negatives=True)
DOT_REFUSING = Notation(".", written=True)
Outcome = tuple[int | None, str | None]


def scalar(text: str, currency: str | None, notation: Notation) -> Outcome:
    try:
        if currency is None:
            check_major_text(text, notation=notation)
            return None, None
        exp = CURRENCY_EXPONENTS[currency]
        return parse_major(text, exp, notation=notation, currency=currency), None
    except AmountError as err:
        return None, err.code


def array(rows: list[tuple[str, str | None]], notation: Notation) -> list[Outcome]:
    texts = pa.array([t for t, _ in rows], pa.string())
    codes = [c for _, c in rows]
    exps = pa.array([None if c is None else CURRENCY_EXPONENTS[c] for c in codes], pa.int8())
    minor, found = parse_major_array(
        texts, exps, notation=notation, currencies=pa.array(codes, pa.string())
    )
    return list(zip(minor.to_pylist(), found.to_pylist(), strict=True))


def both(text: str, currency: str, notation: Notation) -> Outcome:
    expected = scalar(text, currency, notation)
    assert array([(text, currency)], notation) == [expected]
    return expected


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("$1,681.21", "usd", 168121),
        ("$ 1,681.21", "usd", 168121),
        ("1,681.21 $", "usd", 168121),
        ("USD 1,681.21", "usd", 168121),
        ("1681.21usd", "usd", 168121),
        ("US$12.00", "usd", 1200),
        ("($50.00)", "usd", -5000),
        ("$(50.00)", "usd", -5000),
        ("(50.00)", "usd", -5000),
        ("-$50.00", "usd", -5000),
        ("$-50.00", "usd", -5000),
        ("50.00-", "usd", -5000),
        ("€1,234.56", "eur", 123456),
        ("£3.10", "gbp", 310),
        ("¥1,200", "jpy", 1200),
        ("kr 100.50", "sek", 10050),
        ("$20.00", "cad", 2000),  # the dollar sign is the Canadian dollar's own
        ("( $ 7.25 )", "usd", -725),
    ],
)
def test_symbols_and_accounting_negatives(text: str, currency: str, minor: int) -> None:
    assert both(text, currency, DOT) == (minor, None)


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("1.234,56", 123456),
        ("1.234,56 €", 123456),
        ("€ 1.234,56", 123456),
        ("1 234,56", 123456),
        ("1\u00a0234,56 €", 123456),
        ("1\u202f234,56", 123456),
        ("1234,5", 123450),
        ("0,5", 50),
        ("1.234", 123400),  # with a decimal comma, the dot groups thousands
        ("(1.234,56)", -123456),
        ("1.234,56-", -123456),
        ("12.345.678,90", 1234567890),
    ],
)
def test_the_decimal_comma(text: str, minor: int) -> None:
    assert both(text, "eur", COMMA) == (minor, None)


@pytest.mark.parametrize(
    ("text", "currency", "notation", "words"),
    [
        ("€50.00", "usd", DOT, ["'€' (EUR)", "row's currency is USD", "never converts"]),
        ("$50.00", "eur", DOT, ["'$'", "USD", "row's currency is EUR"]),
        ("EUR 5", "usd", DOT, ["'EUR' (EUR)"]),
        ("5 XYZ", "usd", DOT, ["'XYZ'", "not a currency symbol"]),
        ("1.234,56", "usd", DOT, ['[ledger] decimal = ","', "decimal comma"]),
        ("1234,56", "usd", DOT, ['[ledger] decimal = ","']),
        ("1,234.56", "eur", COMMA, ["decimal point", 'the job says [ledger] decimal = ","']),
        ("-(50.00)", "usd", DOT, ["negative twice"]),
        ("--50.00", "usd", DOT, ["negative twice"]),
        ("(50.00", "usd", DOT, ["parentheses do not pair"]),
        ("$5 €", "usd", DOT, ["two currency symbols"]),
        ("1e3", "usd", DOT, ["not a number"]),
        ("+50.00", "usd", DOT, ["not a number"]),
        ("- 50.00", "usd", DOT, ["not a number"]),
        ("1,5", "eur", DOT, ['[ledger] decimal = ","']),
        ("1.5", "eur", COMMA, ["decimal point"]),
    ],
)
def test_refused_with_the_likely_cause(
    text: str, currency: str, notation: Notation, words: list[str]
) -> None:
    assert both(text, currency, notation) == (None, "bad_amount")
    with pytest.raises(AmountError) as info:
        parse_major(text, CURRENCY_EXPONENTS[currency], notation=notation, currency=currency)
    for word in words:
        assert word in info.value.message, (word, info.value.message)


def test_without_negatives_a_negative_is_not_positive_and_zero_never_is() -> None:
    assert both("($50.00)", "usd", DOT_REFUSING) == (None, "non_positive_amount")
    assert both("50.00-", "usd", DOT_REFUSING) == (None, "non_positive_amount")
    assert both("$0.00", "usd", DOT) == (None, "non_positive_amount")
    assert both("(0,00)", "eur", COMMA) == (None, "non_positive_amount")


def test_a_symbol_of_another_currency_comes_before_the_sign_and_the_decimals() -> None:
    assert both("(€50.005)", "usd", DOT_REFUSING) == (None, "bad_amount")
    assert both("$50.005", "usd", DOT) == (None, "too_many_decimals")
    assert both("(¥1.5)", "jpy", DOT) == (None, "too_many_decimals")


def test_the_plain_notation_is_section_twos_grammar() -> None:
    for text in ("$5", "(5)", "5-", "5 €"):
        with pytest.raises(AmountError) as info:
            parse_major(text, 2)
        assert info.value.code == "bad_amount"
    assert parse_major("1,234.56", 2, notation=PLAIN) == 123456


def test_minor_units_may_be_negative_only_when_asked() -> None:
    assert parse_minor("-5000", 2, negatives=True) == -5000
    with pytest.raises(AmountError):
        parse_minor("-5000", 2)
    minor, codes = parse_minor_array(
        pa.array(["-5000", "0", "12"]), pa.array([2, 2, 2], pa.int8()), negatives=True
    )
    assert minor.to_pylist() == [-5000, None, 12]
    assert codes.to_pylist() == [None, "non_positive_amount", None]


def test_the_symbol_table_knows_shared_symbols() -> None:
    assert {"usd", "cad", "aud"} <= symbol_owners("$")
    assert symbol_owners("€") == {"eur"} and symbol_owners("usd") == {"usd"}
    assert symbol_owners("KR") == symbol_owners("kr") and symbol_owners("") == frozenset()


# --- the array form agrees with the specification ----------------------------------------------

PIECES = st.sampled_from(
    ["$", "€", "£", "kr", "USD", "eur", "(", ")", "-", " ", "\u00a0", ",", ".", "e", "+", "0"]
)
NUMBERS = st.sampled_from(
    ["1,234.56", "1.234,56", "1 234,56", "0", "50", "0.5", "12.345", "9,999,999,999,999.99"]
)
TEXTS = st.one_of(
    st.text(max_size=12),
    st.builds(lambda a, n, b: "".join(a) + n + b, st.lists(PIECES, max_size=3), NUMBERS, PIECES),
    st.lists(st.one_of(PIECES, NUMBERS), max_size=5).map("".join),
)
CURRENCIES = st.sampled_from(["usd", "eur", "jpy", "bhd", "cad", "sek", None])
NOTATIONS = st.sampled_from(
    [DOT, COMMA, DOT_REFUSING, Notation(",", written=True), Notation(","), PLAIN]
)


@given(rows=st.lists(st.tuples(TEXTS, CURRENCIES), max_size=30), notation=NOTATIONS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_array_form_agrees_with_the_scalar_specification(
    rows: list[tuple[str, str | None]], notation: Notation
) -> None:
    assert array(rows, notation) == [scalar(t, c, notation) for t, c in rows]


@given(minor=st.integers(1, 10**13), negative=st.booleans(), symbol=st.booleans())
@settings(max_examples=150, deadline=None)
def test_a_written_amount_reads_back_exactly(minor: int, negative: bool, symbol: bool) -> None:
    whole, cents = divmod(minor, 100)
    text = f"{whole:,}.{cents:02d}"
    german = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    if symbol:
        text, german = "$" + text, german + " $"
    if negative:
        text, german = f"({text})", german + "-"
    expected = -minor if negative else minor
    assert both(text, "usd", DOT) == (expected, None)
    assert both(german, "usd", COMMA) == (expected, None)
