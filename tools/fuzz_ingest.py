"""Fuzz the ingest stage for as long as you like: random and mutated ledgers through
validate --offline and plan --offline (the library path), until one escapes with an exception.

    .venv/bin/python tools/fuzz_ingest.py --seconds 600 [--seed 7] [--keep out/fuzz]

Each case is a CSV file (random bytes, a sample ledger mutated byte by byte, or a ledger put
together from troublesome cells), a sample workbook with its bytes or its XML mutated, or a
workbook of typed cells in every column (dates, times, logical values, errors, formulas with and
without their values, numbers under assorted formats). Each is
validated with ``ledgerrun.ingest.validate.check`` and planned with
``ledgerrun.send.plan.build_plan``; nothing may escape but problems, and no money cell of a typed
workbook may become an amount it does not show. A failing case is written to
``--keep`` and the program exits 1, printing how to replay it. ``make test`` runs the same idea
for a few seconds (tests/ingest/test_fuzz.py); this is the long run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import io
import random
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
RUN_DATE = dt.date(2026, 11, 26)

TOKENS = [
    b",",
    b'"',
    b'""',
    b"\n",
    b"\r\n",
    b"\r",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    "\u200b".encode(),
    "\u00a0".encode(),
    "é".encode(),
    "e\u0301".encode(),
    b"-",
    b".",
    b"0",
    b"9" * 20,
    b"1e3",
    b"#N/A",
    b"acct_",
    b"usd",
    b"KWD",
    b"credit",
    b"debit",
    b"charge",
    b"metadata.",
    b"adjustment_id,account,amount,currency\n",
    b",,,\n",
    b"\n\n",
]

CELLS = [
    "",
    " ",
    "A-1",
    "a-1",
    "0007",
    "7",
    "café",
    "cafe\u0301",
    "A\u200bB",
    "x\ny",
    'say "hi"',
    "acct_1ConnAA000000",
    "acct_1ConnBA000001",
    "acct-1",
    "1,500.00",
    "15.5",
    "1.235",
    "0",
    "-3",
    "1e3",
    "$5",
    "99999999999999999999",
    "100000.01",
    "9,999,999,999,999.99",
    "usd",
    "USD",
    "jpy",
    "kwd",
    "zzz",
    "debit",
    "CREDIT",
    "sideways",
    "transfer",
    "charge",
    "wire",
    "#N/A",
    "=SUM(A1)",
    "\x00",
    "d" * 1200,
]

COLUMNS = [
    "adjustment_id",
    "account",
    "amount",
    "amount_minor",
    "currency",
    "direction",
    "method",
    "description",
    "metadata.invoice",
    "metadata.ledgerrun_x",
    "note",
    "",
]


def seeds() -> list[bytes]:
    """The sample CSV ledgers, the material mutations start from."""
    paths = [
        SAMPLES / "adjustments.csv",
        SAMPLES / "bad_adjustments.csv",
        ROOT / "docs" / "templates" / "ledger-template.csv",
        *sorted((SAMPLES / "broken").glob("*.csv")),
    ]
    found = []
    for path in paths:
        if path.exists():
            data = path.read_bytes()
            found.append(data[:6000])  # the head: enough structure, quick to validate
    return found or [b"adjustment_id,account,amount,currency\nA,acct_1A,1.00,usd\n"]


def mutate(rng: random.Random, data: bytes, steps: int | None = None) -> bytes:
    """``data`` with a few random edits: tokens inserted, bytes flipped, ranges cut or repeated."""
    out = bytearray(data)
    for _ in range(steps if steps is not None else rng.randint(1, 8)):
        at = rng.randint(0, len(out))
        kind = rng.randrange(5)
        if kind == 0:
            out[at:at] = rng.choice(TOKENS)
        elif kind == 1 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif kind == 2:
            del out[at : at + rng.randint(1, 40)]
        elif kind == 3:
            out[at:at] = out[max(0, at - rng.randint(1, 60)) : at] * rng.randint(1, 3)
        else:
            end = out.find(b"\n", at)
            out[at:at] = b"\n" if end < 0 else out[at : end + 1]
    return bytes(out)


def quote(cell: str) -> str:
    if any(ch in cell for ch in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def assembled(rng: random.Random) -> bytes:
    """A ledger put together from troublesome headers and cells, maybe under a title."""
    columns = rng.sample(COLUMNS, rng.randint(1, len(COLUMNS)))
    lines = []
    if rng.random() < 0.2:
        lines.append("Adjustments, November")
    if rng.random() < 0.2:
        lines.append("")
    lines.append(",".join(quote(c) for c in columns))
    for _ in range(rng.randint(0, 12)):
        width = len(columns) + (rng.choice([-1, 1]) if rng.random() < 0.1 else 0)
        lines.append(",".join(quote(rng.choice(CELLS)) for _ in range(max(width, 0))))
    if rng.random() < 0.3:
        lines.append(",".join(["", "", rng.choice(["12.00", "0", "x"]), "usd"]))
    ending = rng.choice(["\n", "\r\n", "\r"])
    return (ending.join(lines) + rng.choice([ending, ""])).encode()


def workbook(rng: random.Random) -> bytes:
    """A sample workbook with its bytes, or the XML inside it, mutated."""
    source = SAMPLES / rng.choice(["adjustments.xlsx", "finance_export.xlsx"])
    data = source.read_bytes()
    if rng.random() < 0.3:
        return mutate(rng, data, rng.randint(1, 4))
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    name = rng.choice([n for n in parts if n.endswith((".xml", ".rels"))])
    parts[name] = mutate(rng, parts[name][:20000], rng.randint(1, 6))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for part, content in parts.items():
            book.writestr(part, content)
    return out.getvalue()


# --- workbooks of typed cells --------------------------------------------------------------------

# Number formats a money cell may carry, each with the decimals it shows (None: all of them, as
# General does) and the currencies it shows an amount of (None: any). Whatever is not listed as
# showing the amount never may: a row whose money cell carries it is never valid.
SHOWS_AMOUNT: dict[str, tuple[int | None, frozenset[str] | None]] = {
    "General": (None, None),
    "@": (None, None),
    "0.00": (2, None),
    "#,##0.00": (2, None),
    "0": (0, None),
    "#,##0": (0, None),
    "0.000": (3, None),
    '_("$"* #,##0.00_);_("$"* (#,##0.00);_("$"* "-"??_);_(@_)': (2, frozenset({"usd", "cad"})),
    "[$€-407] #,##0.00": (2, frozenset({"eur"})),
    '#,##0.00 "USD"': (2, frozenset({"usd"})),
}
NOT_AMOUNT_FORMATS = [
    "0%",
    "0.00%",
    "0.00E+00",
    "# ?/?",
    "yyyy-mm-dd",
    "m/d/yyyy",
    "d-mmm",
    "h:mm",
    "[h]:mm:ss",
    "m/d/yyyy h:mm",
    '0.00 "kg"',
    "[>100]0.00;0",
    "#,##0,",
    "000-00-0000",
    '"£"#,##0.00',
]
FORMATS = [*SHOWS_AMOUNT, *NOT_AMOUNT_FORMATS]
NUMBERS = ["1500", "1234.56", "12.3", "12.30", "0.25", "46027", "46027.5", "1234.5", "12.345",
           "1.25", "0.1", "7", "-3", "0", "100000.01", "1E+20", "0.30000000000000004"]  # fmt: skip
MINOR_NUMBERS = ["1500", "7", "46027", "123450", "0", "-3", "12.5", "1E+20", "100"]
TEXTS = ["A-1", "acct_1ConnAA000000", "usd", "eur", "jpy", "cad", "kwd", "1,500.00", "credit",
         "x_x", "", "é", "A\u200bB"]  # fmt: skip
ISO_DATES = ["2026-01-05T00:00:00", "2026-01-05T14:30:00", "1900-01-01T00:00:00", "nonsense"]
MONEY = ("amount", "amount_minor")


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _typed_cell(
    rng: random.Random, ref: str, numbers: list[str] = NUMBERS
) -> tuple[str, tuple[str, str, str]]:
    """One cell of a random type: its XML, and (kind, value, format) as written."""
    style = rng.randrange(len(FORMATS) + 1)  # 0: General
    fmt = "General" if style == 0 else FORMATS[style - 1]
    roll = rng.random()
    if roll < 0.55:
        value = rng.choice(numbers)
        return f'<c r="{ref}" s="{style}"><v>{value}</v></c>', ("n", value, fmt)
    if roll < 0.62:
        value = rng.choice(numbers)  # a formula with its value saved, as Excel saves it
        return f'<c r="{ref}" s="{style}"><f>A1*1</f><v>{value}</v></c>', ("n", value, fmt)
    if roll < 0.67:
        empty = rng.choice(["", "<v/>", "<v></v>"])
        return f'<c r="{ref}" s="{style}"><f>SUM(A1:A9)</f>{empty}</c>', ("f", "", fmt)
    if roll < 0.72:
        flag = rng.choice(["0", "1"])
        return f'<c r="{ref}" t="b" s="{style}"><v>{flag}</v></c>', ("b", flag, fmt)
    if roll < 0.77:
        error = rng.choice(["#N/A", "#REF!", "#DIV/0!", "#VALUE!"])
        return f'<c r="{ref}" t="e"><v>{error}</v></c>', ("e", error, fmt)
    if roll < 0.82:
        iso = rng.choice(ISO_DATES)
        return f'<c r="{ref}" t="d" s="{style}"><v>{iso}</v></c>', ("d", iso, fmt)
    if roll < 0.86:
        text = _escape(rng.choice(TEXTS))
        cell = f'<c r="{ref}" t="str" s="{style}"><f>"x"</f><v>{text}</v></c>'
        return cell, ("s", rng.choice(TEXTS), fmt)
    text = rng.choice(TEXTS)
    cell = f'<c r="{ref}" t="inlineStr"><is><t>{_escape(text)}</t></is></c>'
    return cell, ("s", text, fmt)


def typed_workbook(rng: random.Random) -> tuple[bytes, dict[tuple[int, str], tuple[str, str, str]]]:
    """A workbook of typed cells in every column (dates, times, logical values, errors, formulas
    with and without their values, numbers under assorted formats), and what each money cell
    holds: ``{(row, column): (kind, value, format)}``."""
    named = [c for c in COLUMNS if c and c != "metadata.ledgerrun_x"]
    if rng.random() < 0.85:  # one money column, mostly: two must agree, which is rarer
        named.remove(rng.choice(MONEY))
    columns = rng.sample(named, rng.randint(3, len(named)))
    for needed in ("adjustment_id", "account", "currency", rng.choice(MONEY)):
        if needed not in columns:
            columns.append(needed)
    letters = [chr(65 + i) for i in range(len(columns))]
    header = zip(letters, columns, strict=True)
    titles = "".join(f'<c r="{c}1" t="inlineStr"><is><t>{h}</t></is></c>' for c, h in header)
    rows = [f'<row r="1">{titles}</row>']
    money: dict[tuple[int, str], tuple[str, str, str]] = {}
    for number in range(2, rng.randint(2, 14)):
        cells: list[str] = []
        for letter, column in zip(letters, columns, strict=True):
            ref = f"{letter}{number}"
            plain = {
                "adjustment_id": f"T-{number}",
                "account": "acct_1ConnAA000000",
                "currency": rng.choice(["usd", "usd", "eur", "jpy", "cad", "kwd"]),
                "direction": rng.choice(["debit", "credit", ""]),
            }.get(column, "")
            if column in MONEY or rng.random() < 0.05:
                numbers = MINOR_NUMBERS if column == "amount_minor" else NUMBERS
                xml, written = _typed_cell(rng, ref, numbers)
                if column in MONEY:
                    money[(number, column)] = written
            else:
                xml = f'<c r="{ref}" t="inlineStr"><is><t>{plain}</t></is></c>'
            cells.append(xml)
        rows.append(f'<row r="{number}">' + "".join(cells) + "</row>")
    return _package("".join(rows)), money


def _package(sheet_data: str) -> bytes:
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    codes = "".join(
        f'<numFmt numFmtId="{164 + i}" formatCode="{_escape(code)}"/>'
        for i, code in enumerate(FORMATS)
    )
    xfs = '<xf numFmtId="0"/>' + "".join(f'<xf numFmtId="{164 + i}"/>' for i in range(len(FORMATS)))
    parts = {
        "_rels/.rels": f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
        f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
        '<sheet name="Ledger" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{package}">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<styleSheet xmlns="{main}"><numFmts>{codes}</numFmts>'
        f"<cellXfs>{xfs}</cellXfs></styleSheet>",
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{sheet_data}'
        "</sheetData></worksheet>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, text)
    return out.getvalue()


def excel(value: str) -> decimal.Decimal:
    """The number as Excel holds it: at 15 significant digits."""
    return decimal.Context(prec=15, rounding=decimal.ROUND_HALF_EVEN).create_decimal(value)


def shows_amount(fmt: str, value: str, currency: str, minor: bool = False) -> bool:
    """Whether a number cell holding ``value`` under ``fmt`` shows that amount in ``currency``
    (the fuzzer's own judgement, written apart from ledgerrun's); in a ``minor`` column, a
    currency format shows the cents as major units."""
    if fmt not in SHOWS_AMOUNT:
        return False
    places, currencies = SHOWS_AMOUNT[fmt]
    if minor and currencies is not None:
        return False
    decimals = max(0, -int(excel(value).normalize().as_tuple().exponent))
    fits = places is None or decimals <= places
    return fits and (currencies is None or currency in currencies)


def check_money(validation: Any, money: dict[tuple[int, str], tuple[str, str, str]]) -> None:
    """No valid row takes a money cell for an amount it does not show."""
    from ledgerrun import money as amounts

    rows = validation.ledger.rows.to_pylist()
    valid = validation.valid.to_pylist()
    currency = validation.currency.to_pylist()
    minor = validation.amount_minor.to_pylist()
    for index, row in enumerate(rows):
        if not valid[index]:
            continue
        for column in MONEY:
            written = money.get((row, column))
            if written is None:
                continue
            kind, value, fmt = written
            assert kind in ("n", "s"), f"row {row}: a {kind} cell in {column} was taken as money"
            if kind == "s":
                continue  # text: read as written, like a CSV cell
            cur = str(currency[index])
            shows = shows_amount(fmt, value, cur, column == "amount_minor")
            assert shows, (row, column, value, fmt, cur)
            places = 0 if column == "amount_minor" else amounts.exponent(cur)
            expected = excel(value).scaleb(places)
            assert minor[index] == expected, (row, column, value, minor[index])


def exercise(path: Path, money: dict[tuple[int, str], tuple[str, str, str]] | None = None) -> None:
    """validate --offline and plan --offline of one ledger, and what they promise (with
    ``money``, the money cells of a typed workbook: see :func:`check_money`)."""
    from ledgerrun.jobfile import job_for_ledger
    from ledgerrun.output import text
    from ledgerrun.send.plan import build_plan
    from ledgerrun.send.prepare import prepare
    from ledgerrun.vocab import FIXES, VALUE_CUT

    prepared = prepare(job_for_ledger(path, RUN_DATE, "fuzz"))
    validation = prepared.validation
    plan = build_plan(prepared)
    text.plan(plan, 5)
    n = validation.rows
    assert len(validation.valid) == n == len(validation.adjustment_key) == len(validation.direction)
    for problem in validation.problems:
        assert problem.code in FIXES and problem.row >= 1
        assert len(problem.value) <= VALUE_CUT and len(problem.message) <= 2000
    valid = validation.valid.to_pylist()
    keys = [k for k, ok in zip(validation.adjustment_key.to_pylist(), valid, strict=True) if ok]
    assert len(keys) == len(set(keys)), "two valid rows are one adjustment"
    amounts = validation.amount_minor.to_pylist()
    assert all(a is not None and a > 0 for a, ok in zip(amounts, valid, strict=True) if ok)
    if validation.ok:
        assert all(valid)
    if money is not None:
        check_money(validation, money)


Money = dict[tuple[int, str], tuple[str, str, str]] | None


def case(rng: random.Random, pool: list[bytes]) -> tuple[str, bytes, Money]:
    roll = rng.random()
    if roll < 0.1:
        return ".csv", rng.randbytes(rng.randint(0, 400)), None
    if roll < 0.45:
        return ".csv", mutate(rng, rng.choice(pool)), None
    if roll < 0.75:
        return ".csv", assembled(rng), None
    if roll < 0.85:
        return ".xlsx", workbook(rng), None
    data, money = typed_workbook(rng)
    return ".xlsx", data, money


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=ROOT / "out" / "fuzz")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    pool = seeds()
    deadline = time.monotonic() + args.seconds
    count = 0
    with tempfile.TemporaryDirectory() as folder:
        while time.monotonic() < deadline:
            suffix, data, money = case(rng, pool)
            path = Path(folder) / f"case{suffix}"
            path.write_bytes(data)
            try:
                exercise(path, money)
            except Exception:
                args.keep.mkdir(parents=True, exist_ok=True)
                kept = args.keep / f"crash-{seed}-{count}{suffix}"
                kept.write_bytes(data)
                traceback.print_exc()
                print(f"case {count} (seed {seed}) failed; kept as {kept}", file=sys.stderr)
                print(f"replay: .venv/bin/python -m ledgerrun validate --offline {kept}")
                return 1
            count += 1
    print(f"{count:,} cases in {args.seconds:g} s (seed {seed}): no exception escaped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
