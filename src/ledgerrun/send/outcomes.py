"""Every row's outcome, kept compact: a run of 200,000 rows keeps them in Arrow columns (about
150 bytes a row), never as an object per row with its strings.

* :class:`OutcomeLog`: the outcomes of the rows sent, as their attempts end, in any order and
  from any thread; gathered into record batches of :data:`BATCH` rows as they come.
* :class:`Outcomes`: every row's outcome in ledger order, one column per field of
  :class:`~ledgerrun.vocab.RowOutcome`: what the results table, the exit code and the summary
  read. It is also a sequence of ``RowOutcome`` (each built when asked for), for the Python API.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, overload

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.vocab import RowOutcome

FIELDS: tuple[str, ...] = (
    *("status", "transfer_id", "payment_id", "idempotency_key", "request_id"),
    *("error_code", "error_message", "attempts", "completed_at", "earlier"),
)
SCHEMA = pa.schema(
    [("index", pa.int64())]
    + [(name, pa.string()) for name in FIELDS[:7]]
    + [
        ("attempts", pa.int64()),
        ("completed_at", pa.timestamp("us", tz="UTC")),
        ("earlier", pa.bool_()),
    ]
)
BATCH = 4096  # outcomes gathered before they become one record batch


def record_batch(pairs: Sequence[tuple[int, RowOutcome]]) -> pa.RecordBatch:
    """``(ledger index, outcome)`` pairs as one record batch of :data:`SCHEMA`."""
    arrays = [pa.array([index for index, _ in pairs], pa.int64())]
    for field in SCHEMA:
        if field.name != "index":
            values = [getattr(outcome, field.name) for _, outcome in pairs]
            arrays.append(pa.array(values, field.type, size=len(pairs)))
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


class OutcomeLog(Mapping[int, RowOutcome]):
    """The outcomes of sent rows by ledger index, gathered as attempts end (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[int, RowOutcome]] = []
        self._batches: list[pa.RecordBatch] = []
        self._positions: dict[int, int] | None = None  # built only when looked up by index
        self._closed = False

    def add(self, index: int, outcome: RowOutcome) -> None:
        """Keep a row's outcome; once the log is closed, nothing more is kept."""
        with self._lock:
            if self._closed:
                return  # the command's results were taken already: the journal has the rest
            self._pending.append((index, outcome))
            self._positions = None
            if len(self._pending) >= BATCH:
                self._flush()

    def table(self) -> pa.Table:
        """Every outcome so far: an ``index`` column and one per field, in arrival order."""
        with self._lock:
            self._flush()
            return pa.Table.from_batches(self._batches, schema=SCHEMA)

    def taken(self) -> pa.Table:
        """Every outcome, as :meth:`table`, and none left here (nothing more is kept): the
        caller holds the only copy, and lets go of it as it pleases."""
        with self._lock:
            self._flush()
            batches, self._batches = self._batches, []
            self._positions = None
            self._closed = True
        return pa.Table.from_batches(batches, schema=SCHEMA)

    def held(self, indices: pa.Array) -> pa.Array:
        """Per index of ``indices``: whether its outcome is here."""
        return pc.is_in(indices, value_set=self.table().column("index").combine_chunks())

    def close(self, standing: Mapping[int, RowOutcome]) -> None:
        """Take ``standing`` for each of its rows that still has no outcome, in one instant, and
        keep nothing more: an attempt that ends later is the journal's to tell."""
        with self._lock:
            self._flush()
            have = pa.Table.from_batches(self._batches, schema=SCHEMA).column("index")
            asked = pa.array(list(standing), pa.int64())
            ended = pc.is_in(asked, value_set=have.combine_chunks()).to_pylist()
            left = [i for i, e in zip(standing, ended, strict=True) if not e]
            self._pending = [(i, standing[i]) for i in left]
            self._flush()
            self._positions = None
            self._closed = True

    def _flush(self) -> None:
        if self._pending:
            self._batches.append(record_batch(self._pending))
            self._pending = []

    # --- a mapping, for callers that look outcomes up one by one (small runs, tests) -----------

    def _index(self) -> tuple[pa.Table, dict[int, int]]:
        table = self.table()
        if self._positions is None or len(self._positions) != table.num_rows:
            indices = table.column("index").to_pylist()
            self._positions = {index: position for position, index in enumerate(indices)}
        return table, self._positions

    def __getitem__(self, index: int) -> RowOutcome:
        table, positions = self._index()
        return _row(table.slice(positions[index], 1).to_pylist()[0])

    def __iter__(self) -> Iterator[int]:
        return iter(self._index()[1])

    def __len__(self) -> int:
        with self._lock:
            return int(sum(b.num_rows for b in self._batches)) + len(self._pending)


class Outcomes(Sequence[RowOutcome]):
    """Every row's outcome in ledger order (see the module docstring). Once the run's rows are
    made from them, :meth:`set_aside` moves them to a temporary file until they are asked for."""

    def __init__(self, table: pa.Table) -> None:
        self._table: pa.Table | None = table.select(list(FIELDS))
        self._rows = int(table.num_rows)
        self._aside: BinaryIO | None = None

    @property
    def table(self) -> pa.Table:
        """The outcomes' columns, read back from the temporary file if they were set aside."""
        if self._table is None:
            assert self._aside is not None
            self._aside.seek(0)
            with pa.ipc.open_stream(self._aside) as reader:
                self._table = reader.read_all()
        return self._table

    def set_aside(self) -> None:
        """Keep the columns in a temporary file (gone once this is), out of memory until
        :attr:`table` is read again: at 200,000 rows they are 30 MB that the run's peak, which
        comes later, no longer holds (docs/benchmarks.md, "Memory"). In memory where no
        temporary file can be written."""
        import contextlib
        import tempfile

        if self._table is None:
            return
        if self._aside is not None:  # read back since: the file holds them still
            self._table = None
            return
        try:
            with contextlib.ExitStack() as opened:
                aside = opened.enter_context(tempfile.TemporaryFile(prefix="ledgerrun-"))
                with pa.ipc.new_stream(aside, self._table.schema) as writer:
                    writer.write_table(self._table)
                aside.flush()
                opened.pop_all()  # open while this object lives, and deleted with it
        except OSError:  # no room for a temporary file: they stay in memory
            return
        self._aside, self._table = aside, None

    @classmethod
    def of(cls, outcomes: Iterable[RowOutcome]) -> Outcomes:
        """Outcomes given one by one, in ledger order."""
        if isinstance(outcomes, Outcomes):
            return outcomes
        pairs = list(enumerate(outcomes))
        batches = [record_batch(pairs[n : n + BATCH]) for n in range(0, len(pairs), BATCH)]
        return cls(pa.Table.from_batches(batches, schema=SCHEMA))

    @classmethod
    def merged(cls, rows: int, decided: Sequence[RowOutcome | None], sent: OutcomeLog) -> Outcomes:
        """The outcomes of ``rows`` ledger rows: those decided before sending (None: sent) and
        those of the rows sent, taken from their log. Every row must have exactly one. They are
        put in ledger order a column at a time, each let go of (and given back) once copied:
        the whole table copied at once held it twice, 40 MB more at 200,000 rows at the end of
        sending (the log's small batches freed are no room for a whole column's copy)."""
        from ledgerrun.ingest.read import give_back

        known = [(i, o) for i, o in enumerate(decided) if o is not None]
        batches = [record_batch(known[n : n + BATCH]) for n in range(0, len(known), BATCH)]
        every = pa.concat_tables([pa.Table.from_batches(batches, schema=SCHEMA), sent.taken()])
        del batches
        order = pc.sort_indices(every.column("index"))
        columns = dict(zip(every.column_names, every.columns, strict=True))
        del every
        ordered = {}
        for name in SCHEMA.names:
            ordered[name] = pc.take(columns.pop(name), order)
            give_back()
        every = pa.table(ordered, schema=SCHEMA)
        expected = pa.array(range(rows), pa.int64())
        if every.num_rows != rows or not every.column("index").combine_chunks().equals(expected):
            seen = set(every.column("index").to_pylist())
            missing = [i for i in range(rows) if i not in seen]
            raise AssertionError(f"rows without exactly one outcome: {missing[:5]}")  # a bug
        return cls(every)

    def column(self, name: str) -> pa.ChunkedArray:
        return self.table.column(name)

    def __len__(self) -> int:
        return self._rows

    @overload
    def __getitem__(self, index: int) -> RowOutcome: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[RowOutcome]: ...
    def __getitem__(self, index: int | slice) -> RowOutcome | Sequence[RowOutcome]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return _row(self.table.slice(index, 1).to_pylist()[0])

    def __iter__(self) -> Iterator[RowOutcome]:
        for batch in self.table.to_batches(max_chunksize=BATCH):
            yield from (_row(values) for values in batch.to_pylist())


def zipped(*columns: pa.Array | pa.ChunkedArray) -> Iterator[tuple[Any, ...]]:
    """The rows of equally long columns as tuples, a few thousand at a time converted to Python
    (a whole column at once would be a Python object per row of the ledger)."""
    table = pa.table({str(n): column for n, column in enumerate(columns)})
    for batch in table.to_batches(max_chunksize=BATCH * 4):
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def _row(values: dict[str, object]) -> RowOutcome:
    return RowOutcome(**{name: values[name] for name in FIELDS})  # type: ignore[arg-type]
