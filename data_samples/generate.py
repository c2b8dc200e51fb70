"""Regenerate the sample ledgers and the sandbox's accounts from one seed.

    .venv/bin/python data_samples/generate.py

The files are committed; this script documents how they were made and keeps them consistent
(the same ledger as .csv, .parquet and .xlsx; accounts.json holding every account they name). It
also writes docs/templates/ledger-template.xlsx and the samples in broken/, one or more per problem
code that validate --offline can find.

Every sample account is one Stripe could have: the demo's platform and its accounts are in the US,
so they hold USD (a US account's default currency is always USD); the platforms of
accounts-eu.json (Germany: EUR, GBP and CHF accounts across Europe) and accounts-jp.json (Japan:
JPY, a zero-decimal currency) rehearse other currencies where Stripe offers account debits. Each
seed lists, in api_keys, the test keys that README.md, docs/ and the Makefile use with it.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import random
import re
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parent / "docs" / "templates"
PLATFORM = "acct_1PlatformAAAAAAA"
CURRENCIES = {"usd": 2, "eur": 2, "gbp": 2, "chf": 2, "jpy": 0}
API_KEYS = [
    "sk_test_ledgerrun_demo",  # the Makefile's demo and the report screenshots
    "sk_test_rehearsal",  # README.md and docs/commands.md
    "sk_test_rehearsal_nightly",  # docs/sandbox.md
    "sk_test_reversal_walkthrough",  # docs/reversals.md
    "sk_test_notebook_rehearsal",  # docs/python.md
]
REASONS = ["refund recovery", "platform fee", "chargeback fee", "correction", "equipment rental"]


def account_id(index: int) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return f"acct_1Conn{letters[index % 24]}{letters[index // 24 % 24]}{index:06d}"


def build_accounts(rng: random.Random) -> list[dict[str, object]]:
    accounts: list[dict[str, object]] = []
    for i in range(24):
        accounts.append(
            {
                "id": account_id(i),
                "type": "custom" if i % 5 == 0 else "express",
                "country": "US",
                "default_currency": "usd",
                "balance": {"usd": 2_500_000 + rng.randrange(0, 100_000)},  # funded below
            }
        )
    # Accounts that pre-flight must refuse; they appear in preflight_adjustments.csv only.
    accounts += [
        {
            "id": "acct_1StandardSSSSSSS",
            "type": "standard",
            "country": "US",
            "default_currency": "usd",
            "balance": {"usd": 100_000},
        },
        {
            "id": "acct_1RevokedRRRRRRRR",
            "type": "express",
            "country": "US",
            "default_currency": "usd",
            "balance": {"usd": 100_000},
            "access": "revoked",
        },
        {
            "id": "acct_1LondonLLLLLLLLL",
            "type": "express",
            "country": "GB",
            "default_currency": "gbp",
            "balance": {"gbp": 100_000},
        },
        {  # Express, but Stripe covers its losses: not the platform's to debit
            "id": "acct_1StripeLossesSSSS",
            "type": "express",
            "country": "US",
            "default_currency": "usd",
            "balance": {"usd": 100_000},
            "losses_payments": "stripe",
        },
    ]
    return accounts


def european_seed() -> dict[str, object]:
    """A platform in Germany and accounts across Europe (one region for account debits), each
    holding its own country's currency: EUR, GBP (the UK), CHF (Switzerland)."""
    where = [
        ("DE", "eur"), ("FR", "eur"), ("NL", "eur"), ("IE", "eur"), ("ES", "eur"),
        ("GB", "gbp"), ("GB", "gbp"), ("CH", "chf"),
    ]  # fmt: skip
    accounts = [
        {
            "id": f"acct_1Conn{country}{currency.upper()}{i:07d}",
            "type": "custom" if i % 4 == 0 else "express",
            "country": country,
            "default_currency": currency,
            "balance": {currency: 5_000_000 + 250_000 * i},
        }
        for i, (country, currency) in enumerate(where)
    ]
    return {
        "platform": {
            "id": "acct_1PlatformEUAAAAAA",
            "country": "DE",
            "default_currency": "eur",
            "balance": {"eur": 20_000_000, "gbp": 5_000_000, "chf": 5_000_000},
        },
        "api_keys": API_KEYS,
        "accounts": accounts,
    }


def japanese_seed() -> dict[str, object]:
    """A platform in Japan and Japanese accounts, in JPY (no minor unit: 1 is one yen)."""
    accounts = [
        {
            "id": f"acct_1ConnJPJPY{i:07d}",
            "type": "custom" if i == 0 else "express",
            "country": "JP",
            "default_currency": "jpy",
            "balance": {"jpy": 30_000_000 + 1_000_000 * i},
        }
        for i in range(3)
    ]
    return {
        "platform": {
            "id": "acct_1PlatformJPAAAAAA",
            "country": "JP",
            "default_currency": "jpy",
            "balance": {"jpy": 100_000_000},
        },
        "api_keys": API_KEYS,
        "accounts": accounts,
    }


def write_seed(path: Path, seed: dict[str, object]) -> None:
    path.write_text(json.dumps(seed, indent=2) + "\n", encoding="utf-8")


def amount_text(minor: int, exp: int, style: int) -> str:
    if exp == 0:
        return f"{minor:,}" if style == 0 and minor >= 1000 else str(minor)
    whole, cents = divmod(minor, 10**exp)
    if style == 0 and whole >= 1000:
        return f"{whole:,}.{cents:02d}"
    if style == 1 and cents % 10 == 0:
        return f"{whole}.{cents // 10}"  # 15.5, as people type it
    return f"{whole}.{cents:02d}"


def build_ledger(rng: random.Random, accounts: list[dict[str, object]]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    weights = [8 if i < 3 else 1 for i in range(24)]  # a few large accounts, many small ones
    for n in range(240):
        index = rng.choices(range(24), weights)[0]
        acct = accounts[index]
        currency = str(acct["default_currency"])
        exp = CURRENCIES[currency]
        if index >= 21:  # the three smallest accounts: 5.00 to 1,500.00
            minor = rng.randrange(500, 150_000)
        else:
            minor = rng.choice([rng.randrange(100, 20_000), rng.randrange(20_000, 400_000)])
        rows.append(
            {
                "adjustment_id": f"{n + 1:07d}" if n % 10 == 0 else f"ADJ-2026-11-{n + 1:05d}",
                "account": str(acct["id"]),
                "amount": amount_text(minor, exp, rng.randrange(3)),
                "currency": currency if n % 7 else currency.upper(),
                "direction": "",
                "method": "charge" if n % 9 == 4 else "",
                "description": f"{rng.choice(REASONS).capitalize()} for November",
                "metadata.invoice": f"INV-{rng.randrange(10_000, 99_999)}",
                "metadata.reason": rng.choice(REASONS),
                "booked_by": rng.choice(["amara", "jonas", "li", "priya"]),
            }
        )
    # A few credits (the platform pays the account back): never on the short account below, whose
    # rows must fail only where the demo says. A credit is always a transfer.
    for n in range(17, 240, 40):
        row = rows[n]
        if row["account"] != account_id(7):
            row.update(direction="credit", method="")
            row["description"] = "Goodwill credit for November"
            row["metadata.reason"] = "goodwill credit"
    # The row that fails for balance: account 8 holds 25.00 USD.
    rows[-1].update(account=account_id(7), amount="4,999.00", currency="usd", method="")
    rows[-1]["description"] = "Equipment rental, exceeds the account's balance"
    return rows


def fund(accounts: list[dict[str, object]], rows: list[dict[str, str]]) -> None:
    """Give each account twice what the ledger debits from it, except the demo's short account:
    it holds exactly 100.00 more than its other rows, so only its last row (4,999.00) fails."""
    owed: dict[str, int] = {}
    for row in rows:
        if row["direction"] == "credit":
            continue  # paid from the platform's balance
        currency = row["currency"].lower()
        minor = int(decimal.Decimal(row["amount"].replace(",", "")) * 10 ** CURRENCIES[currency])
        owed[row["account"]] = owed.get(row["account"], 0) + minor
    short = account_id(7)
    last = int(decimal.Decimal(rows[-1]["amount"].replace(",", "")) * 100)
    for acct in accounts[:24]:
        name, currency = str(acct["id"]), str(acct["default_currency"])
        need = owed.get(name, 0)
        acct["balance"] = {currency: need - last + 10_000 if name == short else 2 * need + 50_000}


def build_consents(accounts: list[dict[str, object]]) -> list[dict[str, str]]:
    """The debit consents the platform holds: one per demo account, granted at onboarding, with a
    ceiling per debit on the larger ones; plus a revoked one, as a registry keeps its history."""
    rows = []
    for i, acct in enumerate(accounts[:24]):
        currency = str(acct["default_currency"])
        ceiling = "10000.00"
        rows.append(
            {
                "account": str(acct["id"]),
                "reference": f"CONSENT-2026-{i + 1:04d}",
                "granted_at": dt.date(2026, 1 + i % 9, 1 + i).isoformat(),
                "revoked_at": "",
                "max_amount": ceiling if i < 8 else "",
                "currency": currency if i < 8 else "",
            }
        )
    rows.append(
        {
            "account": "acct_1RevokedRRRRRRRR",
            "reference": "CONSENT-2025-0042",
            "granted_at": "2025-03-01",
            "revoked_at": "2026-10-31",
            "max_amount": "",
            "currency": "",
        }
    )
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_parquet(path: Path, rows: list[dict[str, str]]) -> None:
    """Amounts as an exact decimal column, as a warehouse export would store them."""
    columns: dict[str, pa.Array] = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        if name == "amount":
            exact = [
                decimal.Decimal(v.replace(",", "")).quantize(decimal.Decimal("0.01"))
                for v in values
            ]
            columns[name] = pa.array(exact, pa.decimal128(14, 2))
        else:
            columns[name] = pa.array(values, pa.string())
    pq.write_table(pa.table(columns), path)


def write_xlsx(
    path: Path,
    rows: list[dict[str, str]],
    sheet: str = "Sheet1",
    headers: dict[str, str] | None = None,
) -> None:
    """Amounts as numeric cells, as a person typing into a spreadsheet would make them."""
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = dt.datetime(2026, 11, 26)
    ws = book.active
    ws.title = sheet
    names = list(rows[0])
    ws.append([(headers or {}).get(n, n) for n in names])
    for row in rows:
        cells: list[object] = []
        for name in names:
            value = row[name]
            if name == "amount":
                number = decimal.Decimal(value.replace(",", ""))
                cells.append(int(number) if number == number.to_integral() else float(number))
            else:
                cells.append(value)
        ws.append(cells)
    book.save(path)


def build_finance_export(rng: random.Random) -> list[dict[str, str]]:
    """A month-end export from a finance system: its own headers, USD only."""
    rows = []
    for n in range(30):
        minor = rng.randrange(1_000, 250_000)
        rows.append(
            {
                "ref": f"FIN-{2026_11_00 + n}",
                "acct": account_id(rng.randrange(16)),
                "amount": amount_text(minor, 2, 0),
                "currency": "USD",
                "memo": rng.choice(REASONS).capitalize(),
                "invoice": f"INV-{rng.randrange(10_000, 99_999)}",
                "booked": dt.date(2026, 11, 1 + n % 26).isoformat(),
                "approved_by": rng.choice(["cfo", "controller"]),
            }
        )
    return rows


FINANCE_HEADERS = {
    "ref": "Adjustment Ref",
    "acct": "Connected account",
    "amount": "Amount",
    "currency": "Currency",
    "memo": "Memo",
    "invoice": "Invoice #",
    "booked": "Booked on",
    "approved_by": "Approved by",
}


def settle(path: Path, values: dict[str, dict[str, str]] | None = None) -> None:
    """Write the values of formulas into a saved workbook (``{sheet: {cell: value}}``), and make
    its bytes the same on every run (openpyxl stamps the time of saving).

    openpyxl cannot calculate a formula, so it saves none of their values, and a formula without
    its value reads as formula_not_calculated (as in a workbook never opened in Excel). The value
    goes where Excel would have saved it, beside the formula."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    workbook = parts["xl/workbook.xml"].decode()
    links = parts["xl/_rels/workbook.xml.rels"].decode()
    core = parts["docProps/core.xml"].decode()
    core = re.sub(r"(<dcterms:modified[^>]*>)[^<]*", r"\g<1>2026-11-26T00:00:00Z", core)
    parts["docProps/core.xml"] = core.encode()
    for sheet, cells in (values or {}).items():
        rid = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="(rId\d+)"', workbook)
        assert rid, sheet
        target = re.search(rf'Target="/?(?:xl/)?([^"]+)" Id="{rid.group(1)}"', links) or re.search(
            rf'Id="{rid.group(1)}"[^>]*Target="/?(?:xl/)?([^"]+)"', links
        )
        assert target, rid.group(1)
        name = "xl/" + target.group(1)
        xml = parts[name].decode()
        for ref, value in cells.items():
            xml, count = re.subn(
                rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>\s*)<v\s*/>', rf"\g<1><v>{value}</v>", xml
            )
            assert count == 1, (sheet, ref)
        parts[name] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(
                zipfile.ZipInfo(name, (2026, 11, 26, 0, 0, 0)), data, zipfile.ZIP_DEFLATED
            )


def _number(text: str) -> float | int:
    number = decimal.Decimal(text.replace(",", ""))
    return int(number) if number == number.to_integral() else float(number)


def write_finance_export(path: Path, rows: list[dict[str, str]]) -> None:
    """The workbook as finance keeps it: a hidden old draft first, then the adjustments (the
    active sheet) below a title, with number formats, a few amounts typed as text, a blank row
    in the middle and a totals line; then a sheet of notes."""
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = dt.datetime(2026, 11, 26)
    names = list(FINANCE_HEADERS)
    draft = book.active
    draft.title = "Draft (old)"
    draft.append([FINANCE_HEADERS[n] for n in names])
    for row in rows[:5]:  # last month's draft: must never be read unless a job names it
        draft.append([row["ref"], row["acct"], 9999, "USD", "Draft", row["invoice"], "", "draft"])
    draft.sheet_state = "hidden"
    ws = book.create_sheet("Adjustments")
    ws.append(["Month-end adjustments, November 2026"])
    ws.append([])
    ws.append([FINANCE_HEADERS[n] for n in names])
    total = decimal.Decimal(0)
    for n, row in enumerate(rows):
        if n == 15:
            ws.append([])  # a blank row in the middle, as people leave them
        total += decimal.Decimal(row["amount"].replace(",", ""))
        # every fifth amount typed as text, thousands separator and all; the rest numbers
        amount: object = row["amount"] if n % 5 == 2 else _number(row["amount"])
        booked = dt.date.fromisoformat(row["booked"])
        ws.append(
            [row["ref"], row["acct"], amount, row["currency"], row["memo"],
             int(row["invoice"][4:]), booked, row["approved_by"]]
        )  # fmt: skip
        line = ws.max_row
        ws[f"C{line}"].number_format = '"$"#,##0.00' if n % 3 == 0 else "#,##0.00"
        ws[f"F{line}"].number_format = '"INV-"00000'
        ws[f"G{line}"].number_format = "d mmm yyyy"
    ws.append([])
    first, last = 4, ws.max_row - 1
    ws.append([None, None, f"=SUMPRODUCT(--(C{first}:C{last}))", "USD", "Total"])
    totals = ws.max_row
    ws[f"C{totals}"].number_format = "#,##0.00"
    for column, width in zip("ABCDEFGH", (16, 22, 12, 9, 20, 12, 13, 12), strict=True):
        ws.column_dimensions[column].width = width
    notes = book.create_sheet("Notes")
    notes.append(["Approved by the controller on 2026-11-26."])
    notes.append(["The totals line must equal the rows; ledgerrun checks it."])
    book.active = 1
    for sheet in book.worksheets:
        sheet.sheet_view.tabSelected = sheet is ws
    book.save(path)
    settle(path, {"Adjustments": {f"C{totals}": str(total)}})


def write_template(path: Path) -> None:
    """docs/templates/ledger-template.xlsx: the columns, the id column formatted as text (so
    Excel keeps leading zeros), amounts with two decimals, a direction column and a totals line
    whose SUM has its value saved, so it reads without opening Excel."""
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = dt.datetime(2026, 11, 26)
    ws = book.active
    ws.title = "Ledger"
    header = ["adjustment_id", "account", "amount", "currency", "direction", "method",
              "description", "metadata.invoice"]  # fmt: skip
    ws.append(header)
    examples = [
        ("ADJ-2026-11-0001", "acct_1ExampleAAAAAAAA", 125, "", "November platform fee", 1001),
        ("ADJ-2026-11-0002", "acct_1ExampleBBBBBBBB", 1250.5, "charge", "Refund recovery", 1002),
        ("ADJ-2026-11-0003", "acct_1ExampleCCCCCCCC", 480, "", "Equipment rental", 1003),
    ]
    for ref, acct, amount, method, memo, invoice in examples:
        ws.append([ref, acct, amount, "usd", "debit", method, memo, f"INV-{invoice}"])
    last = ws.max_row
    ws.append([None, None, f"=SUM(C2:C{last})", "usd", None, None, "Total"])
    for line in range(2, 201):
        ws[f"A{line}"].number_format = "@"
        ws[f"C{line}"].number_format = "#,##0.00"
    for column, width in zip("ABCDEFGH", (20, 24, 12, 9, 10, 10, 28, 16), strict=True):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "A2"
    book.save(path)
    total = sum(decimal.Decimal(str(e[2])) for e in examples)
    settle(path, {"Ledger": {f"C{last + 1}": str(total)}})


def bad_rows() -> list[dict[str, str]]:
    """One row per row-level problem code, each saying in 'why' what is wrong with it."""
    base = {
        "adjustment_id": "",
        "account": account_id(0),
        "amount": "12.00",
        "amount_minor": "",
        "currency": "usd",
        "method": "",
        "description": "Sample",
        "metadata.invoice": "INV-1",
        "metadata.ledgerrun_batch": "",
        "why": "",
    }
    cases = [
        ({"adjustment_id": "BAD-001"}, "valid row, for contrast"),
        ({}, "empty_value: no adjustment id"),
        ({"adjustment_id": "BAD-003"}, "duplicate_adjustment_id: same id as the next row"),
        ({"adjustment_id": "BAD-003"}, "duplicate_adjustment_id: same id as the row before"),
        ({"adjustment_id": "BAD-" + "7" * 200}, "adjustment_id_too_long: 204 characters"),
        ({"adjustment_id": "BAD-006", "account": "acct-1ConnAA"}, "bad_account: a hyphen"),
        ({"adjustment_id": "BAD-007", "account": ""}, "empty_value: no account"),
        ({"adjustment_id": "BAD-008", "amount": "€15.00"}, "bad_amount: another currency's symbol"),
        ({"adjustment_id": "BAD-009", "amount": "1,50.00"}, "bad_amount: thousands group of two"),
        ({"adjustment_id": "BAD-010", "amount": "1.5e3"}, "bad_amount: exponent"),
        ({"adjustment_id": "BAD-011", "amount": "0.00"}, "non_positive_amount: zero"),
        ({"adjustment_id": "BAD-012", "amount": "-25.00"}, "non_positive_amount: negative"),
        ({"adjustment_id": "BAD-013", "amount": "15.005"}, "too_many_decimals: USD has 2"),
        (
            {"adjustment_id": "BAD-014", "amount": "1200.5", "currency": "JPY"},
            "too_many_decimals: JPY has none",
        ),
        (
            {"adjustment_id": "BAD-015", "amount": "", "amount_minor": "12345", "currency": "bhd"},
            "too_many_decimals: BHD minor amounts end in 0",
        ),
        (
            {"adjustment_id": "BAD-016", "amount": "15.00", "amount_minor": "1600"},
            "amount_mismatch: 15.00 is 1500 cents",
        ),
        ({"adjustment_id": "BAD-017", "currency": "usx"}, "unknown_currency"),
        ({"adjustment_id": "BAD-018", "currency": ""}, "empty_value: no currency"),
        ({"adjustment_id": "BAD-019", "method": "wire"}, "bad_method"),
        (
            {"adjustment_id": "BAD-020", "metadata.invoice": "I" * 501},
            "bad_metadata: value over 500 characters",
        ),
        ({"adjustment_id": "BAD-021", "description": "D" * 5001}, "description_too_long"),
        (
            {"adjustment_id": "BAD-022", "amount": "9,999.00"},
            "over_max_amount: above jobs/bad_adjustments.toml's 5,000.00 USD",
        ),
        ({"adjustment_id": "BAD-023", "amount": "", "amount_minor": ""}, "empty_value: no amount"),
    ]
    rows = []
    for changes, why in cases:
        rows.append({**base, **changes, "why": why})
    return rows


def write_broken_files(folder: Path) -> None:
    """Files broken as a whole, one per file-level problem."""
    folder.mkdir(exist_ok=True)
    header = "adjustment_id,account,amount,currency\n"
    line = f"A-1,{account_id(0)},10.00,usd\n"
    (folder / "empty.csv").write_bytes(b"")
    (folder / "no_header.csv").write_text("\n\n\n", encoding="utf-8")
    (folder / "missing_column.csv").write_text(
        "adjustment_id,account,amount\n" + f"A-1,{account_id(0)},10.00\n", encoding="utf-8"
    )
    latin1 = f"A-2,{account_id(1)},10.00,usd\nA-3,{account_id(2)},10.00,usd \u00e9\n"
    (folder / "not_utf8.csv").write_bytes((header + line).encode() + latin1.encode("latin-1"))
    (folder / "ragged.csv").write_text(
        header + line + f"A-2,{account_id(1)},10.00,usd,extra\n" + line.replace("A-1", "A-3"),
        encoding="utf-8",
    )
    (folder / "adjustments.txt").write_text(header + line, encoding="utf-8")
    (folder / "corrupt.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    (folder / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    # the checks added in ingest v2, one file each
    (folder / "bad_ids.csv").write_text(
        header
        + f"A-1\u200b,{account_id(0)},10.00,usd\n"  # a zero-width space: bad_adjustment_id
        + f"ADJ-7,{account_id(0)},10.00,usd\nadj-7,{account_id(1)},10.00,usd\n",  # one id
        encoding="utf-8",
    )
    (folder / "credits.csv").write_text(
        "adjustment_id,account,amount,currency,direction,method\n"
        f"C-1,{account_id(0)},10.00,usd,credit,\n"
        f"C-2,{account_id(0)},10.00,usd,credit,charge\n"  # a credit has no method: bad_method
        f"C-3,{account_id(0)},10.00,usd,refund,\n",  # bad_direction
        encoding="utf-8",
    )
    (folder / "over_stripe_maximum.csv").write_text(
        header + f'S-1,{account_id(0)},"100,000.01",usd\n', encoding="utf-8"
    )
    (folder / "control_total.csv").write_text(
        "Adjustments, November 2026,,\n,,,\n"
        + header
        + f'T-1,{account_id(0)},"1,200.00",usd\nT-2,{account_id(1)},99.50,usd\n'
        + ',,"1,300.00",usd\n',  # the rows add up to 1,299.50: control_total_mismatch
        encoding="utf-8",
    )
    (folder / "debit_and_credit.csv").write_text(
        "adjustment_id,account,debit,credit,currency\n"
        f"J-1,{account_id(0)},10.00,,usd\n"
        f"J-2,{account_id(1)},,5.00,usd\n"
        f"J-3,{account_id(2)},10.00,5.00,usd\n",  # both columns filled: debit_and_credit
        encoding="utf-8",
    )
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = dt.datetime(2026, 11, 26)
    ws = book.active
    ws.append(["adjustment_id", "account", "amount", "currency", "note"])
    ws.append(["X-1", account_id(0), "#N/A", "usd", "a lookup that failed: bad_value"])
    ws.append(["X-2", account_id(0), "=10*2", "usd", "never calculated: formula_not_calculated"])
    ws.append(["X-3", account_id(0), 10, "usd", "#REF!"])
    book.save(folder / "bad_cells.xlsx")
    settle(folder / "bad_cells.xlsx")
    write_typed_cells(folder / "typed_cells.xlsx")
    # a key pasted into a note: secret_in_ledger (built, so no scanner takes it for a real key)
    fake_key = "sk_" + "test_" + "NotARealKeyOnlyAnExample0000"
    (folder / "secret.csv").write_text(
        "adjustment_id,account,amount,currency,note\n"
        f"K-1,{account_id(0)},10.00,usd,key {fake_key}\n"
        f"K-2,{account_id(1)},10.00,usd,a plain note\n",
        encoding="utf-8",
    )


def write_typed_cells(path: Path) -> None:
    """Money cells that do not show their amount, and ids typed as dates (docs/ledger.md)."""
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = dt.datetime(2026, 11, 26)
    ws = book.active
    ws.append(["adjustment_id", "account", "amount", "currency", "note"])
    cases: list[tuple[object, object, str, str, str]] = [
        ("Y-1", dt.date(2026, 1, 5), "yyyy-mm-dd", "usd", "a date: bad_amount, never 46,027.00"),
        ("Y-2", 0.25, "0%", "usd", "a percentage: bad_amount"),
        ("Y-3", 1234.56, "#,##0", "usd", "shows 1,235: bad_amount"),
        ("Y-4", 1234.56, "[$€-407] #,##0.00", "usd", "euros on a USD row: bad_amount"),
        ("Y-5", 1234.56, '_("$"* #,##0.00_)', "usd", "accounting, in the row's currency: fine"),
        (dt.date(2026, 1, 6), 10, "0.00", "usd", "an id typed as a date: 2026-01-06"),
    ]
    for number, (ident, amount, fmt, currency, note) in enumerate(cases, start=2):
        ws.append([ident, account_id(0), amount, currency, note])
        ws.cell(number, 3).number_format = fmt
        if isinstance(ident, dt.date):
            ws.cell(number, 1).number_format = "m/d/yyyy"
    book.save(path)
    settle(path)


def main() -> None:
    rng = random.Random(20261126)
    accounts = build_accounts(rng)
    seed = {
        "platform": {
            "id": PLATFORM,
            "country": "US",
            "default_currency": "usd",
            "balance": {"usd": 50_000_000},  # what the platform pays credits from
        },
        "api_keys": API_KEYS,
        "accounts": accounts,
    }
    rows = build_ledger(rng, accounts)
    fund(accounts, rows)
    write_seed(HERE / "accounts.json", seed)
    write_seed(HERE / "accounts-eu.json", european_seed())
    write_seed(HERE / "accounts-jp.json", japanese_seed())
    write_csv(HERE / "adjustments.csv", rows)
    write_csv(HERE / "consents.csv", build_consents(accounts))
    write_parquet(HERE / "adjustments.parquet", rows)
    write_xlsx(HERE / "adjustments.xlsx", rows)
    export = build_finance_export(rng)
    write_finance_export(HERE / "finance_export.xlsx", export)
    write_template(TEMPLATES / "ledger-template.xlsx")
    write_csv(HERE / "bad_adjustments.csv", bad_rows())
    write_broken_files(HERE / "broken")


if __name__ == "__main__":
    main()
