"""What every SQL store shares: one transaction at a time through ``_tx``, and the SQL that
SQLite and PostgreSQL both speak (``?`` placeholders; a store whose driver wants ``%s`` converts
them in its connection adapter).

A concrete store provides ``_tx`` (a context manager yielding a :class:`Conn` inside one
transaction), ``_commit`` (a :class:`~ledgerrun.store.commit.Write` committed, maybe with other
threads' writes, in one transaction) and ``location``; the table mixins
(:mod:`journal_sql`, :mod:`reversal_sql`, :mod:`web_sql`) do the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from ledgerrun.store.commit import Write


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Sequence[Any] | None: ...
    def fetchall(self) -> list[Sequence[Any]]: ...
    def __iter__(self) -> Iterator[Sequence[Any]]: ...


class Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Cursor: ...
    def executemany(self, sql: str, params: Any) -> Cursor: ...


class SQLBase:
    """The three things table mixins need from a store."""

    location: str

    def _tx(
        self, doing: str, write: bool = False, durable: bool = True
    ) -> contextlib.AbstractContextManager[Conn]:
        raise NotImplementedError  # pragma: no cover

    def _commit(self, write: Write, wait: bool = True) -> None:
        raise NotImplementedError  # pragma: no cover
