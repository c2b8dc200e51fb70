"""Regenerate the sample ledgers and the sandbox's accounts from one seed.

    .venv/bin/python data_samples/generate.py

The files are committed; this script documents how they were made and keeps them consistent
(the same ledger as .csv, .parquet and .xlsx; accounts.json holding every account they name).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import random
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
PLATFORM = "acct_1PlatformAAAAAAA"
CURRENCIES = {"usd": 2, "eur": 2, "jpy": 0}
REASONS = ["refund recovery", "platform fee", "chargeback fee", "correction", "equipment rental"]


def account_id(index: int) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return f"acct_1Conn{letters[index % 24]}{letters[index // 24 % 24]}{index:06d}"


def build_accounts(rng: random.Random) -> list[dict[str, object]]:
    accounts: list[dict[str, object]] = []
    for i in range(24):
        currency = "usd" if i < 16 else ("eur" if i < 21 else "jpy")
        big = {"usd": 2_500_000, "eur": 1_800_000, "jpy": 90_000_000}[currency]
        accounts.append(
            {
                "id": account_id(i),
                "type": "custom" if i % 5 == 0 else "express",
                "country": "US",
                "default_currency": currency,
                "balance": {currency: big + rng.randrange(0, 100_000)},
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
    ]
    return accounts


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
        acct = rng.choices(accounts[:24], weights)[0]
        currency = str(acct["default_currency"])
        exp = CURRENCIES[currency]
        if currency == "jpy":
            minor = rng.randrange(500, 150_000)
        else:
            minor = rng.choice([rng.randrange(100, 20_000), rng.randrange(20_000, 400_000)])
        rows.append(
            {
                "adjustment_id": f"{n + 1:07d}" if n % 10 == 0 else f"ADJ-2026-11-{n + 1:05d}",
                "account": str(acct["id"]),
                "amount": amount_text(minor, exp, rng.randrange(3)),
                "currency": currency if n % 7 else currency.upper(),
                "method": "charge" if n % 9 == 4 else "",
                "description": f"{rng.choice(REASONS).capitalize()} for November",
                "metadata.invoice": f"INV-{rng.randrange(10_000, 99_999)}",
                "metadata.reason": rng.choice(REASONS),
                "booked_by": rng.choice(["amara", "jonas", "li", "priya"]),
            }
        )
    # The row that fails for balance: account 8 holds 25.00 USD.
    rows[-1].update(account=account_id(7), amount="4,999.00", currency="usd", method="")
    rows[-1]["description"] = "Equipment rental, exceeds the account's balance"
    return rows


def fund(accounts: list[dict[str, object]], rows: list[dict[str, str]]) -> None:
    """Give each account twice what the ledger debits from it, except the demo's short account:
    it holds exactly 100.00 more than its other rows, so only its last row (4,999.00) fails."""
    owed: dict[str, int] = {}
    for row in rows:
        currency = row["currency"].lower()
        minor = int(decimal.Decimal(row["amount"].replace(",", "")) * 10 ** CURRENCIES[currency])
        owed[row["account"]] = owed.get(row["account"], 0) + minor
    short = account_id(7)
    last = int(decimal.Decimal(rows[-1]["amount"].replace(",", "")) * 100)
    for acct in accounts[:24]:
        name, currency = str(acct["id"]), str(acct["default_currency"])
        need = owed.get(name, 0)
        acct["balance"] = {currency: need - last + 10_000 if name == short else 2 * need + 50_000}


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
    "approved_by": "Approved by",
}


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
        ({"adjustment_id": "BAD-008", "amount": "$15.00"}, "bad_amount: a currency symbol"),
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
        ({"adjustment_id": "BAD-021", "description": "D" * 1001}, "description_too_long"),
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


def main() -> None:
    rng = random.Random(20261126)
    accounts = build_accounts(rng)
    seed = {
        "platform": {"id": PLATFORM, "country": "US", "default_currency": "usd"},
        "accounts": accounts,
    }
    rows = build_ledger(rng, accounts)
    fund(accounts, rows)
    (HERE / "accounts.json").write_text(json.dumps(seed, indent=2) + "\n", encoding="utf-8")
    write_csv(HERE / "adjustments.csv", rows)
    write_parquet(HERE / "adjustments.parquet", rows)
    write_xlsx(HERE / "adjustments.xlsx", rows)
    export = build_finance_export(rng)
    write_xlsx(HERE / "finance_export.xlsx", export, sheet="Adjustments", headers=FINANCE_HEADERS)
    write_csv(HERE / "bad_adjustments.csv", bad_rows())
    write_broken_files(HERE / "broken")


if __name__ == "__main__":
    main()
