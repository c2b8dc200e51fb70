"""The parts of an xlsx workbook, read straight from its zip and XML, streaming.

:class:`Workbook` checks the limits before anything is unpacked: at most :data:`MAX_UNPACKED`
bytes once unpacked, by the zip directory (zipfile stops any part at its declared size, so a part
cannot lie its way past the check), and at most :data:`MAX_PARTS` parts; while reading, no cell
over Excel's own :data:`MAX_CELL_CHARS` characters and no XML with a DTD. It finds the sheets, the
active one, the number formats and the shared strings, and streams a sheet's rows of
:class:`Cell`.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO
from xml.parsers import expat

from ledgerrun.ingest import numfmt

MAX_UNPACKED = 256 << 20
MAX_PARTS = 10_000
MAX_CELL_CHARS = 32_767
MAX_COLUMNS = 16_384  # XFD, Excel's last column
MAX_ROWS = 1_048_576
_FORMULA_CHARS = 200  # enough of a formula to show in a message
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
BROKEN = (
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


class Refused(Exception):
    """The workbook is beyond a limit, or not shaped as an xlsx workbook is."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell as stored: ``kind`` is ``n`` (number), ``s`` (text), ``b`` (TRUE/FALSE), ``e``
    (an error such as ``#N/A``), ``d`` (an ISO date) or ``f`` (a formula with no value);
    ``text`` is the stored value as text, ``fmt`` the number format's code."""

    kind: str
    text: str
    fmt: str = "General"


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _no_dtd(*_: object) -> None:
    raise Refused("the workbook's XML declares a DTD, which no xlsx workbook does")


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


class Workbook:
    def __init__(self, book: zipfile.ZipFile) -> None:
        infos = book.infolist()
        if len(infos) > MAX_PARTS:
            raise Refused(f"the workbook has {len(infos):,} parts; no ledger needs so many")
        unpacked = sum(info.file_size for info in infos)
        if unpacked > MAX_UNPACKED:
            raise Refused(
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
            raise Refused("it has no workbook part: is it an .xlsx workbook?")
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

    def choose(self, wanted: str | None) -> str:
        """The part of the sheet to read."""
        if not self.sheets:
            raise Refused("the workbook has no sheets")
        names = [name for name, _, _ in self.sheets]
        if wanted is not None:
            matches = [i for i, n in enumerate(names) if n == wanted] or [
                i for i, n in enumerate(names) if n.lower() == wanted.lower()
            ]
            if not matches:
                raise Refused(f"has no sheet named '{wanted}'; its sheets are: {', '.join(names)}")
            index = matches[0]
        else:
            visible = [i for i, (_, state, _) in enumerate(self.sheets) if state == "visible"]
            if not visible:
                raise Refused("every sheet of the workbook is hidden; name one in the job")
            index = self.active if self.active in visible else visible[0]
        link = self.links.get(self.sheets[index][2])
        if link is None or link[1] not in self.book.NameToInfo:
            raise Refused(f"the sheet '{names[index]}' has no data in the workbook")
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
                raise Refused(_too_long())
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
        raise Refused(f"a cell reference '{ref[:12]}' is outside Excel's sheet")
    return index - 1


class _Sheet:
    """Turns a sheet's XML into rows of cells, ``(row number, {column index: Cell})``."""

    def __init__(self, workbook: Workbook) -> None:
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
                raise Refused(f"a row number {self.row} is outside Excel's sheet")
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
            raise Refused(_too_long())
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
