"""Where a ledger's header is, and which of its columns is which: shared by every reader.

A :class:`Layout` is what the job says about the file's columns: its ``[columns]`` mapping, the
headers of a composite id, whether a currency column is needed (not when the job names the
currency), the CSV delimiter and the decimal mark of amounts.

The header is the first row among the first :data:`HEADER_SCAN_ROWS` that holds every required
column: ``adjustment_id`` (or every part of a composite id), ``account``, ``currency`` (unless
the job names one), and an amount: ``amount``, ``amount_minor``, or a ``debit``/``credit`` pair.
When no row holds them all, the row holding the most is taken (a title above the real header is
never blamed for what the header lacks), and the missing columns are reported against it with
the closest header text found in the first rows.

Canonical columns are matched through the mapping (exactly, then ignoring case), then by name in
any case. ``debit`` and ``credit`` are matched by name only as a pair and only in a file without
an ``amount`` or ``amount_minor`` column; a job that maps the pair leaves any ``amount`` column
to the extras, and a composite id leaves any ``adjustment_id`` column to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

import pyarrow as pa

from ledgerrun.errors import LedgerFileError
from ledgerrun.job import AMOUNT_PAIR, CANONICAL_COLUMNS, Reading
from ledgerrun.vocab import Problem

if TYPE_CHECKING:
    from ledgerrun.ingest.cellview import Typed

METADATA_PREFIX = "metadata."
HEADER_SCAN_ROWS = 20
AMOUNTS = ("amount", "amount_minor")
AMOUNT_COLUMNS = (*AMOUNTS, *AMOUNT_PAIR)  # the columns whose cells are money


class Layout(NamedTuple):
    """What the job says about the file's columns (see the module docstring)."""

    columns: Mapping[str, str] = MappingProxyType({})
    id_parts: tuple[str, ...] = ()
    currency_column: bool = True
    delimiter: str | None = None
    decimal: str = "."

    @classmethod
    def of(cls, columns: Mapping[str, str] | None, reading: Reading | None = None) -> Layout:
        reading = reading or Reading()
        return cls(
            columns=dict(columns or {}),
            id_parts=reading.id_parts,
            currency_column=reading.currency is None,
            delimiter=reading.delimiter,
            decimal=reading.decimal,
        )

    @property
    def pair(self) -> bool:
        """Whether the job maps a debit/credit pair of amount columns."""
        return all(name in self.columns for name in AMOUNT_PAIR)

    def required(self) -> tuple[str, ...]:
        """The columns every ledger needs besides its amount."""
        if self.currency_column:
            return ("adjustment_id", "account", "currency")
        return ("adjustment_id", "account")


class Grid(NamedTuple):
    """A file's header and the text of its data rows, before columns are matched to names.

    ``table`` has one string column per header cell, in order; ``rows`` numbers its rows (None:
    consecutive from the row below the header). ``typed`` holds the xlsx cells validation must
    judge by their type and format, by (row number, column index). ``head`` holds the first rows
    the header was looked for in (row number, cells), for messages about a header not found."""

    header: list[str]
    header_row: int
    table: pa.Table
    rows: pa.Array | None = None
    problems: Sequence[Problem] = ()
    typed: Mapping[tuple[int, int], Typed] = MappingProxyType({})  # (row, column index)
    head: Sequence[tuple[int, list[str]]] = ()


# --- which column is which ---------------------------------------------------------------------


def _index(headers: Sequence[str], wanted: str) -> int | None:
    """The column whose header is ``wanted``: exactly, else ignoring case."""
    if wanted in headers:
        return list(headers).index(wanted)
    lowered = [h.lower() for h in headers]
    return lowered.index(wanted.lower()) if wanted.lower() in lowered else None


def assign(headers: Sequence[str], layout: Layout | Mapping[str, str]) -> dict[int, str]:
    """Which file column becomes which canonical column: the job's mapping first, then names.

    ``headers`` are stripped of surrounding whitespace."""
    if not isinstance(layout, Layout):
        layout = Layout(columns=layout)
    mapping = layout.columns
    taken: dict[int, str] = {}
    for canonical, header in mapping.items():
        index = _index(headers, header)
        if index is not None and index not in taken:
            taken[index] = canonical
    mapped = set(taken.values())
    never = set(mapping)
    if layout.id_parts:
        never.add("adjustment_id")
    if layout.pair:
        never.update(AMOUNTS)
    for index, header in enumerate(headers):
        if index in taken:
            continue
        low = header.lower()
        if low in CANONICAL_COLUMNS and low not in mapped and low not in never:
            taken[index] = low
            mapped.add(low)
        elif low.startswith(METADATA_PREFIX) and header not in mapped:
            name = METADATA_PREFIX + header[len(METADATA_PREFIX) :]
            if name not in mapped:
                taken[index] = name
    if not layout.pair:  # a debit/credit pair found by name: both, and no other amount column
        named = {taken[i] for i in taken}
        if not all(p in named for p in AMOUNT_PAIR) or named & set(AMOUNTS):
            for index in [i for i, name in taken.items() if name in AMOUNT_PAIR]:
                if taken[index] not in mapping:
                    del taken[index]
    return taken


def part_columns(headers: Sequence[str], layout: Layout) -> list[int] | None:
    """The file columns of a composite id's parts, in the job's order; None when one is absent."""
    found = [_index(headers, part) for part in layout.id_parts]
    return None if any(i is None for i in found) else [i for i in found if i is not None]


def found_names(cells: Sequence[str], layout: Layout) -> set[str]:
    """The canonical columns ``cells`` would give (a composite id counts as adjustment_id)."""
    stripped = [c.strip() for c in cells]
    names = set(assign(stripped, layout).values())
    if layout.id_parts and part_columns(stripped, layout) is not None:
        names.add("adjustment_id")
    return names


def missing(names: set[str], layout: Layout) -> list[str]:
    """The required columns not among ``names`` (``amount`` stands for any amount column)."""
    gone = [name for name in layout.required() if name not in names]
    pair = all(p in names for p in AMOUNT_PAIR)
    if not (pair or any(a in names for a in AMOUNTS)):
        gone.append("amount")
    return gone


def is_header(cells: Sequence[str], layout: Layout | Mapping[str, str]) -> bool:
    """True when ``cells`` hold every required column, under ``layout``."""
    if not isinstance(layout, Layout):
        layout = Layout(columns=layout)
    return not missing(found_names(cells, layout), layout)


def score(cells: Sequence[str], layout: Layout) -> int:
    """How many of the required columns (an amount counted as one) ``cells`` hold."""
    return len(layout.required()) + 1 - len(missing(found_names(cells, layout), layout))


def find_header(
    candidates: Sequence[tuple[int, Sequence[str]]], layout: Layout | Mapping[str, str]
) -> tuple[int, list[str]] | None:
    """The header among the first rows (``(row number, cells)``): the first that holds every
    required column; failing that the row that holds the most of them (the first non-blank row
    when none holds any), judged later: missing columns. None when every candidate is blank."""
    if not isinstance(layout, Layout):
        layout = Layout(columns=layout)
    best: tuple[int, int, list[str]] | None = None
    for number, cells in candidates[:HEADER_SCAN_ROWS]:
        if not any(c.strip() for c in cells):
            continue
        if is_header(cells, layout):
            return number, list(cells)
        points = score(cells, layout)
        if best is None or points > best[0]:
            best = (points, number, list(cells))
    return None if best is None else (best[1], best[2])


def amount_columns(header: Sequence[str], layout: Layout | Mapping[str, str]) -> set[int]:
    """Positions of the header's money columns (amount, amount_minor, debit, credit)."""
    taken = assign([h.strip() for h in header], layout)
    return {index for index, name in taken.items() if name in AMOUNT_COLUMNS}


def closest(wanted: str, head: Sequence[tuple[int, Sequence[str]]]) -> tuple[int, str] | None:
    """The header text in the first rows most like ``wanted`` (row, text): the same words in
    another case or spacing, then a text holding it as a word (or held in it), then a near
    spelling; None when nothing comes close."""
    cells = [(row, cell.strip()) for row, found in head for cell in found if cell.strip()]

    def plain(text: str) -> str:
        return " ".join(text.lower().replace("_", " ").split())

    target = plain(wanted)
    for row, cell in cells:
        if plain(cell).replace(" ", "") == target.replace(" ", ""):
            return row, cell
    for row, cell in cells:
        text = plain(cell)
        if len(text) >= 3 and (f" {target} " in f" {text} " or f" {text} " in f" {target} "):
            return row, cell
    texts = [plain(cell) for _, cell in cells]
    import difflib  # only when no cell reads as the total's label

    near = difflib.get_close_matches(target, texts, n=1, cutoff=0.8)
    return cells[texts.index(near[0])] if near else None


def reject_duplicate_headers(path: Path, headers: Sequence[str], row: int = 1) -> None:
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        key = header.lower()
        if key in seen and header:
            raise LedgerFileError(
                f"{path.name}: the header '{header}' appears twice in row {row} (columns "
                f"{seen[key] + 1} and {index + 1}); every column needs its own name",
                row=row,
                column=header,
            )
        seen[key] = index
