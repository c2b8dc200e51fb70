"""xlsx ledgers, read straight from the workbook's XML, streaming, the way Excel shows them.

The sheet read is the one the job names (hidden or not), else the workbook's active sheet (the
first visible sheet when the active one is hidden). Number cells are shown through their number
format (:mod:`~ledgerrun.ingest.numfmt`), except amounts, which are their stored number at 15
significant digits. A cell holding a spreadsheet error (``#N/A``, ``#REF!``, ...) is a
``bad_value`` problem and a formula never calculated (no value saved with it) is
``formula_not_calculated``; both make their row invalid.

Limits, checked before anything is unpacked: at most :data:`MAX_UNPACKED` bytes once unpacked
(from the zip directory; zipfile stops any part at its declared size) and :data:`MAX_PARTS`
parts; then while reading, no cell over Excel's own 32,767 characters. A workbook beyond them is
refused whole, quickly and with little memory.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.parsers import expat

import pyarrow as pa

from ledgerrun.errors import LedgerFileError
from ledgerrun.ingest import numfmt
from ledgerrun.ingest.read import (
    HEADER_SCAN_ROWS,
    Grid,
    amount_columns,
    find_header,
    is_header,
)
from ledgerrun.vocab import Problem

MAX_UNPACKED = 256 << 20
MAX_PARTS = 10_000
MAX_CELL_CHARS = 32_767
MAX_COLUMNS = 16_384  # XFD, Excel's last column
MAX_ROWS = 1_048_576
_FORMULA_CHARS = 200  # enough of a formula to show in a message
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_BROKEN = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    expat.ExpatError,
    ValueError,
    IndexError,
)


class _Refused(Exception):
    """The workbook is beyond a limit, or not shaped as an xlsx workbook is."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell as stored: ``kind`` is ``n`` (number), ``s`` (text), ``b`` (TRUE/FALSE), ``e``
    (an error such as ``#N/A``), ``d`` (an ISO date) or ``f`` (a formula with no value);
    ``text`` is the stored value as text, ``fmt`` the number format's code."""

    kind: str
    text: str
    fmt: str = "General"


def read_xlsx(path: Path, sheet: str | None, mapping: Mapping[str, str]) -> Grid:
    try:
        with zipfile.ZipFile(path) as book:
            workbook = _Workbook(book)
            part = workbook.choose(path, sheet)
            return _grid(path, workbook.rows(part), mapping, workbook.date1904)
    except _Refused as exc:
        raise LedgerFileError(f"{path.name}: {exc}") from None
    except _BROKEN as exc:
        raise LedgerFileError(f"{path.name} cannot be read as an .xlsx workbook: {exc}") from None


# --- the parts of a workbook -------------------------------------------------------------------


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _no_dtd(*_: object) -> None:
    raise _Refused("the workbook's XML declares a DTD, which no xlsx workbook does")


def _parse(
    book: zipfile.ZipFile,
    name: str,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
    text: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Parse one part, calling the handlers with local names; yields after each block read."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.EntityDeclHandler = _no_dtd
    parser.StartElementHandler = lambda tag, attrs: start(
        _local(tag), {_local(k): v for k, v in attrs.items()}
    )
    if end is not None:
        parser.EndElementHandler = lambda tag: end(_local(tag))
    if text is not None:
        parser.CharacterDataHandler = text
    stream: IO[bytes]
    with book.open(name) as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            parser.Parse(block, False)
            yield
    parser.Parse(b"", True)
    yield


def _drain(parts: Iterator[None]) -> None:
    for _ in parts:
        pass


def _rels(book: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, target part)."""
    folder, base = posixpath.split(part)
    name = posixpath.join(folder, "_rels", base + ".rels")
    found: dict[str, tuple[str, str]] = {}
    if name not in book.NameToInfo:
        return found

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            full = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), posixpath.normpath(full))

    _drain(_parse(book, name, start))
    return found


class _Workbook:
    def __init__(self, book: zipfile.ZipFile) -> None:
        infos = book.infolist()
        if len(infos) > MAX_PARTS:
            raise _Refused(f"the workbook has {len(infos):,} parts; no ledger needs so many")
        unpacked = sum(info.file_size for info in infos)
        if unpacked > MAX_UNPACKED:
            raise _Refused(
                f"the workbook unpacks to {unpacked / 2**20:,.0f} MiB, more than the "
                f"{MAX_UNPACKED >> 20} MiB ledgerrun reads; is it really a ledger?"
            )
        self.book = book
        package = _rels(book, "").values()
        office = next(
            (target for kind, target in package if kind.endswith("/officeDocument")),
            "xl/workbook.xml",
        )
        if office not in book.NameToInfo:
            raise _Refused("it has no workbook part: is it an .xlsx workbook?")
        self.sheets: list[tuple[str, str, str]] = []  # (name, state, relationship id)
        self.active = 0
        self.date1904 = False
        views: list[int] = []

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "sheet":
                self.sheets.append(
                    (attrs.get("name", ""), attrs.get("state", "visible"), attrs.get("id", ""))
                )
            elif tag == "workbookView":
                views.append(int(attrs.get("activeTab", "0")))
            elif tag == "workbookPr":
                self.date1904 = attrs.get("date1904", "0").lower() in ("1", "true")

        _drain(_parse(book, office, start))
        self.active = views[0] if views else 0
        self.links = _rels(book, office)
        self.formats = self._styles()
        self.shared: list[str] | None = None

    def _part(self, kind: str) -> str | None:
        for rel_type, target in self.links.values():
            if rel_type.endswith("/" + kind) and target in self.book.NameToInfo:
                return target
        return None

    def choose(self, path: Path, wanted: str | None) -> str:
        """The part of the sheet to read."""
        if not self.sheets:
            raise _Refused("the workbook has no sheets")
        names = [name for name, _, _ in self.sheets]
        if wanted is not None:
            matches = [i for i, n in enumerate(names) if n == wanted] or [
                i for i, n in enumerate(names) if n.lower() == wanted.lower()
            ]
            if not matches:
                raise _Refused(f"has no sheet named '{wanted}'; its sheets are: {', '.join(names)}")
            index = matches[0]
        else:
            visible = [i for i, (_, state, _) in enumerate(self.sheets) if state == "visible"]
            if not visible:
                raise _Refused("every sheet of the workbook is hidden; name one in the job")
            index = self.active if self.active in visible else visible[0]
        link = self.links.get(self.sheets[index][2])
        if link is None or link[1] not in self.book.NameToInfo:
            raise _Refused(f"the sheet '{names[index]}' has no data in the workbook")
        return link[1]

    def _styles(self) -> list[str]:
        """The number format code of each cell style (cellXfs), by index."""
        part = self._part("styles")
        if part is None:
            return []
        codes: dict[int, str] = {}
        ids: list[int] = []
        inside = [False]

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "numFmt":
                codes[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "General")
            elif tag == "cellXfs":
                inside[0] = True
            elif tag == "xf" and inside[0]:
                ids.append(int(attrs.get("numFmtId", "0")))

        def end(tag: str) -> None:
            if tag == "cellXfs":
                inside[0] = False

        _drain(_parse(self.book, part, start, end))
        return [codes.get(i) or numfmt.BUILTIN.get(i, "General") for i in ids]

    def strings(self) -> list[str]:
        if self.shared is None:
            self.shared = []
            part = self._part("sharedStrings")
            if part is not None:
                collect = _Texts(self.shared)
                _drain(_parse(self.book, part, collect.start, collect.end, collect.text))
        return self.shared

    def rows(self, part: str) -> Iterator[tuple[int, dict[int, Cell]]]:
        sheet = _Sheet(self)
        for _ in _parse(self.book, part, sheet.start, sheet.end, sheet.text):
            yield from sheet.done
            sheet.done.clear()


class _Texts:
    """Collects the shared strings: the text of each ``si``, phonetic runs left out."""

    def __init__(self, into: list[str]) -> None:
        self.into = into
        self.parts: list[str] = []
        self.size = 0
        self.depth_t = 0
        self.depth_rph = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "si":
            self.parts, self.size = [], 0
        elif tag == "t":
            self.depth_t += 1
        elif tag == "rPh":
            self.depth_rph += 1

    def end(self, tag: str) -> None:
        if tag == "si":
            self.into.append(_unescape("".join(self.parts)))
        elif tag == "t":
            self.depth_t -= 1
        elif tag == "rPh":
            self.depth_rph -= 1

    def text(self, data: str) -> None:
        if self.depth_t and not self.depth_rph:
            self.size += len(data)
            if self.size > MAX_CELL_CHARS:
                raise _Refused(_too_long())
            self.parts.append(data)


def _too_long() -> str:
    return (
        f"a cell holds more than {MAX_CELL_CHARS:,} characters, more than Excel itself allows; "
        "is it really a ledger?"
    )


def _unescape(text: str) -> str:
    """OOXML writes control characters in text as ``_x000D_``."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _column(ref: str) -> int:
    index = 0
    for ch in ref:
        if not ch.isalpha():
            break
        index = index * 26 + (ord(ch.upper()) - 64)
    if not 1 <= index <= MAX_COLUMNS:
        raise _Refused(f"a cell reference '{ref[:12]}' is outside Excel's sheet")
    return index - 1


class _Sheet:
    """Turns a sheet's XML into rows of cells, ``(row number, {column index: Cell})``."""

    def __init__(self, workbook: _Workbook) -> None:
        self.workbook = workbook
        self.done: list[tuple[int, dict[int, Cell]]] = []
        self.row, self.col = 0, -1
        self.cells: dict[int, Cell] = {}
        self.kind, self.style = "n", 0
        self.value: list[str] | None = None
        self.formula: list[str] | None = None
        self.inline: list[str] | None = None
        self.target: list[str] | None = None
        self.size = 0
        self.depth_rph = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "c":
            ref = attrs.get("r")
            self.col = _column(ref) if ref else self.col + 1
            self.kind, self.style = attrs.get("t", "n"), int(attrs.get("s", "0"))
            self.value = self.formula = self.inline = None
        elif tag == "v":
            self.value, self.size = [], 0
            self.target = self.value
        elif tag == "f":
            self.formula = []
            self.target = self.formula
        elif tag == "is":
            self.inline, self.size = [], 0
        elif tag == "t" and self.inline is not None and not self.depth_rph:
            self.target = self.inline
        elif tag == "rPh":
            self.depth_rph += 1
        elif tag == "row":
            number = attrs.get("r")
            self.row = int(number) if number else self.row + 1
            if not 1 <= self.row <= MAX_ROWS:
                raise _Refused(f"a row number {self.row} is outside Excel's sheet")
            self.col, self.cells = -1, {}

    def end(self, tag: str) -> None:
        if tag in ("v", "f", "t"):
            self.target = None
        elif tag == "rPh":
            self.depth_rph -= 1
        elif tag == "c":
            cell = self._cell()
            if cell is not None:
                self.cells[self.col] = cell
        elif tag == "row":
            if self.cells:
                self.done.append((self.row, self.cells))
            self.cells = {}

    def text(self, data: str) -> None:
        target = self.target
        if target is None:
            return
        if target is self.formula:
            if sum(map(len, target)) < _FORMULA_CHARS:
                target.append(data)
            return
        self.size += len(data)
        if self.size > MAX_CELL_CHARS:
            raise _Refused(_too_long())
        target.append(data)

    def _cell(self) -> Cell | None:
        value = None if self.value is None else "".join(self.value)
        formats = self.workbook.formats
        fmt = formats[self.style] if 0 <= self.style < len(formats) else "General"
        kind = self.kind
        if self.formula is not None and not (value or kind == "str"):
            # no value saved with the formula (openpyxl writes <v/>; a text result may be empty)
            return Cell("f", "=" + "".join(self.formula).strip(), fmt)
        if value is None and kind != "inlineStr":
            return None
        if kind == "s":
            return Cell("s", self.workbook.strings()[int(value or "")], fmt)
        if kind == "inlineStr":
            return Cell("s", _unescape("".join(self.inline or [])), fmt)
        if kind == "str":
            return Cell("s", _unescape(value or ""), fmt)
        if kind == "b":
            return Cell("b", "TRUE" if (value or "").strip() in ("1", "true") else "FALSE", fmt)
        if kind in ("e", "d"):
            return Cell(kind, (value or "").strip(), fmt)
        return Cell("n", (value or "").strip(), fmt)


# --- from rows of cells to a grid --------------------------------------------------------------


def _text(cell: Cell, amount: bool, date1904: bool) -> str:
    if cell.kind == "n":
        return numfmt.exact(cell.text) if amount else numfmt.shown(cell.text, cell.fmt, date1904)
    if cell.kind == "d" and not amount:
        return cell.text[:10]
    return cell.text


def _grid(
    path: Path,
    rows: Iterator[tuple[int, dict[int, Cell]]],
    mapping: Mapping[str, str],
    date1904: bool,
) -> Grid:
    first: list[tuple[int, dict[int, Cell]]] = []
    for number, cells in rows:
        first.append((number, cells))
        if number >= HEADER_SCAN_ROWS:
            break
    candidates = [
        (n, _row_texts(cells, max(cells) + 1, set(), date1904))
        for n, cells in first
        if cells and n <= HEADER_SCAN_ROWS
    ]
    found = find_header(candidates, mapping)
    if found is None:
        raise _Refused("the sheet is empty (no header row)")
    header_row, header = found
    while header and not header[-1].strip():
        header.pop()
    shown = [h.strip() or f"column {i + 1}" for i, h in enumerate(header)]
    amounts = amount_columns(header, mapping)
    columns: list[list[str]] = [[] for _ in header]
    numbers: list[int] = []
    problems: list[Problem] = []

    def later() -> Iterator[tuple[int, dict[int, Cell]]]:
        yield from (row for row in first if row[0] > header_row)
        yield from rows

    for number, cells in later():
        texts = _row_texts(cells, len(header), amounts, date1904)
        beyond = [i for i in sorted(cells) if i >= len(header) and _text(cells[i], False, date1904)]
        if not any(t.strip() for t in texts) and not beyond:
            continue  # a blank row: the spreadsheet shows it, but it holds no adjustment
        if beyond:
            problems.append(
                Problem.make(
                    number,
                    "",
                    "unreadable_file",
                    _text(cells[beyond[0]], False, date1904),
                    f"row {number} has a value in column {beyond[0] + 1}, which has no header",
                )
            )
            continue
        problems.extend(_cell_problems(number, cells, shown))
        for column, text in zip(columns, texts, strict=True):
            column.append(text)
        numbers.append(number)
    if not is_header(header, mapping):  # the header lacks required columns: that is the problem
        problems = [p for p in problems if p.code != "unreadable_file"]
    table = pa.table(
        [pa.array(c, pa.string()) for c in columns], names=[f"c{i}" for i in range(len(header))]
    )
    return Grid(header, header_row, table, pa.array(numbers, pa.int64()), problems)


def _row_texts(cells: dict[int, Cell], width: int, amounts: set[int], date1904: bool) -> list[str]:
    texts = [""] * width
    for index, cell in cells.items():
        if index < width:
            texts[index] = _text(cell, index in amounts, date1904)
    return texts


def _cell_problems(number: int, cells: dict[int, Cell], shown: list[str]) -> list[Problem]:
    found = []
    for index in sorted(cells):
        cell = cells[index]
        if index >= len(shown) or cell.kind not in ("e", "f"):
            continue
        if cell.kind == "e":
            found.append(
                Problem.make(
                    number,
                    shown[index],
                    "bad_value",
                    cell.text,
                    f"The cell shows the spreadsheet error {cell.text}, not a value.",
                )
            )
        else:
            found.append(
                Problem.make(
                    number,
                    shown[index],
                    "formula_not_calculated",
                    cell.text,
                    "The cell holds a formula that has never been calculated, so it has no "
                    "value: open and save the workbook in Excel.",
                )
            )
    return found
