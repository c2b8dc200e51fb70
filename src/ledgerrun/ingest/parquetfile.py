"""Parquet ledgers: the schema's names are the header (row 1), every column becomes exact text.

A decimal column is exact as it stands, written without an exponent (``Decimal("1E-10")`` is
``0.0000000001``); a float becomes its shortest round-trip decimal, also without an exponent
(``0.1 + 0.2`` is ``0.30000000000000004``, which then has too many decimals for any currency:
never a silent rounding). A null is an empty cell, so a row of nulls is a blank row. A number in
a money column is written with the job's decimal mark, so that a decimal-comma job reads it as
the number it is.
"""

from __future__ import annotations

import decimal
from pathlib import Path

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.errors import LedgerFileError
from ledgerrun.ingest.layout import Grid, Layout, amount_columns


def read_parquet(path: Path, layout: Layout | None = None) -> Grid:
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as parquet:  # not read_table: no dataset layer to import
            table = parquet.read()
    except (pa.ArrowException, OSError) as exc:
        raise LedgerFileError(f"{path.name} cannot be read as Parquet: {exc}") from None
    if not table.column_names:
        raise LedgerFileError(f"{path.name} has no columns (no header row)")
    names = [str(n) for n in table.column_names]
    columns = [_as_text(path, name, table.column(i)) for i, name in enumerate(names)]
    if layout is not None and layout.decimal != ".":
        for index in amount_columns(names, layout):
            kind = table.column(index).type
            if pa.types.is_decimal(kind) or pa.types.is_floating(kind):
                columns[index] = pc.replace_substring(columns[index], ".", layout.decimal)
    return Grid(names, 1, pa.table(columns, names=[f"c{i}" for i in range(len(names))]))


def _as_text(path: Path, name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
        kind = column.type
    if pa.types.is_nested(kind):
        raise LedgerFileError(
            f"{path.name}: column '{name}' holds lists or records, not text", column=name
        )
    if pa.types.is_null(kind):
        return pa.chunked_array([pa.array([""] * len(column), pa.string())])
    try:
        text = pc.cast(column, pa.string())
    except pa.ArrowException as exc:
        raise LedgerFileError(
            f"{path.name}: column '{name}' cannot be read as text: {exc}", column=name
        ) from None
    if pa.types.is_decimal(kind) or pa.types.is_floating(kind):
        text = _without_exponents(text)
    return pc.fill_null(text, "")


def _without_exponents(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Numbers Arrow wrote with an exponent (``1E-10``, ``1e+20``, ``1.23E+4``) written out in
    full, exactly; every other value is left as it is."""
    marked = pc.fill_null(pc.match_substring(text, "e", ignore_case=True), False)
    if not pc.any(marked).as_py():
        return text
    flat = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    where = pc.indices_nonzero(marked.combine_chunks())
    written = [_plain(v) for v in pc.take(flat, where).to_pylist()]
    mask = pc.fill_null(marked.combine_chunks(), False)
    return pa.chunked_array([pc.replace_with_mask(flat, mask, pa.array(written, pa.string()))])


def _plain(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        number = decimal.Decimal(value)
    except decimal.InvalidOperation:
        return value
    if not number.is_finite():
        return value
    return format(number, "f")
