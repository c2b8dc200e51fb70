"""CSV ledgers: UTF-8 with or without a BOM, LF, CRLF or CR line ends, quoted fields.

The first rows are read here, with Python's own CSV reader, to find the header (title rows above
it are skipped) and the byte where the data starts; pyarrow then reads the data from that byte,
every column as text. A row with too many or too few cells is set aside as a problem on its own
row; a file that is not UTF-8 is refused, naming the first row that is not.

The delimiter is the job's (``[ledger] delimiter``), else the one of ``,`` ``;`` and tab under
which a header row is found (a German Excel writes ``;``). A file whose header reads under two
of them is refused rather than guessed.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from ledgerrun.errors import LedgerFileError
from ledgerrun.ingest.layout import (
    HEADER_SCAN_ROWS,
    Grid,
    Layout,
    find_header,
    is_header,
    score,
)
from ledgerrun.vocab import Problem

HEAD_BYTES = 1 << 20  # the header must lie within the file's first MiB
_BOM = "\ufeff"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+")
_NOT_UTF8 = "is not UTF-8 text; save the file as 'CSV UTF-8'"
DETECTED = (",", ";", "\t")  # the delimiters found from the header row, in this order
_NAMES = {",": "','", ";": "';'", "\t": "a tab", "|": "'|'"}

Records = list[tuple[int, Any, int]]


def read_csv(path: Path, size: int, layout: Layout) -> Grid:
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    whole = len(head) >= size
    text = head.decode("utf-8", errors="surrogateescape")
    skipped = 0
    if text.startswith(_BOM):
        text, skipped = text[1:], len(_BOM.encode())
    delimiter, (records, cut) = _delimiter(path, text, whole, layout)
    candidates = [(number, cells) for number, cells, _ in records]
    found = find_header(candidates, layout)
    if found is None:
        if cut:
            raise LedgerFileError(
                f"{path.name}: its first rows run past the first MiB without a header row; "
                "is it really a ledger?"
            )
        raise LedgerFileError(f"{path.name} has no header row")
    header_row, header = found
    if any("\udc80" <= ch <= "\udcff" for cell in header for ch in cell):
        raise LedgerFileError(f"{path.name}: row {header_row} {_NOT_UTF8}", row=header_row)
    end = next(end for number, _, end in records if number == header_row)
    start = skipped + len(text[:end].encode("utf-8", errors="surrogateescape"))
    table, rows, problems = _read_data(path, start, size, header_row, len(header), delimiter)
    if not is_header(header, layout):
        problems = []  # the header lacks required columns: that is the problem, not each row
    first = [(number, [str(c) for c in cells]) for number, cells in candidates]
    return Grid(header, header_row, table, rows, problems, head=first)


def _delimiter(
    path: Path, text: str, whole: bool, layout: Layout
) -> tuple[str, tuple[Records, bool]]:
    """The delimiter and the first rows read with it: the job's, else the one under which the
    header is found (the one under which the first rows come closest when none is)."""
    if layout.delimiter is not None:
        return layout.delimiter, _first_records(path, text, whole, layout, layout.delimiter)
    read: dict[str, tuple[Records, bool]] = {}
    failure: LedgerFileError | None = None
    for delimiter in DETECTED:
        try:
            read[delimiter] = _first_records(path, text, whole, layout, delimiter)
        except LedgerFileError as exc:
            failure = failure or exc
    if not read:
        assert failure is not None
        raise failure
    headed = [d for d, (found, _) in read.items() if any(is_header(r[1], layout) for r in found)]
    if len(headed) > 1:
        names = " and ".join(_NAMES[d] for d in headed)
        raise LedgerFileError(
            f"{path.name}: its header reads both with {names} between the columns; name the "
            'delimiter in the job ([ledger] delimiter = ";", for example)'
        )
    if headed:
        return headed[0], read[headed[0]]

    def closeness(delimiter: str) -> int:
        return max((score(r[1], layout) for r in read[delimiter][0]), default=0)

    best = max(read, key=lambda d: (closeness(d), -DETECTED.index(d)))
    return best, read[best]


def _first_records(
    path: Path, text: str, whole: bool, layout: Layout, delimiter: str = ","
) -> tuple[Records, bool]:
    """The first rows of ``text``, up to the header, as ``(row number, cells, where the row
    ends)``; and whether the scan stopped at the end of ``text`` inside a row (the file goes on
    beyond it). Rows below the header are left to pyarrow."""
    lines = _lines(text, whole)
    reader = csv.reader(lines.each(), delimiter=delimiter)
    found: list[tuple[int, Any, int]] = []
    for number in range(1, HEADER_SCAN_ROWS + 1):
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if lines.partial:
                return found, True
            raise LedgerFileError(
                f"{path.name}: row {number} cannot be read as CSV: {exc}", row=number
            ) from None
        if lines.partial:  # the row may go on past what was read
            return found, True
        found.append((number, cells, lines.consumed))
        if is_header(cells, layout):
            break
    return found, False


class _lines:
    """Lines of ``text`` for the CSV reader, counting the characters it has taken."""

    def __init__(self, text: str, whole: bool) -> None:
        self.text, self.whole = text, whole
        self.consumed = 0
        self.partial = False

    def each(self) -> Iterator[str]:
        for match in _LINE.finditer(self.text):
            line = match.group()
            self.consumed = match.end()
            if not self.whole and match.end() == len(self.text):
                self.partial = True
            yield line


def _read_data(
    path: Path, start: int, size: int, header_row: int, width: int, delimiter: str = ","
) -> tuple[pa.Table, pa.Array | None, list[Problem]]:
    import pyarrow.csv as pcsv

    names = [f"c{i}" for i in range(width)]
    if start >= size:
        return pa.table({n: pa.array([], pa.string()) for n in names}), None, []
    bad_rows: list[Any] = []

    def keep_aside(row: Any) -> str:
        bad_rows.append(row)
        return "skip"

    def read(threads: bool, newlines: bool, careful: bool) -> pa.Table:
        with pa.OSFile(str(path)) as source:
            source.seek(start)
            return pcsv.read_csv(
                source,
                read_options=pcsv.ReadOptions(
                    use_threads=threads, block_size=1 << 22, column_names=names
                ),
                parse_options=pcsv.ParseOptions(
                    delimiter=delimiter,
                    newlines_in_values=newlines,
                    ignore_empty_lines=False,
                    invalid_row_handler=keep_aside if careful else None,
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )

    # First the fast way, which splits the file into blocks at line ends. pyarrow notices when a
    # quoted value holding a line break straddles two blocks (its parser and chunker disagree)
    # and fails; then the file is read again allowing line breaks in values. Only when that
    # fails too (a row with the wrong number of cells) is it read the careful way, setting such
    # rows aside; pyarrow hands those rows over as text, so the file must be UTF-8 first.
    for newlines in (False, True):
        try:
            return read(threads=True, newlines=newlines, careful=False), None, []
        except pa.ArrowInvalid as exc:
            if _about_utf8(exc):
                raise _not_utf8(path) from None
    _require_utf8(path)
    try:
        table = read(threads=True, newlines=True, careful=True)
        if not bad_rows:
            return table, None, []
        bad_rows.clear()  # rows set aside shift the numbering: one thread numbers them
        table = read(threads=False, newlines=True, careful=True)
    except pa.ArrowInvalid as exc:
        raise LedgerFileError(f"{path.name} cannot be read as CSV: {exc}") from None
    set_aside = {header_row + row.number: row for row in bad_rows}
    total = table.num_rows + len(set_aside)
    first = header_row + 1
    numbers = [n for n in range(first, first + total) if n not in set_aside]
    problems = [
        Problem.make(
            number,
            "",
            "unreadable_file",
            row.text,
            f"row {number} has {row.actual_columns} cells but the header (row {header_row}) has "
            f"{row.expected_columns}: a stray comma or an unclosed quote?",
        )
        for number, row in sorted(set_aside.items())
        if row.text.strip(", \t")  # a blank line is a blank spreadsheet row, not a problem
    ]
    return table, pa.array(numbers, pa.int64()), problems


def _about_utf8(exc: pa.ArrowInvalid) -> bool:
    text = str(exc)
    return "UTF8" in text or "UTF-8" in text


def _require_utf8(path: Path) -> None:
    """Refuse a file that is not UTF-8 throughout, naming its first row that is not."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            for block in iter(lambda: fh.read(1 << 22), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _not_utf8(path) from None


def _not_utf8(path: Path) -> LedgerFileError:
    row = _first_bad_utf8_row(path)
    return LedgerFileError(f"{path.name}: row {row} {_NOT_UTF8}", row=row)


def _first_bad_utf8_row(path: Path) -> int:
    """The spreadsheet row holding the first byte that is not UTF-8 (1 when it cannot tell)."""
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh)
        try:
            for number, cells in enumerate(reader, start=1):
                if any("\udc80" <= ch <= "\udcff" for cell in cells for ch in cell):
                    return number
        except csv.Error:
            return max(reader.line_num, 1)
    return 1
