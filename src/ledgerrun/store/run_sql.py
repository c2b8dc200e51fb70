"""The runs in SQL: who ran what, when, and how it ended; and every run's own files, kept
compressed so that no later run destroys a run's record and any host sharing the store can
hand them out. A Parquet file (a run's own rows) compresses its own pages, so it is kept as it
is; earlier versions zlib-compressed it too, and those read as before."""

from __future__ import annotations

import datetime as dt
import io
import os
import zlib
from typing import Any, BinaryIO

from ledgerrun.errors import JournalError
from ledgerrun.store import codec, schema
from ledgerrun.store.model import Run
from ledgerrun.store.sql import Conn, SQLBase

_decode_run = codec.decoder(Run, schema.RUN_COLUMNS)


class RunTables(SQLBase):
    def start_run(self, run: Run) -> None:
        with self._tx("record the start of a run", write=True) as conn:
            if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
                raise JournalError(f"the journal already holds a run {run.run_id}")
            columns = schema.RUN_COLUMNS
            conn.execute(
                f"INSERT INTO runs ({codec.cols(columns)}) VALUES ({codec.marks(columns)})",
                codec.encode(run, columns),
            )

    def finish_run(
        self, run_id: str, ended_at: dt.datetime, exit_code: int, counts: dict[str, int]
    ) -> None:
        values = (
            codec.ts(ended_at, "ended_at"),
            int(exit_code),
            codec.to_json(counts, "counts"),
            run_id,
        )
        with self._tx("record the end of a run", write=True) as conn:
            sql = "UPDATE runs SET ended_at = ?, exit_code = ?, counts = ? WHERE run_id = ?"
            if conn.execute(sql, values).rowcount != 1:
                raise JournalError(f"the journal holds no run {run_id} to finish")

    def runs(self, job: str) -> list[Run]:
        """The job's runs, oldest first."""
        sql = (
            f"SELECT {codec.cols(schema.RUN_COLUMNS)} FROM runs WHERE job = ?"
            " ORDER BY started_at, run_id"
        )
        with self._tx("list runs") as conn:
            return [_decode_run(row) for row in conn.execute(sql, (job,))]

    def last_api_version(self) -> str | None:
        """The Stripe API version the store's latest run (of any job) sent its requests with."""
        with self._tx("read the last API version") as conn:
            row = conn.execute(
                "SELECT api_version FROM runs WHERE api_version != '' ORDER BY started_at DESC,"
                " run_id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else str(row[0])

    def save_run_file(self, run_id: str, name: str, data: bytes | BinaryIO) -> None:
        """Keep ``data`` (the file's bytes, or a file open for reading at its start) as the
        run's file ``name``: compressed, unless it is a Parquet file, which compresses its own
        pages (zlib would only copy it; see :func:`unpacked`). A file is read a piece at a time
        where the store can (SQLite): a large night's rows are 12 MB."""
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        stored = _length(source)
        if not _parquet_file(source, stored):
            packed = zlib.compress(source.read(), 6)
            source, stored = io.BytesIO(packed), len(packed)
        with self._tx(f"keep the {name} of run {run_id}", write=True, durable=False) as conn:
            self._put_run_file(conn, run_id, name, source, stored)

    def _put_run_file(
        self, conn: Conn, run_id: str, name: str, source: BinaryIO, stored: int
    ) -> None:
        """Write one run file's row: ``stored`` bytes read from ``source`` (a store may write
        them its own way)."""
        conn.execute(
            codec.upsert("run_files", ("run_id", "name", "data"), ("run_id", "name")),
            (run_id, name, source.read()),
        )

    def run_file(self, run_id: str, name: str) -> bytes | None:
        with self._tx("read a run's file") as conn:
            row = conn.execute(
                "SELECT data FROM run_files WHERE run_id = ? AND name = ?", (run_id, name)
            ).fetchone()
        return None if row is None else unpacked(_blob(row[0]))

    def run_file_names(self, run_id: str) -> list[str]:
        with self._tx("list a run's files") as conn:
            rows = conn.execute(
                "SELECT name FROM run_files WHERE run_id = ? ORDER BY name", (run_id,)
            )
            return [str(row[0]) for row in rows]


_PARQUET = b"PAR1"  # a Parquet file's first and last four bytes


def is_parquet(data: bytes) -> bool:
    """Whether ``data`` is a whole Parquet file, kept as it is."""
    return len(data) >= 8 and data[:4] == data[-4:] == _PARQUET


def _length(source: BinaryIO) -> int:
    """The length of a file open at its start (left there)."""
    end = source.seek(0, os.SEEK_END)
    source.seek(0)
    return end


def _parquet_file(source: BinaryIO, size: int) -> bool:
    """Whether the file (open at its start, and left there) is a whole Parquet file."""
    if size < 8:
        return False
    head = source.read(4)
    source.seek(size - 4)
    tail = source.read(4)
    source.seek(0)
    return is_parquet(head + tail)


def unpacked(blob: bytes) -> bytes:
    """A run file as it was given to :meth:`RunTables.save_run_file`. A zlib stream never
    starts with ``PAR1`` (its first byte names the deflate method: 0x78 from ``zlib.compress``),
    so a Parquet file kept as it is reads as itself, and every file kept compressed, by any
    version, is decompressed."""
    return blob if is_parquet(blob) else zlib.decompress(blob)


def _blob(value: Any) -> bytes:
    return bytes(value) if not isinstance(value, bytes) else value
