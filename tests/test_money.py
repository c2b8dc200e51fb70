"""Tests for ledgerrun.money: reading amounts exactly, or refusing them with the right code.

The scalar functions are the specification; every table row is also run through the array
functions (with the row's exponent and with an unknown exponent) so the two cannot drift apart,
and property tests compare them on arbitrary text.
"""

from __future__ import annotations

import builtins
import decimal
import pickle
import re
from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledgerrun import money
from ledgerrun.money import (
    CODES,
    CURRENCY_EXPONENTS,
    MAX_MINOR,
    MESSAGES,
    AmountError,
    check_major_text,
    check_minor_text,
    exponent,
    format_major,
    is_currency,
    parse_major,
    parse_major_array,
    parse_minor,
    parse_minor_array,
)
from ledgerrun.money.notation import Notation

EXPS = (0, 2, 3)
Outcome = tuple[int | None, str | None]  # (minor, code): exactly one is None, or both (null exp)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- helpers -----------------------------------------------------------------------------------


def scalar_major(text: str, exp: int | None) -> Outcome:
    """What the specification says; for an unknown exponent, only the currency-free checks."""
    try:
        if exp is None:
            check_major_text(text)
            return None, None
        return parse_major(text, exp), None
    except AmountError as err:
        return None, err.code


def scalar_minor(text: str, exp: int | None) -> Outcome:
    try:
        if exp is None:
            check_minor_text(text)
            return None, None
        return parse_minor(text, exp), None
    except AmountError as err:
        return None, err.code


def _run_array(
    fn: Callable[[pa.Array, pa.Array], tuple[pa.Array, pa.Array]],
    texts: list[str],
    exps: list[int | None],
) -> list[Outcome]:
    minor, codes = fn(pa.array(texts, pa.string()), pa.array(exps, pa.int8()))
    assert minor.type == pa.int64()
    assert codes.type == pa.string()
    assert len(minor) == len(codes) == len(texts)
    return list(zip(minor.to_pylist(), codes.to_pylist(), strict=True))


def array_major(texts: list[str], exps: list[int | None]) -> list[Outcome]:
    return _run_array(parse_major_array, texts, exps)


def array_minor(texts: list[str], exps: list[int | None]) -> list[Outcome]:
    return _run_array(parse_minor_array, texts, exps)


def _without_currency(expected: Outcome, too_large: bool) -> Outcome:
    """What the array forms report for the same text when the row's currency is unknown."""
    if too_large or expected[1] == "too_many_decimals":
        return None, None  # these depend on the currency
    return None, expected[1]


def check_major(text: str, exp: int, expected: Outcome, *, too_large: bool = False) -> None:
    """Scalar and array forms both give ``expected``, and agree when the currency is unknown."""
    assert scalar_major(text, exp) == expected
    without_currency = _without_currency(expected, too_large)
    assert scalar_major(text, None) == without_currency
    assert array_major([text, text], [exp, None]) == [expected, without_currency]


def check_minor(text: str, exp: int, expected: Outcome, *, too_large: bool = False) -> None:
    assert scalar_minor(text, exp) == expected
    without_currency = _without_currency(expected, too_large)
    assert scalar_minor(text, None) == without_currency
    assert array_minor([text, text], [exp, None]) == [expected, without_currency]


# --- currencies --------------------------------------------------------------------------------


def _codes(words: str) -> set[str]:
    return set(words.split())


ZERO_DECIMAL = _codes("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf")
THREE_DECIMAL = _codes("bhd jod kwd omr tnd")
MUST_HAVE = (
    _codes(
        """usd eur gbp chf cad aud nzd sek nok dkk pln czk huf isk ron try brl mxn ars cop pen inr
        idr myr php sgd hkd twd cny thb vnd krw jpy zar ngn kes egp mad aed sar qar ils iqd lyd
        bov che chw clf cou mxv usn uyi uyw xau xag xpd xpt xdr xsu xua xts xxx xcd xcg zwg sle
        ved ves mru stn"""
    )
    | ZERO_DECIMAL
    | THREE_DECIMAL
)


def test_table_shape() -> None:
    assert 170 <= len(CURRENCY_EXPONENTS) <= 190
    for code, exp in CURRENCY_EXPONENTS.items():
        assert re.fullmatch(r"[a-z]{3}", code), code
        assert exp in EXPS


def test_table_exponent_classes() -> None:
    assert {c for c, e in CURRENCY_EXPONENTS.items() if e == 0} == ZERO_DECIMAL
    assert {c for c, e in CURRENCY_EXPONENTS.items() if e == 3} == THREE_DECIMAL
    assert set(CURRENCY_EXPONENTS.values()) == {0, 2, 3}


def test_table_has_every_named_code() -> None:
    missing = MUST_HAVE - CURRENCY_EXPONENTS.keys()
    assert not missing
    for code in MUST_HAVE:
        expected = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
        assert CURRENCY_EXPONENTS[code] == expected, code


@pytest.mark.parametrize("code", ["isk", "huf", "clf", "iqd", "lyd", "twd", "uyw", "xau", "xxx"])
def test_product_rule_not_iso_minor_units(code: str) -> None:
    assert exponent(code) == 2


@pytest.mark.parametrize("code", ["hrk", "zwl", "ang", "bgn", "dem", "frf", "vef", "mro", "std"])
def test_withdrawn_codes_are_unknown(code: str) -> None:
    assert not is_currency(code)
    with pytest.raises(KeyError):
        exponent(code)


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        CURRENCY_EXPONENTS["usd"] = 0  # type: ignore[index]


@pytest.mark.parametrize(
    ("code", "exp"), [("USD", 2), ("usd", 2), ("Usd", 2), ("JPY", 0), ("jpy", 0), ("BhD", 3)]
)
def test_lookup_ignores_case(code: str, exp: int) -> None:
    assert is_currency(code)
    assert exponent(code) == exp


@pytest.mark.parametrize(
    "code", ["", "us", "usdd", "usx", "u d", " usd", "usd ", "\u212awd", "ＵＳＤ", "ıııı", "123"]
)
def test_unknown_codes(code: str) -> None:
    # "\u212awd" is KELVIN SIGN + "wd": its .lower() is "kwd", but it is not an ISO code.
    assert not is_currency(code)
    with pytest.raises(KeyError):
        exponent(code)


def test_non_string_code() -> None:
    assert not is_currency(None)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        exponent(840)  # type: ignore[arg-type]


# --- major amounts: table ----------------------------------------------------------------------

ACCEPTED_MAJOR = [
    ("15", 2, 1500),
    ("15.5", 2, 1550),
    ("15.00", 2, 1500),
    ("15.500", 2, 1550),
    ("1,500", 2, 150000),
    ("1,500.00", 2, 150000),
    ("12,345,678.90", 2, 1234567890),
    ("1,000,000", 2, 100000000),
    ("015.50", 2, 1550),
    ("00.5", 2, 50),
    ("0.5", 2, 50),
    ("0.01", 2, 1),
    ("0.29", 2, 29),
    ("1.15", 2, 115),
    ("000000000000000000000001.00", 2, 100),
    ("1.000000000000000000000000", 2, 100),
    ("9999999999999.99", 2, MAX_MINOR),
    ("9,999,999,999,999.99", 2, MAX_MINOR),
    # exponent 0
    ("1200", 0, 1200),
    ("1200.00", 0, 1200),
    ("1,200", 0, 1200),
    ("1", 0, 1),
    ("0001", 0, 1),
    ("15.0", 0, 15),
    (str(MAX_MINOR), 0, MAX_MINOR),
    # exponent 3: the last minor digit must be 0
    ("12.34", 3, 12340),
    ("12.340", 3, 12340),
    ("12.3400", 3, 12340),
    ("12.3", 3, 12300),
    ("12", 3, 12000),
    ("0.01", 3, 10),
    ("0.010", 3, 10),
    ("1,500.25", 3, 1500250),
    ("999999999999.99", 3, 999999999999990),
]


@pytest.mark.parametrize(("text", "exp", "minor"), ACCEPTED_MAJOR)
def test_major_accepted(text: str, exp: int, minor: int) -> None:
    check_major(text, exp, (minor, None))


BAD_SYNTAX = [
    # thousands separators in the wrong place
    "1,50", "15,00", "1500,000", ",500", "1,,500", "1,500,00", "1,5000", "1,500,0000", "1,",
    "1,500,", ",", "1,500.00,", "1.500,00", "0,500", "01,500", "00,001", "1,500.1,5",
    # currency symbols and words
    "$15", "15$", "€15", "£1,500.00", "¥1200", "USD15", "15 USD", "15usd", "CHF 15",
    # exponent notation, hex, special floats
    "1e3", "1E3", "1.5e2", "1e-2", "15e0", "0x1F", "NaN", "nan", "inf", "Infinity", "-inf",
    # signs other than one leading minus
    "+15", "+0", "+1,500.00", "--15", "-+15", "+-15", "- 15", "15-", "1-5", "(15)", "−15", "‐15",
    "-", "-.5", "-5.", "-,500",
    # dots
    ".5", "5.", ".", "..", "1.2.3", "15..0", "1..5", "1,500..00", "1.5.", ".1.5",
    # spaces and other separators inside
    "1 500", "15 .00", "15. 00", " 15", "15 ", "15\n", "\t15", "1\u00a0500", "1\u202f500",
    "1_500", "1'500", "1’500", "15,00 €",
    # non-ASCII digits and look-alikes
    "١٥", "１５", "۱۵", "१५", "15٫00", "1٬500", "½", "²", "15²", "𝟏𝟓", "Ⅻ", "15.５",
    # other junk
    "abc", "fifteen", "15/2", "15%", "15*2", "=15", "'15", '"15"', "0b101", "1_000.00",
]  # fmt: skip


@pytest.mark.parametrize("text", BAD_SYNTAX)
@pytest.mark.parametrize("exp", EXPS)
def test_major_bad_syntax(text: str, exp: int) -> None:
    check_major(text, exp, (None, "bad_amount"))


NON_POSITIVE_MAJOR = [
    "0", "00", "0.00", "0.0", "000.000", "-0", "-0.00", "-15", "-15.00", "-1,500.00",
    "-12,345,678.90", "-015.50", "-0.001", "-15.3", "-12.345", "-99999999999999999999",
]  # fmt: skip


@pytest.mark.parametrize("text", NON_POSITIVE_MAJOR)
@pytest.mark.parametrize("exp", EXPS)
def test_major_non_positive(text: str, exp: int) -> None:
    # A written minus wins over "too many decimals" and "too large": the row is plainly wrong.
    check_major(text, exp, (None, "non_positive_amount"))


TOO_MANY_DECIMALS = [
    ("15.3", 0),
    ("0.5", 0),
    ("1200.01", 0),
    ("1,500.5", 0),
    ("15.001", 2),
    ("0.001", 2),
    ("1.005", 2),
    ("15.5001", 2),
    ("0.0000000000000000000001", 2),
    ("12.345", 3),
    ("12.3450", 3),
    ("2.675", 3),
    ("0.001", 3),
    ("0.0001", 3),
    ("0.005", 3),
    # too many decimals is reported before "too large"
    ("99999999999999999999.001", 2),
    ("99999999999999999999.5", 0),
]


@pytest.mark.parametrize(("text", "exp"), TOO_MANY_DECIMALS)
def test_major_too_many_decimals(text: str, exp: int) -> None:
    check_major(text, exp, (None, "too_many_decimals"))


TOO_LARGE_MAJOR = [
    ("10000000000000", 2),  # 10**15 cents
    ("10000000000000.00", 2),
    ("10,000,000,000,000", 2),
    ("99999999999999999999", 2),
    ("1000000000000000", 0),
    ("1,000,000,000,000,000", 0),
    ("1000000000000", 3),
    ("9999999999999.99", 3),
    ("00000000000000000010000000000000.00000", 2),
    ("1" + "0" * 5000, 2),  # longer than Python's int() digit limit: must not crash
    ("1" + "0" * 5000 + ".00", 0),
]


@pytest.mark.parametrize(("text", "exp"), TOO_LARGE_MAJOR)
def test_major_too_large(text: str, exp: int) -> None:
    check_major(text, exp, (None, "bad_amount"), too_large=True)


@pytest.mark.parametrize("exp", EXPS)
def test_major_empty(exp: int) -> None:
    check_major("", exp, (None, "empty_value"))


@pytest.mark.parametrize(
    ("text", "exp"),
    [("9999999999999.99", 2), ("999999999999999", 0), ("999999999999.99", 3)],
)
def test_major_largest_accepted_and_one_more(text: str, exp: int) -> None:
    minor = parse_major(text, exp)
    assert minor <= MAX_MINOR
    step = 10 if exp == 3 else 1
    assert minor + step > MAX_MINOR
    check_major(format_major(minor + step, exp), exp, (None, "bad_amount"), too_large=True)


# --- minor amounts: table ----------------------------------------------------------------------

ACCEPTED_MINOR = [
    ("150000", 2, 150000),
    ("1", 2, 1),
    ("007", 2, 7),
    ("1200", 0, 1200),
    ("1", 0, 1),
    ("12340", 3, 12340),
    ("10", 3, 10),
    ("0010", 3, 10),
    (str(MAX_MINOR), 2, MAX_MINOR),
    (str(MAX_MINOR), 0, MAX_MINOR),
    (str(MAX_MINOR - 9), 3, MAX_MINOR - 9),
    ("0" * 100 + "5", 2, 5),
]


@pytest.mark.parametrize(("text", "exp", "minor"), ACCEPTED_MINOR)
def test_minor_accepted(text: str, exp: int, minor: int) -> None:
    check_minor(text, exp, (minor, None))


BAD_MINOR = [
    "+5", "1,500", "15.00", "15.", ".5", "1e3", " 5", "5 ", "5\n", "1 500", "١٥", "１５", "--5",
    "-", "+", "-+5", "5-", "$5", "5c", "0x10", "1_000", "abc", "−5", "²", "-5.0", "-,5",
]  # fmt: skip


@pytest.mark.parametrize("text", BAD_MINOR)
@pytest.mark.parametrize("exp", EXPS)
def test_minor_bad_syntax(text: str, exp: int) -> None:
    check_minor(text, exp, (None, "bad_amount"))


@pytest.mark.parametrize("text", ["0", "000", "-0", "-5", "-150000", "-12345", "-1" + "0" * 30])
@pytest.mark.parametrize("exp", EXPS)
def test_minor_non_positive(text: str, exp: int) -> None:
    check_minor(text, exp, (None, "non_positive_amount"))


@pytest.mark.parametrize("text", ["12345", "5", "1", "99", "1000000000000001", "1" * 40])
def test_minor_three_decimal_must_end_in_zero(text: str) -> None:
    check_minor(text, 3, (None, "too_many_decimals"))
    assert parse_minor(text[:15], 2) == int(text[:15])  # fine in a two-decimal currency


@pytest.mark.parametrize(
    ("text", "exp"),
    [("1000000000000000", 2), ("1000000000000000", 0), ("1000000000000000", 3),
     ("1" + "0" * 5000, 2), ("99999999999999999999", 0)],
)  # fmt: skip
def test_minor_too_large(text: str, exp: int) -> None:
    check_minor(text, exp, (None, "bad_amount"), too_large=True)


@pytest.mark.parametrize("exp", EXPS)
def test_minor_empty(exp: int) -> None:
    check_minor("", exp, (None, "empty_value"))


# --- no floats ---------------------------------------------------------------------------------


def test_never_through_float() -> None:
    # int(float(text) * 100) gives 1998, 28 and 123456788 for the first three.
    assert parse_major("19.99", 2) == 1999
    assert parse_major("0.29", 2) == 29
    assert parse_major("1234567.89", 2) == 123456789
    assert parse_major("1234567890123.99", 2) == 123456789012399
    assert parse_major("9,999,999,999,999.99", 2) == 999999999999999
    # Rounding through a float would accept these; they must be refused.
    assert scalar_major("1.005", 2) == (None, "too_many_decimals")
    assert scalar_major("2.675", 3) == (None, "too_many_decimals")
    assert scalar_major("999999999999.999", 2) == (None, "too_many_decimals")
    texts = ["19.99", "0.29", "1234567.89", "1234567890123.99", "1.005", "2.675"]
    assert array_major(texts, [2, 2, 2, 2, 2, 3]) == [
        (1999, None),
        (29, None),
        (123456789, None),
        (123456789012399, None),
        (None, "too_many_decimals"),
        (None, "too_many_decimals"),
    ]
    assert parse_minor("999999999999999", 2) == 999999999999999
    assert array_minor(["999999999999999", "999999999999998"], [2, 0]) == [
        (999999999999999, None),
        (999999999999998, None),
    ]


def test_sixteen_digit_amount_is_too_large_not_approximated() -> None:
    # 12345678901234.99 USD is 1,234,567,890,123,499 cents: 16 digits, above MAX_MINOR. It is
    # refused whole; it is never approximated or cut.
    check_major("12345678901234.99", 2, (None, "bad_amount"), too_large=True)
    check_minor("1234567890123499", 2, (None, "bad_amount"), too_large=True)


def test_scalar_functions_do_not_call_float(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_float(*args: object) -> float:
        raise AssertionError("float() was called")

    monkeypatch.setattr(builtins, "float", no_float)
    assert parse_major("1234567890123.99", 2) == 123456789012399
    assert parse_minor("123456789012399", 2) == 123456789012399
    assert format_major(123456789012399, 2, grouping=True) == "1,234,567,890,123.99"


def test_float_and_number_columns_are_refused() -> None:
    exps = pa.array([2], pa.int8())
    for column in (pa.array([15.5]), pa.array([1550]), pa.array([Decimal("15.50")])):
        with pytest.raises(TypeError):
            parse_major_array(column, exps)
        with pytest.raises(TypeError):
            parse_minor_array(column, exps)


@given(whole=st.integers(0, 10**13 - 1), cents=st.integers(0, 99))
@PROPERTY
def test_two_decimals_read_digit_for_digit(whole: int, cents: int) -> None:
    text = f"{whole}.{cents:02d}"
    expected = int(f"{whole}{cents:02d}")  # the digits themselves, no arithmetic at all
    if expected == 0:
        assert scalar_major(text, 2) == (None, "non_positive_amount")
    else:
        assert parse_major(text, 2) == expected


# --- format_major ------------------------------------------------------------------------------

FORMATS = [
    (150000, 2, False, "1500.00"),
    (150000, 2, True, "1,500.00"),
    (1200, 0, False, "1200"),
    (1200, 0, True, "1,200"),
    (12340, 3, False, "12.340"),
    (12340, 3, True, "12.340"),
    (1, 2, False, "0.01"),
    (5, 3, False, "0.005"),
    (0, 2, False, "0.00"),
    (0, 0, False, "0"),
    (100, 2, True, "1.00"),
    (99999, 2, True, "999.99"),
    (100000, 2, True, "1,000.00"),
    (123456789, 0, True, "123,456,789"),
    (1234567890, 2, True, "12,345,678.90"),
    (MAX_MINOR, 2, True, "9,999,999,999,999.99"),
    (MAX_MINOR, 0, False, "999999999999999"),
    (-150, 2, False, "-1.50"),
    (-150000, 2, True, "-1,500.00"),
]


@pytest.mark.parametrize(("minor", "exp", "grouping", "text"), FORMATS)
def test_format_major(minor: int, exp: int, grouping: bool, text: str) -> None:
    assert format_major(minor, exp, grouping=grouping) == text
    if minor > 0 and not (exp == 3 and minor % 10):
        assert parse_major(text, exp) == minor


@pytest.mark.parametrize("minor", [1.5, 15.0, True, Decimal(15), "15", None])
def test_format_major_wants_an_int(minor: object) -> None:
    with pytest.raises(TypeError):
        format_major(minor, 2)  # type: ignore[arg-type]


@pytest.mark.parametrize("exp", [1, 4, -1, 6, True, 2.0, None])
def test_unsupported_exponent(exp: object) -> None:
    for call in (
        lambda: format_major(100, exp),  # type: ignore[arg-type]
        lambda: parse_major("1", exp),  # type: ignore[arg-type]
        lambda: parse_minor("1", exp),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError) as info:
            call()
        assert not isinstance(info.value, AmountError)


# --- AmountError -------------------------------------------------------------------------------


def test_amount_error() -> None:
    with pytest.raises(AmountError) as info:
        parse_major("12.345", 2)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.code == "too_many_decimals"
    assert "12.345" in err.message
    assert "round" in err.message
    assert str(err) == err.message
    again = pickle.loads(pickle.dumps(err))
    assert (again.code, again.message) == (err.code, err.message)
    assert AmountError("bad_amount").message == MESSAGES["bad_amount"]
    with pytest.raises(ValueError):
        AmountError("rounded")


def test_every_code_has_a_sentence() -> None:
    assert set(MESSAGES) == set(CODES)
    examples = {
        "empty_value": "",
        "bad_amount": "1,50",
        "non_positive_amount": "-15.00",
        "too_many_decimals": "15.3",
    }
    for code, text in examples.items():
        with pytest.raises(AmountError) as info:
            parse_major(text, 0)
        assert info.value.code == code
        assert info.value.message.endswith(".")
        assert info.value.message[0].isupper()


def test_message_shows_long_or_odd_text_safely() -> None:
    with pytest.raises(AmountError) as info:
        parse_major("1\n" + "9" * 500, 2)
    assert len(info.value.message) < 400
    assert "\n" not in info.value.message


def test_message_names_the_limit() -> None:
    with pytest.raises(AmountError) as info:
        parse_major("10000000000000", 2)
    assert "9,999,999,999,999.99" in info.value.message


@pytest.mark.parametrize("text", [None, 15, 15.5, b"15"])
def test_scalar_parsers_want_text(text: object) -> None:
    for fn in (parse_major, parse_minor):
        with pytest.raises(TypeError):
            fn(text, 2)  # type: ignore[arg-type]


# --- array forms: plumbing ---------------------------------------------------------------------


def test_array_accepts_chunked_and_other_string_types() -> None:
    texts = ["1,500.00", "x", "", "15.3", "-1", "12.345"]
    exps = [2, 2, 2, 0, 2, 3]
    expected = [scalar_major(t, e) for t, e in zip(texts, exps, strict=True)]
    variants = [
        pa.chunked_array([pa.array(texts[:2]), pa.array(texts[2:])]),
        pa.array(texts, pa.large_string()),
        pa.array(texts, pa.string_view()),
        pa.array(texts).dictionary_encode(),
    ]
    exps_variants = [
        pa.chunked_array([pa.array(exps[:4], pa.int64()), pa.array(exps[4:], pa.int64())]),
        pa.array(exps, pa.int8()),
        pa.array(exps, pa.uint8()),
        pa.array(exps, pa.int32()),
    ]
    for values, exps_array in zip(variants, exps_variants, strict=True):
        minor, codes = parse_major_array(values, exps_array)
        assert isinstance(minor, pa.Array | pa.ChunkedArray)  # chunked input stays chunked
        assert list(zip(minor.to_pylist(), codes.to_pylist(), strict=True)) == expected


def test_array_null_value_is_empty() -> None:
    minor, codes = parse_major_array(pa.array(["15", None]), pa.array([2, 2]))
    assert minor.to_pylist() == [1500, None]
    assert codes.to_pylist() == [None, "empty_value"]
    minor, codes = parse_minor_array(pa.array([None, "15"]), pa.array([2, None]))
    assert minor.to_pylist() == [None, None]
    assert codes.to_pylist() == ["empty_value", None]


def test_array_all_exponents_unknown() -> None:
    texts = ["15", "x", "", "-1", "15.3", "1" + "0" * 30]
    for fn in (parse_major_array, parse_minor_array):
        minor, codes = fn(pa.array(texts), pa.nulls(len(texts)))
        assert minor.null_count == len(texts)
        assert "too_many_decimals" not in codes.to_pylist()


@pytest.mark.parametrize("fn", [parse_major_array, parse_minor_array])
def test_array_empty(fn: Callable[[pa.Array, pa.Array], tuple[pa.Array, pa.Array]]) -> None:
    minor, codes = fn(pa.array([], pa.string()), pa.array([], pa.int8()))
    assert (len(minor), len(codes)) == (0, 0)
    minor, codes = fn(pa.chunked_array([], pa.string()), pa.chunked_array([], pa.int8()))
    assert (minor.type, codes.type) == (pa.int64(), pa.string())


@pytest.mark.parametrize("fn", [parse_major_array, parse_minor_array])
def test_array_rejects_bad_exps(
    fn: Callable[[pa.Array, pa.Array], tuple[pa.Array, pa.Array]],
) -> None:
    values = pa.array(["1", "2"])
    with pytest.raises(ValueError):
        fn(values, pa.array([2]))  # wrong length
    with pytest.raises(ValueError):
        fn(values, pa.array([2, 1]))  # no currency has one decimal
    with pytest.raises(TypeError):
        fn(values, pa.array([2.0, 2.0]))
    with pytest.raises(TypeError):
        fn(["1", "2"], pa.array([2, 2]))


# --- properties --------------------------------------------------------------------------------

exps_st = st.sampled_from(EXPS)
minor_st = st.integers(1, MAX_MINOR)


@given(minor=minor_st, exp=exps_st, grouping=st.booleans())
@PROPERTY
@example(minor=MAX_MINOR, exp=2, grouping=True)
@example(minor=1, exp=3, grouping=False)
@example(minor=10, exp=3, grouping=False)
def test_format_then_parse_round_trips(minor: int, exp: int, grouping: bool) -> None:
    text = format_major(minor, exp, grouping=grouping)
    if exp == 3 and minor % 10:
        assert scalar_major(text, exp) == (None, "too_many_decimals")
    else:
        assert parse_major(text, exp) == minor
    assert array_major([text], [exp]) == [scalar_major(text, exp)]


@given(minors=st.lists(minor_st, min_size=1, max_size=50), grouping=st.booleans())
@PROPERTY
def test_format_then_parse_round_trips_in_arrays(minors: list[int], grouping: bool) -> None:
    minors = [m * 10 for m in minors if m * 10 <= MAX_MINOR] or [10]
    for exp in EXPS:
        texts = [format_major(m, exp, grouping=grouping) for m in minors]
        assert array_major(texts, [exp] * len(texts)) == [(m, None) for m in minors]


@given(minor=minor_st, exp=exps_st)
@PROPERTY
def test_minor_text_round_trips(minor: int, exp: int) -> None:
    if exp == 3 and minor % 10:
        assert scalar_minor(str(minor), exp) == (None, "too_many_decimals")
    else:
        assert parse_minor(str(minor), exp) == minor
    assert array_minor([str(minor)], [exp]) == [scalar_minor(str(minor), exp)]


# Well-formed major amounts, with everything the grammar allows.
@st.composite
def well_formed_major(draw: st.DrawFn) -> str:
    whole = draw(st.integers(0, 10**17) | st.integers(0, 10**4))
    if whole >= 1000 and draw(st.booleans()):
        text = f"{whole:,}"
    else:
        text = "0" * draw(st.integers(0, 3)) + str(whole)
    if draw(st.booleans()):
        text += "." + draw(st.text("0123456789", min_size=1, max_size=6))
    if draw(st.integers(0, 5)) == 0:
        text = "-" + text
    return text


def decimal_oracle(text: str, exp: int) -> Outcome:
    """The rules applied with exact decimal arithmetic, for grammatical text."""
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        value = Decimal(text.replace(",", ""))
        if text.startswith("-") or value == 0:
            return None, "non_positive_amount"
        minor = value.scaleb(exp)
        if minor != minor.to_integral_value() or (exp == 3 and int(minor) % 10):
            return None, "too_many_decimals"
        if minor > MAX_MINOR:
            return None, "bad_amount"
        return int(minor), None


@given(text=well_formed_major(), exp=exps_st)
@PROPERTY
def test_well_formed_amounts_match_exact_decimal_arithmetic(text: str, exp: int) -> None:
    assert scalar_major(text, exp) == decimal_oracle(text, exp)


@st.composite
def too_precise(draw: st.DrawFn) -> tuple[str, int]:
    exp = draw(exps_st)
    allowed = 2 if exp == 3 else exp
    whole = draw(st.integers(0, 10**20))
    text = f"{whole:,}" if draw(st.booleans()) else str(whole)
    kept = draw(st.text("0123456789", min_size=allowed, max_size=allowed))
    excess = draw(st.text("0123456789", min_size=1, max_size=8).filter(lambda s: s.strip("0")))
    trailing = "0" * draw(st.integers(0, 3))
    return f"{text}.{kept}{excess}{trailing}", exp


@given(case=too_precise())
@PROPERTY
def test_excess_non_zero_decimals_are_always_refused(case: tuple[str, int]) -> None:
    text, exp = case
    assert scalar_major(text, exp) == (None, "too_many_decimals")
    assert array_major([text], [exp]) == [(None, "too_many_decimals")]


@given(minor=st.integers(1, MAX_MINOR // 10), last=st.integers(1, 9))
@PROPERTY
def test_three_decimal_minor_amounts_must_end_in_zero(minor: int, last: int) -> None:
    text = str(minor * 10 + last)
    assert scalar_minor(text, 3) == (None, "too_many_decimals")
    assert array_minor([text], [3]) == [(None, "too_many_decimals")]


# Characters that can never appear in an amount, wherever they are put.
FOREIGN_DIGITS = st.characters(categories=["Nd", "No", "Nl"]).filter(
    lambda c: c not in "0123456789"
)
BAD_CHARS = st.one_of(
    st.sampled_from(list("$€£¥+_'\"/\\()%*#=eExXabcz:;!?−‐–")),
    st.sampled_from([" ", "\t", "\n", "\r", "\u00a0", "\u2009", "\u202f", "\u3000"]),
    FOREIGN_DIGITS,
)


@st.composite
def malformed_major(draw: st.DrawFn) -> str:
    """Text that is not an amount: a well-formed amount broken in one of the known ways."""
    minor = draw(minor_st)
    good = format_major(minor, draw(exps_st), grouping=draw(st.booleans()))
    kind = draw(st.sampled_from(["char", "group", "exponent", "sign", "dot", "digit", "space"]))
    if kind == "char":
        at = draw(st.integers(0, len(good)))
        return good[:at] + draw(BAD_CHARS) + good[at:]
    if kind == "group":
        first = draw(st.integers(1, 9999))
        sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
        if all(size == 3 for size in sizes) and first < 1000:
            sizes[draw(st.integers(0, len(sizes) - 1))] = draw(st.sampled_from([1, 2, 4, 5]))
        groups = [str(first)] + [draw(st.text("0123456789", min_size=n, max_size=n)) for n in sizes]
        text = ",".join(groups)
        edge = draw(st.sampled_from(["", "lead", "trail", "double"]))
        if edge == "lead":
            text = "," + text
        elif edge == "trail":
            text = text + ","
        elif edge == "double":
            text = text.replace(",", ",,", 1)
        return text + draw(st.sampled_from(["", ".00", ".5"]))
    if kind == "exponent":
        mark = draw(st.sampled_from(["e", "E", "e+", "e-", "E-"]))
        return good + mark + str(draw(st.integers(0, 20)))
    if kind == "sign":
        prefix = draw(st.sampled_from(["+", "+-", "-+", "--", "- ", "−", "++"]))
        if draw(st.booleans()):
            return prefix + good
        at = draw(st.integers(1, len(good)))
        return good[:at] + draw(st.sampled_from(["-", "+"])) + good[at:]
    if kind == "dot":
        where = draw(st.sampled_from(["lead", "trail", "second"]))
        if where == "lead":
            return "." + good.replace(",", "")
        if where == "trail":
            return good + "."
        text = good if "." in good else good + ".5"
        at = draw(st.integers(0, len(text)))
        return text[:at] + "." + text[at:]
    if kind == "digit":
        positions = [i for i, c in enumerate(good) if c.isdigit()]
        at = draw(st.sampled_from(positions))
        return good[:at] + draw(FOREIGN_DIGITS) + good[at + 1 :]
    at = draw(st.integers(1, max(1, len(good) - 1)))
    return good[:at] + draw(st.sampled_from([" ", "  ", "\u00a0"])) + good[at:]


@given(text=malformed_major())
@PROPERTY
@example(text="1,50")
@example(text="0,500")
@example(text="1e3")
def test_malformed_major_is_refused(text: str) -> None:
    for exp in EXPS:
        with pytest.raises(AmountError) as info:
            parse_major(text, exp)
        assert info.value.code == "bad_amount", text
    with pytest.raises(AmountError):
        check_major_text(text)
    assert array_major([text] * 4, [0, 2, 3, None]) == [(None, "bad_amount")] * 4


@st.composite
def malformed_minor(draw: st.DrawFn) -> str:
    good = str(draw(minor_st))
    at = draw(st.integers(0, len(good)))
    kind = draw(st.sampled_from(["char", "separator", "sign", "digit"]))
    if kind == "char":
        return good[:at] + draw(BAD_CHARS) + good[at:]
    if kind == "separator":
        return good[:at] + draw(st.sampled_from([",", ".", "_", "'"])) + good[at:]
    if kind == "sign":
        if at == 0:
            return draw(st.sampled_from(["+", "--", "-+", "+-", "−"])) + good
        return good[:at] + draw(st.sampled_from(["-", "+"])) + good[at:]
    at = min(at, len(good) - 1)
    return good[:at] + draw(FOREIGN_DIGITS) + good[at + 1 :]


@given(text=malformed_minor())
@PROPERTY
def test_malformed_minor_is_refused(text: str) -> None:
    for exp in EXPS:
        with pytest.raises(AmountError) as info:
            parse_minor(text, exp)
        assert info.value.code == "bad_amount", text
    assert array_minor([text] * 4, [0, 2, 3, None]) == [(None, "bad_amount")] * 4


# Agreement between the scalar specification and the array forms.
NEAR = "0123456789,.-+ e٣"
near_valid = st.one_of(
    st.text(NEAR, max_size=24),
    well_formed_major(),
    malformed_major(),
    st.text("0123456789", max_size=24),
    st.builds(lambda m: str(m), minor_st),
    st.builds(lambda s: "0" * 20 + s, st.text("0123456789,.", max_size=20)),
)
rows = st.lists(st.tuples(st.text() | near_valid, st.sampled_from([*EXPS, None])), max_size=40)


@given(rows=rows)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_major_array_agrees_with_scalar(rows: list[tuple[str, int | None]]) -> None:
    texts = [text for text, _ in rows]
    exps = [exp for _, exp in rows]
    assert array_major(texts, exps) == [scalar_major(t, e) for t, e in rows]


@given(rows=rows)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_minor_array_agrees_with_scalar(rows: list[tuple[str, int | None]]) -> None:
    texts = [text for text, _ in rows]
    exps = [exp for _, exp in rows]
    assert array_minor(texts, exps) == [scalar_minor(t, e) for t, e in rows]


# A column of nothing but plain amounts in currencies of 0 or 2 decimals (a ledger as usual)
# takes a shorter way through parse_major_array; it must agree with the specification too, in
# every notation that allows a negative amount, with the column in one piece or in several.
plain_column = st.lists(
    st.tuples(well_formed_major() | st.builds(str, minor_st), st.sampled_from([0, 2])),
    min_size=1,
    max_size=40,
)


@given(
    rows=plain_column,
    three=st.booleans(),
    negatives=st.booleans(),
    cut=st.integers(0, 40),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(rows=[("1,500.50", 2), ("0012.5", 2), ("7", 0)], three=False, negatives=True, cut=1)
@example(rows=[("-1.00", 2), ("0.00", 2)], three=False, negatives=False, cut=0)
@example(
    rows=[("99999999999999.99", 2), ("999999999999999", 0)], three=False, negatives=True, cut=0
)
def test_plain_columns_agree_with_scalar(
    rows: list[tuple[str, int]], three: bool, negatives: bool, cut: int
) -> None:
    if three:  # one row in a currency of three decimals: the general way again
        rows = [*rows, ("1.000", 3)]
    notation = Notation(written=negatives, negatives=negatives)
    texts = [text for text, _ in rows]
    cut = min(cut, len(texts))
    column = pa.chunked_array([texts[:cut], texts[cut:]], pa.string())
    minor, codes = parse_major_array(
        column, pa.array([e for _, e in rows], pa.int8()), notation=notation
    )
    assert isinstance(minor, pa.ChunkedArray) and isinstance(codes, pa.ChunkedArray)
    assert minor.type == pa.int64() and codes.type == pa.string()
    got = list(zip(minor.to_pylist(), codes.to_pylist(), strict=True))
    expected: list[Outcome] = []
    for text, exp in rows:
        try:
            expected.append((parse_major(text, exp, notation=notation), None))
        except AmountError as err:
            expected.append((None, err.code))
    assert got == expected


@given(text=st.text())
@PROPERTY
def test_arbitrary_text_never_crashes(text: str) -> None:
    for exp in EXPS:
        for parse in (parse_major, parse_minor):
            try:
                value = parse(text, exp)
            except AmountError as err:
                assert err.code in CODES
            else:
                assert 1 <= value <= MAX_MINOR
                assert re.fullmatch(r"-?[0-9][0-9,]*(\.[0-9]+)?", text)


def test_module_exports() -> None:
    for name in money.__all__:
        assert hasattr(money, name)
    assert MAX_MINOR == 10**15 - 1


# --- the package and exact sums ----------------------------------------------------------------


def test_the_package_keeps_its_public_names_and_its_three_parts() -> None:
    from ledgerrun.money import arrays, scalar, table

    assert money.parse_major is scalar.parse_major
    assert money.parse_major_array is arrays.parse_major_array
    assert money.CURRENCY_EXPONENTS is table.CURRENCY_EXPONENTS
    assert money.parse_major("1,500.00", money.exponent("USD")) == 150000


def test_exact_sum_does_not_wrap_where_arrow_sum_does() -> None:
    import pyarrow.compute as pc

    rows = pa.array([MAX_MINOR] * 9224, pa.int64())
    assert pc.sum(rows).as_py() < 0  # what an int64 sum gives: wrapped round to negative
    assert money.exact_sum(rows) == MAX_MINOR * 9224
    assert money.exact_sum(pa.chunked_array([rows, pa.array([None, 5], pa.int64())])) == (
        MAX_MINOR * 9224 + 5
    )
    assert money.exact_sum(pa.array([], pa.int64())) == 0
    assert money.exact_sum(pa.nulls(3, pa.int64())) == 0


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40))
@PROPERTY
def test_exact_sum_equals_python_sum(values: list[int]) -> None:
    assert money.exact_sum(pa.array(values, pa.int64())) == sum(values)
