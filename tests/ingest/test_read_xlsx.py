"""Reading xlsx ledgers as Excel shows them: number formats, errors, sheets, and hard limits."""

from __future__ import annotations

import datetime as dt
import resource
import struct
import time
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest

from ledgerrun.errors import LedgerFileError
from ledgerrun.ingest.numfmt import exact, shown
from ledgerrun.ingest.read import read_ledger

HEADER = ["adjustment_id", "account", "amount", "currency"]


def book_with(
    tmp_path: Path, rows: Sequence[Sequence[object]], formats: dict[str, str] | None = None
) -> Path:
    """A one-sheet workbook of ``rows``; ``formats`` maps a cell (``"C2"``) to a number format."""
    book = openpyxl.Workbook()
    ws = book.active
    for row in rows:
        ws.append(row)
    for ref, code in (formats or {}).items():
        ws[ref].number_format = code
    path = tmp_path / "l.xlsx"
    book.save(path)
    return path


def cells(path: Path, **kw: object) -> list[dict[str, str]]:
    ledger = read_ledger(path, **kw)  # type: ignore[arg-type]
    extras = ledger.extras.to_pylist() if ledger.extras.num_columns else [{}] * ledger.num_rows
    return [{**t, **e} for t, e in zip(ledger.table.to_pylist(), extras, strict=True)]


# --- amounts: the stored number, never the format -------------------------------------------


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (0.1 + 0.2, "General", "0.3"),  # Excel's 15 significant digits
        (12.345, "0.00", "12.345"),  # shown as 12.35, read as stored: too_many_decimals for USD
        (1234.5, '"$"#,##0.00', "1234.5"),  # the currency symbol is the format's, not the amount's
        (1234.5, "[$€-407]#,##0.00", "1234.5"),
        (15.0, "0.00", "15"),
        (7, "General", "7"),
        (1e20, "General", "100000000000000000000"),  # in full: too large, never an exponent
        (1e-10, "0.00", "0.0000000001"),  # too many decimals, not 0.00
    ],
)
def test_amount_cells_are_their_stored_number(
    tmp_path: Path, value: float, fmt: str, text: str
) -> None:
    path = book_with(tmp_path, [HEADER, ["A", "acct_1A", value, "usd"]], {"C2": fmt})
    assert cells(path)[0]["amount"] == text


def test_amount_minor_cells_too(tmp_path: Path) -> None:
    path = book_with(
        tmp_path,
        [["adjustment_id", "account", "amount_minor", "currency"], ["A", "acct_1A", 1500, "usd"]],
        {"C2": "#,##0"},
    )
    assert cells(path)[0]["amount_minor"] == "1500"


# --- other cells: as the format shows them ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (456, "00000", "00456"),
        (456, "0", "456"),
        (2.5, "0", "3"),
        (2.5, "0.00", "2.50"),
        (1234567, "#,##0", "1,234,567"),
        (1234.5, "#,##0.00", "1,234.50"),
        (42, "@", "42"),
        (42, "General", "42"),
        (0.1 + 0.2, "General", "0.3"),
        (7, '"INV-"0000', "INV-0007"),
        (dt.datetime(2026, 11, 26, 14, 30), "yyyy-mm-dd h:mm", "2026-11-26 14:30"),
        (dt.date(2026, 11, 26), "d mmm yyyy", "2026-11-26"),
        (0.25, "0%", "25%"),
        (0.125, "0.0%", "12.5%"),
        (1234.5, "0.00E+00", "1.23E+03"),
        (True, "General", "TRUE"),
    ],
)
def test_other_number_cells_read_as_their_format_shows_them(
    tmp_path: Path, value: object, fmt: str, text: str
) -> None:
    path = book_with(
        tmp_path,
        [[*HEADER, "metadata.ref", "note"], ["A", "acct_1A", 1, "usd", value, value]],
        {"E2": fmt, "F2": fmt},
    )
    (row,) = cells(path)
    assert row["metadata.ref"] == text and row["note"] == text


def test_a_numeric_id_keeps_the_zeros_its_format_shows(tmp_path: Path) -> None:
    path = book_with(tmp_path, [HEADER, [101, "acct_1A", 1, "usd"]], {"A2": "0000000"})
    assert cells(path)[0]["adjustment_id"] == "0000101"


@pytest.mark.parametrize(
    ("text", "code", "expected"),
    [
        ("456", "00000", "00456"),
        ("-5", "#,##0_);(#,##0)", "(5)"),
        ("-5", "0", "-5"),
        ("0", '#,##0;-#,##0;"zero"', "zero"),
        ("0.5", "#.00", ".50"),
        ("2.675", "0.00", "2.68"),  # rounds what Excel shows: the 15-digit value, half up
        ("46352", "yyyy-mm-dd", "2026-11-26"),
        ("60", "yyyy-mm-dd", "1900-02-29"),  # Excel's phantom leap day
        ("0.5", "h:mm", "12:00"),  # a time of day
        ("1.75", "[h]:mm", "1.75"),  # an elapsed time: not rendered
        ("123456789", "000-00-0000", "123456789"),  # text between digits: exotic
        ("1234567890123456789", "General", "1.23456789012346E+18"),
        ("abc", "0.00", "abc"),
    ],
)
def test_number_format_rendering(text: str, code: str, expected: str) -> None:
    assert shown(text, code) == expected


def test_dates_in_the_1904_system() -> None:
    assert shown("0", "yyyy-mm-dd", date1904=True) == "1904-01-01"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.30000000000000004", "0.3"), ("12.345", "12.345"), ("-0", "0"), ("1E-10", "0.0000000001")],
)
def test_exact_amount_text(text: str, expected: str) -> None:
    assert exact(text) == expected


# --- errors and formulas ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", ["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!"]
)
def test_error_cells_are_bad_value_problems(tmp_path: Path, error: str) -> None:
    path = book_with(
        tmp_path,
        [[*HEADER, "note"], ["A", "acct_1A", error, "usd", "x"], ["B", "acct_1A", 1, "usd", error]],
    )
    ledger = read_ledger(path)
    assert [(p.row, p.column, p.code, p.value) for p in ledger.read_problems] == [
        (2, "amount", "bad_value", error),
        (3, "note", "bad_value", error),
    ]
    assert error in ledger.read_problems[0].message


def test_a_formula_never_calculated_is_its_own_problem(tmp_path: Path) -> None:
    # openpyxl writes formulas without a value, as a workbook never opened in Excel has them
    path = book_with(tmp_path, [HEADER, ["A", "acct_1A", "=1+1", "usd"]])
    (problem,) = read_ledger(path).read_problems
    assert (problem.row, problem.column, problem.code) == (2, "amount", "formula_not_calculated")
    assert problem.value == "=1+1"
    assert "open and save the workbook in Excel" in problem.message


# --- which sheet ------------------------------------------------------------------------------


def workbook_of_sheets(tmp_path: Path, active: int, hidden: tuple[str, ...] = ()) -> Path:
    book = openpyxl.Workbook()
    book.active.title = "Draft"
    book["Draft"].append(HEADER)
    book["Draft"].append(["OLD-1", "acct_1A", 9999, "usd"])
    for name in ("Adjustments", "Notes"):
        book.create_sheet(name)
    book["Adjustments"].append(HEADER)
    book["Adjustments"].append(["NEW-1", "acct_1A", 12.5, "usd"])
    book["Notes"].append(["Approved by the controller"])
    for name in hidden:
        book[name].sheet_state = "hidden"
    book.active = active
    path = tmp_path / "sheets.xlsx"
    book.save(path)
    return path


def test_the_active_sheet_is_read_not_the_first(tmp_path: Path) -> None:
    path = workbook_of_sheets(tmp_path, active=1, hidden=("Draft",))
    assert [r["adjustment_id"] for r in cells(path)] == ["NEW-1"]


def test_a_hidden_sheet_is_never_read_unless_named(tmp_path: Path) -> None:
    path = workbook_of_sheets(tmp_path, active=1, hidden=("Draft",))
    # a workbook saved with its hidden sheet marked active: the first visible sheet is read
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b'activeTab="1"', b'activeTab="0"')
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    assert [r["adjustment_id"] for r in cells(path)] == ["NEW-1"]
    assert [r["adjustment_id"] for r in cells(path, sheet="Draft")] == ["OLD-1"]


def test_a_sheet_named_by_the_job_and_a_missing_one(tmp_path: Path) -> None:
    path = workbook_of_sheets(tmp_path, active=2)
    assert [r["adjustment_id"] for r in cells(path, sheet="adjustments")] == ["NEW-1"]
    with pytest.raises(LedgerFileError, match="no sheet named 'Nope'; its sheets are: Draft"):
        read_ledger(path, sheet="Nope")


def test_the_header_below_a_title_in_a_sheet(tmp_path: Path) -> None:
    path = book_with(
        tmp_path,
        [["November adjustments"], [None], HEADER, ["A", "acct_1A", 1, "usd"], [None], ["B"]],
    )
    ledger = read_ledger(path)
    assert ledger.header_row == 3
    assert ledger.rows.to_pylist() == [4, 6]


# --- limits -----------------------------------------------------------------------------------


def write_zip(path: Path, parts: dict[str, tuple[int, bytes, int]]) -> None:
    """A zip written by hand: name -> (method, data as stored, size once unpacked). The CRCs are
    left at 0: what is tested is refused before a byte of any part is unpacked."""
    body, directory = bytearray(), bytearray()
    for name, (method, data, size) in parts.items():
        raw = name.encode()
        offset = len(body)
        body += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, 0, len(data), size, len(raw), 0
        )
        body += raw + data
        directory += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0,
                0,
                len(data),
                size,
                len(raw),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw
        )
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(directory), len(body), 0
    )
    path.write_bytes(bytes(body + directory + end))


def test_a_zip_bomb_is_refused_from_its_directory_fast_and_small(tmp_path: Path) -> None:
    """A 1 MB workbook whose sheet unpacks to 1 GiB: one enormous cell."""
    source = book_with(tmp_path, [HEADER, ["A", "acct_1A", 1, "usd"]])
    with zipfile.ZipFile(source) as z:
        parts = {n: (0, z.read(n), z.getinfo(n).file_size) for n in z.namelist()}
    # a deflate stream repeating one compressed block: each block restarts after a full flush
    block = b"A" * (1 << 24)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    head = b'<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
    tail = b"</t></is></c></row></sheetData></worksheet>"
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH) + segment * 64
    stream += packer.compress(tail) + packer.flush()
    parts["xl/worksheets/sheet1.xml"] = (8, stream, len(head) + len(block) * 64 + len(tail))
    path = tmp_path / "bomb.xlsx"
    write_zip(path, parts)
    assert path.stat().st_size < 2 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(LedgerFileError, match="unpacks to 1,024 MiB"):
        read_ledger(path)
    assert time.perf_counter() - start < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


def test_a_part_larger_than_its_directory_says_is_cut_short_not_read_whole(tmp_path: Path) -> None:
    """The directory is what is checked; a part that lies about its size is stopped there."""
    source = book_with(tmp_path, [HEADER, ["A", "acct_1A", 1, "usd"]])
    with zipfile.ZipFile(source) as z:
        parts = {n: (0, z.read(n), z.getinfo(n).file_size) for n in z.namelist()}
    block = b"<!-- " + b"A" * (1 << 20) + b" -->"
    sheet = parts["xl/worksheets/sheet1.xml"][1]
    packed = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = packed.compress(block + sheet) + packed.flush()
    parts["xl/worksheets/sheet1.xml"] = (8, data, 1000)  # says 1,000 bytes
    path = tmp_path / "liar.xlsx"
    write_zip(path, parts)
    start = time.perf_counter()
    with pytest.raises(LedgerFileError, match=r"cannot be read as an \.xlsx workbook"):
        read_ledger(path)
    assert time.perf_counter() - start < 0.5


# --- the XML itself ---------------------------------------------------------------------------


def raw_book(
    tmp_path: Path, sheet: str, workbook_pr: str = "", shared: list[str] | None = None
) -> Path:
    """A minimal workbook written by hand, for what openpyxl never writes."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    path = tmp_path / "raw.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{package}">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook {ns} xmlns:r="{rel}">{workbook_pr}<sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{package}">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/s.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="/xl/strings.xml"/>'
            "</Relationships>",
        )
        if shared is not None:
            items = "".join(f"<si><t>{text}</t></si>" for text in shared)
            z.writestr("xl/strings.xml", f"<sst {ns}>{items}</sst>")
        z.writestr(
            "xl/worksheets/s.xml", f"<worksheet {ns}><sheetData>{sheet}</sheetData></worksheet>"
        )
    return path


def istr(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


HEADER_XML = (
    "<row>" + "".join(istr(f"{c}1", h) for c, h in zip("ABCD", HEADER, strict=True)) + "</row>"
)


@pytest.mark.parametrize("where", ["inline", "shared"])
def test_a_cell_longer_than_excel_allows_is_refused(tmp_path: Path, where: str) -> None:
    # (openpyxl cuts such a cell to 32,767 characters on writing, so the XML is written by hand)
    path = raw_book(
        tmp_path,
        HEADER_XML
        + "<row>"
        + (istr("A2", "n" * 32_768) if where == "inline" else '<c r="A2" t="s"><v>0</v></c>')
        + "</row>",
        shared=["n" * 32_768] if where == "shared" else None,
    )
    with pytest.raises(LedgerFileError, match="more than 32,767 characters"):
        read_ledger(path)
    ok = raw_book(tmp_path, HEADER_XML + "<row>" + istr("A2", "n" * 32_767) + "</row>")
    assert len(cells(ok)[0]["adjustment_id"]) == 32_767


def test_inline_strings_formula_results_and_cells_without_references(tmp_path: Path) -> None:
    path = raw_book(
        tmp_path,
        HEADER_XML
        + '<row><c t="str"><f>"A"&amp;"1"</f><v>A1</v></c>'
        + '<c t="inlineStr"><is><r><t>acct_</t></r><r><t>1A</t></r></is></c>'
        + "<c><f>SUM(1,2)</f><v>3</v></c>"
        + '<c t="inlineStr"><is><t>usd</t><rPh><t>ユーエスディー</t></rPh></is></c></row>',
    )
    assert cells(path) == [
        {"adjustment_id": "A1", "account": "acct_1A", "amount": "3", "currency": "usd"}
    ]


def test_escaped_control_characters_in_text_are_decoded(tmp_path: Path) -> None:
    path = raw_book(tmp_path, HEADER_XML + "<row>" + istr("A2", "A_x0009_B") + "</row>")
    assert cells(path)[0]["adjustment_id"] == "A\tB"


def test_a_workbook_with_a_dtd_is_refused(tmp_path: Path) -> None:
    path = raw_book(tmp_path, HEADER_XML)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/worksheets/s.xml"] = (
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + parts["xl/worksheets/s.xml"]
    )
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    with pytest.raises(LedgerFileError, match="DTD"):
        read_ledger(path)


def test_a_reference_beyond_the_last_column_is_refused(tmp_path: Path) -> None:
    path = raw_book(tmp_path, HEADER_XML + '<row><c r="ZZZZ2"><v>1</v></c></row>')
    with pytest.raises(LedgerFileError, match="outside Excel's sheet"):
        read_ledger(path)


def test_the_1904_date_system(tmp_path: Path) -> None:
    path = raw_book(
        tmp_path,
        HEADER_XML.replace("</row>", istr("E1", "booked") + "</row>")
        + "<row>"
        + istr("A2", "A")
        + istr("B2", "acct_1A")
        + '<c r="C2"><v>1</v></c>'
        + istr("D2", "usd")
        + '<c r="E2" t="d"><v>2026-11-26T00:00:00</v></c></row>',
        workbook_pr='<workbookPr date1904="1"/>',
    )
    assert cells(path)[0]["booked"] == "2026-11-26"


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04 not a zip", b"", b"PK\x05\x06" + b"\x00" * 18],
)
def test_broken_workbooks_are_unreadable_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "b.xlsx"
    path.write_bytes(content or b"x")
    with pytest.raises(LedgerFileError):
        read_ledger(path)
