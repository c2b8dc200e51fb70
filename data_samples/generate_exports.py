"""Regenerate the finance-system exports in data_samples/exports/ from one seed.

    .venv/bin/python data_samples/generate_exports.py

Each file is made the way its system writes it (docs/ledger.md describes each, and its job file
in jobs/ reads it as it is): a NetSuite saved search's CSV, a QuickBooks Online journal report
as .xlsx, a Xero report opened in Google Sheets and downloaded as CSV, a German Excel's
"CSV UTF-8" and a daily spreadsheet with no id column, exported twice (the second time as Excel
rewrites dates). Every row names a US connected account of accounts.json, in USD, for amounts
its balance covers, so each job runs as it is against the sandbox.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal
from pathlib import Path

import openpyxl
from generate import account_id, settle
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).resolve().parent / "exports"
# US accounts settling in USD with balances in the tens of thousands (not D, H or Q: small).
BIG = [account_id(i) for i in (0, 1, 2, 4, 5, 6, 8, 9, 10, 15)]
ALL_USD = [account_id(i) for i in range(16)]
MEMOS = ["Platform fee", "Chargeback fee", "Refund recovery", "Equipment rental", "Correction"]


def cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 100, high * 100)) / 100


def us_money(value: Decimal) -> str:
    """NetSuite's currency display: $1,681.21, and ($50.00) for a negative."""
    text = f"${abs(value):,.2f}"
    return f"({text})" if value < 0 else text


def german(value: Decimal) -> str:
    """A German Excel's number: 1.234,56."""
    return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def write_csv(
    path: Path,
    rows: list[list[str]],
    *,
    bom: bool,
    crlf: bool,
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
) -> None:
    buffer = io.StringIO()
    ending = "\r\n" if crlf else "\n"
    writer = csv.writer(buffer, lineterminator=ending, delimiter=delimiter, quoting=quoting)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    path.write_bytes(("\ufeff".encode() if bom else b"") + data)


# --- NetSuite: a saved search exported as CSV ---------------------------------------------------


def netsuite(rng: random.Random) -> None:
    """Title line, BOM, CRLF, every field quoted, $1,681.21 and ($50.00), a net Total line."""
    rows = [
        ["Stripe Connect adjustments (Saved Search)"],
        ["Internal ID", "Date", "Document Number", "Name", "Memo", "Stripe Account ID",
         "Amount", "Currency"],
    ]  # fmt: skip
    total = Decimal(0)
    for n in range(30):
        account = BIG[n % len(BIG)]
        value = -cents(rng, 20, 80) if n in (7, 18, 26) else cents(rng, 100, 2000)
        if n == 0:
            value = Decimal("1681.21")
        if n == 7:
            value = Decimal("-50.00")
        total += value
        day = dt.date(2026, 12, 1 + n // 10)
        rows.append(
            [str(48210 + n), f"{day.month}/{day.day}/{day.year}", f"JE-NS-{10231 + n}",
             f"Merchant {n + 1:02d}", rng.choice(MEMOS), account, us_money(value), "USD"]
        )  # fmt: skip
    rows.append(["Total", "", "", "", "", "", us_money(total), ""])
    write_csv(HERE / "netsuite_saved_search.csv", rows, bom=True, crlf=True, quoting=csv.QUOTE_ALL)


# --- QuickBooks Online: the Journal report, exported to Excel ----------------------------------


def quickbooks(rng: random.Random) -> None:
    """A merged title block, the header on row 5, Debit and Credit columns, no currency (a
    USD-only company), a TOTAL row and the report's footer line below it."""
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = dt.datetime(2026, 12, 1)
    ws = book.active
    ws.title = "Journal"
    header = ["Date", "Transaction Type", "Num", "Name", "Memo/Description", "Account",
              "Debit", "Credit"]  # fmt: skip
    for line, text in enumerate(["Acme Marketplace Inc.", "Journal", "December 1-15, 2026"], 1):
        ws.cell(line, 1, text).font = Font(bold=line < 3, size=14 if line == 1 else 11)
        ws.cell(line, 1).alignment = Alignment(horizontal="center")
        ws.merge_cells(start_row=line, start_column=1, end_row=line, end_column=len(header))
    ws.append([])
    ws.append(header)
    for cell in ws[5]:
        cell.font = Font(bold=True)
    debits = credits = Decimal(0)
    for n in range(24):
        account = BIG[(n * 3) % len(BIG)]
        credit = n % 6 == 5
        value = cents(rng, 25, 150) if credit else cents(rng, 80, 1800)
        debits, credits = (debits, credits + value) if credit else (debits + value, credits)
        amount = float(value)  # Excel keeps numbers as binary floats; 15 digits read back exact
        ws.append(
            [dt.date(2026, 12, 1 + n // 2), "Journal Entry", f"{1041 + n}", account,
             rng.choice(MEMOS), "Connected accounts receivable",
             None if credit else amount, amount if credit else None]
        )  # fmt: skip
        row = ws.max_row
        ws.cell(row, 1).number_format = "mm/dd/yyyy"
        ws.cell(row, 7).number_format = ws.cell(row, 8).number_format = "#,##0.00"
    ws.append(["TOTAL", None, None, None, None, None, float(debits), float(credits)])
    total = ws.max_row
    for column in (7, 8):
        ws.cell(total, column).number_format = '"$"#,##0.00'
        ws.cell(total, column).font = Font(bold=True)
    ws.cell(total, 1).font = Font(bold=True)
    ws.append([])
    ws.append(["Accrual Basis Monday, December 1, 2026 09:41 AM GMT-08:00"])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=8)
    for column, width in zip("ABCDEFGH", (12, 16, 8, 22, 20, 28, 12, 12), strict=True):
        ws.column_dimensions[column].width = width
    path = HERE / "quickbooks_journal.xlsx"
    book.save(path)
    settle(path)


# --- Xero: a report opened in Google Sheets, downloaded as CSV ---------------------------------


def xero(rng: random.Random) -> None:
    """A DR/CR type column (as people type it: DR, Dr, cr) and credit notes as negative amounts."""
    rows = [["Date", "Reference", "Contact", "Stripe Account", "Description", "Type", "Amount",
             "Currency"]]  # fmt: skip
    for n in range(20):
        account = BIG[(n * 7) % len(BIG)]
        note = n % 5 == 3
        value = -cents(rng, 20, 120) if note else cents(rng, 60, 900)
        kind = "CR" if note else ["DR", "DR", "Dr", "dr"][n % 4]
        reference = f"CN-{2007 + n}" if note else f"INV-{4061 + n}"
        description = "Credit note" if note else rng.choice(MEMOS)
        day = dt.date(2026, 12, 1 + n // 4)
        rows.append(
            [f"{day.day} Dec {day.year}", reference, f"Merchant {n + 31}", account, description,
             kind, f"{value:.2f}", "USD"]
        )  # fmt: skip
    write_csv(HERE / "xero_transactions.csv", rows, bom=False, crlf=False)


# --- A German Excel: "CSV UTF-8 (durch Trennzeichen getrennt)" ---------------------------------


def german_excel(rng: random.Random) -> None:
    """Semicolons between columns, decimal commas with dots between thousands (1.234,56), some
    amounts with Excel's currency format (1.250,00 $), Soll/Haben as S and H, a Summe line."""
    rows = [
        ["Stripe-Belastungen Dezember 2026"],
        ["Belegnummer", "Buchungsdatum", "Stripe-Konto", "Buchungstext", "Soll/Haben", "Betrag",
         "Währung"],
    ]  # fmt: skip
    net = Decimal(0)
    for n in range(16):
        account = BIG[(n * 3 + 1) % len(BIG)]
        haben = n in (4, 11)
        value = cents(rng, 20, 200) if haben else cents(rng, 150, 2500)
        if n == 0:
            value = Decimal("1234.56")
        net += -value if haben else value
        written = german(value) + (" $" if n % 4 == 2 else "")
        day = dt.date(2026, 12, 1 + n // 4)
        rows.append(
            [f"2026-{7101 + n:06d}", day.strftime("%d.%m.%Y"), account,
             "Gutschrift" if haben else "Plattformgebühr", "H" if haben else "S", written, "USD"]
        )  # fmt: skip
    rows.append(["", "", "", "Summe", "", german(net), "USD"])
    write_csv(HERE / "german_excel.csv", rows, bom=True, crlf=True, delimiter=";")


# --- A daily spreadsheet: one row per account per day, no id -----------------------------------


def daily_sheet(rng: random.Random) -> None:
    """Dates as 12/01/2026 in the sheet first exported; Excel writes 12/1/2026 (and 12.5 for
    12.50) when the same sheet is saved as CSV again."""
    first = [["Date", "Connected Account", "Amount", "Note"]]
    again = [["Date", "Connected Account", "Amount", "Note"]]
    for day in (1, 2):
        for account in ALL_USD:
            value = cents(rng, 5, 60)
            note = f"Daily platform fee, December {day}"
            first.append([f"12/{day:02d}/2026", account, f"{value:.2f}", note])
            shown = f"{value:.2f}".rstrip("0").rstrip(".")
            again.append([f"12/{day}/2026", account, shown, note])
    write_csv(HERE / "daily_sheet.csv", first, bom=False, crlf=True)
    write_csv(HERE / "daily_sheet_reexported.csv", again, bom=False, crlf=True)


def main() -> None:
    HERE.mkdir(exist_ok=True)
    rng = random.Random(20261201)
    netsuite(rng)
    quickbooks(rng)
    xero(rng)
    german_excel(rng)
    daily_sheet(rng)


if __name__ == "__main__":
    main()
