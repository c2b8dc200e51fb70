"""pandas at the edges of the Python API: a DataFrame in (written to a Parquet file that the
ledger reader then reads like any other), DataFrames out (the library's tables, typed).

A DataFrame ledger goes through the very same reader and checks as a ledger file: it is written
to a temporary Parquet file, column by column, so that nothing is lost or rounded on the way.

- Text, integers, booleans, dates and pandas' own types are written as they are; the reader turns
  them into text as it does any Parquet file.
- A float column is written as floats, and the reader takes each float at its shortest
  round-trip decimal, as it does for a Parquet file: ``15.5`` is ``15.5``, but ``0.1 + 0.2`` is
  ``0.30000000000000004``, reported as too many decimals, never rounded.
- A column of Python objects (``decimal.Decimal``, mixed values) is written as text, one value
  at a time: a ``Decimal`` exactly as written (``Decimal("12.50")`` is ``12.50``), an int as its
  digits, a float as above, a missing value as an empty cell.
- A named index (``df.set_index("adjustment_id")``) is written as a column; an unnamed one is
  not. Row numbers are a spreadsheet's: the header is row 1, the DataFrame's first row is row 2.

Going out, integer columns become pandas' nullable ``Int64`` (an amount is never a float, even
when some rows have none), booleans nullable ``boolean``, and text stays text.
"""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledgerrun.errors import LedgerFileError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

FIRST_ROW = 2  # the row number of a DataFrame's first row: its header is row 1


@dataclass(frozen=True)
class RowLabels:
    """The index labels of a DataFrame that was written as a ledger (or reversal request), to
    give each row number back its label."""

    labels: tuple[Hashable, ...]
    name: Hashable | None

    def of(self, row: int) -> Hashable | None:
        """The label of spreadsheet row ``row``; None for the header row or beyond the end."""
        position = row - FIRST_ROW
        return self.labels[position] if 0 <= position < len(self.labels) else None


def is_frame(value: object) -> bool:
    """Whether ``value`` is a pandas DataFrame (without importing pandas when it is not loaded:
    then nothing can be a DataFrame)."""
    import sys

    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def write_frame(frame: pd.DataFrame, path: Path, what: str) -> RowLabels:
    """Write ``frame`` to the Parquet file ``path`` as described above; LedgerFileError when a
    column cannot be written (the message names it)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(frame.columns, pd.MultiIndex):
        raise LedgerFileError(
            f"the {what} DataFrame has several header levels; flatten its columns to one row of "
            "names (for example with df.columns = [' '.join(c) for c in df.columns])"
        )
    labels = RowLabels(tuple(frame.index), frame.index.name)
    named = [n for n in frame.index.names if n is not None]
    if named:
        frame = frame.reset_index(level=named)
    names = [str(name) for name in frame.columns]
    arrays = [_column(frame.iloc[:, i], names[i], what) for i in range(len(names))]
    table = pa.Table.from_arrays(arrays, names=names)
    try:
        pq.write_table(table, path)
    except (pa.ArrowException, OSError) as exc:
        raise LedgerFileError(f"the {what} DataFrame cannot be written as a file: {exc}") from None
    return labels


def _column(series: pd.Series, name: str, what: str) -> pa.Array:
    import pyarrow as pa

    if series.dtype == object:
        return pa.array([_text(value) for value in series], pa.string())
    try:
        return pa.Array.from_pandas(series)
    except pa.ArrowException as exc:
        raise LedgerFileError(
            f"column '{name}' of the {what} DataFrame cannot be read ({exc}); make it text, for "
            f"example with df['{name}'] = df['{name}'].astype(str)",
            column=name,
        ) from None


def _text(value: Any) -> str | None:
    """One value of an object column as the text a spreadsheet cell would hold."""
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, decimal.Decimal):
        return format(value, "f") if value.is_finite() else (None if value.is_nan() else str(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return None
        if math.isinf(number):
            return repr(number)
        return format(decimal.Decimal(repr(number)), "f")  # shortest round trip, no exponent
    return str(value)


# --- out -----------------------------------------------------------------------------------------


def to_frame(table: pa.Table, index: pd.Index | None = None) -> pd.DataFrame:
    """A pyarrow table as a DataFrame: integers as nullable ``Int64`` (never floats), booleans
    as nullable ``boolean``, text as text."""
    import pandas as pd
    import pyarrow as pa

    integers = {pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16()}

    def nullable(kind: pa.DataType) -> object:
        if kind in integers:
            return pd.Int64Dtype()
        return pd.BooleanDtype() if kind == pa.bool_() else None

    frame = table.to_pandas(types_mapper=nullable)
    if index is not None:
        frame.index = index
    return frame


def frame_of(
    columns: Mapping[str, Sequence[Any]],
    kinds: Mapping[str, pa.DataType],
    index: pd.Index | None = None,
) -> pd.DataFrame:
    """A DataFrame from columns of Python values, each of the given Arrow type (text unless
    said otherwise), so that an empty table has the same column types as a full one."""
    import pyarrow as pa

    arrays = [pa.array(list(v), kinds.get(name, pa.string())) for name, v in columns.items()]
    return to_frame(pa.Table.from_arrays(arrays, names=list(columns)), index)


def labelled_index(rows: Sequence[int], labels: RowLabels | None) -> pd.Index | None:
    """The DataFrame index giving each row (by its row number) its input DataFrame's label."""
    if labels is None:
        return None
    import pandas as pd

    return pd.Index([labels.of(row) for row in rows], name=labels.name)
