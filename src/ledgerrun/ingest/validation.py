"""The result of validating a ledger, and the collector its checks record problems in."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.control_total import ControlTotal
from ledgerrun.errors import ExitCode
from ledgerrun.ingest.read import Ledger
from ledgerrun.vocab import Problem, shown

Word = Callable[[str, int], str]
"""Writes a problem's message from the cell's value (as a report shows it: control characters
escaped, cut to 80 characters) and the row's index in the ledger."""


@dataclass(eq=False)  # Arrow columns have no == that means "equal"
class Validation:
    """The outcome of validating a ledger: its problems and its normalised columns.

    ``valid`` is true for rows with no problem of their own. Problems about the file as a whole
    (missing columns, bad metadata headers, a total over its limit) sit on the header's row
    (``header_row``). ``adjustment_id`` is the id as written (stripped); ``adjustment_key`` its
    canonical form with the job's id prefix, which decides when two rows are one adjustment.
    ``direction`` is ``debit`` or ``credit`` (lower-case); ``method`` is ``transfer`` or
    ``charge`` for a debit and empty for a credit. ``control_total`` is the totals line's check,
    when the ledger ends with one.
    """

    ledger: Ledger
    problems: list[Problem]
    valid: pa.Array
    adjustment_id: pa.Array
    account: pa.Array
    currency: pa.Array
    amount_minor: pa.Array
    method: pa.Array
    description: pa.Array
    adjustment_key: pa.Array
    direction: pa.Array
    metadata: dict[str, pa.Array] = field(default_factory=dict)
    control_total: ControlTotal | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> ExitCode:
        """What ``validate`` exits with: 0 valid, 2 not."""
        return ExitCode.OK if self.ok else ExitCode.INVALID

    @property
    def rows(self) -> int:
        return self.ledger.num_rows

    @property
    def header_row(self) -> int:
        return self.ledger.header_row

    def flagged(
        self, mask: pa.Array, column: str, code: str, values: pa.Array, word: Word
    ) -> Validation:
        """A new validation with a problem on every row of ``mask`` (checks made after
        validation, such as pre-flight) and those rows no longer valid; this one is unchanged."""
        out = Collector(self.ledger)
        out.cells(mask, column, code, values, word)
        if not out.problems:
            return dataclasses.replace(self, problems=list(self.problems))
        return dataclasses.replace(
            self,
            problems=in_order(self.problems + out.problems, self.ledger),
            valid=pc.and_(self.valid, pc.invert(out.invalid)),
        )

    def flag(self, mask: pa.Array, column: str, code: str, values: pa.Array, word: Word) -> int:
        """As :meth:`flagged`, but in place. Returns how many problems were added."""
        new = self.flagged(mask, column, code, values, word)
        added = len(new.problems) - len(self.problems)
        self.problems, self.valid = new.problems, new.valid
        return added


class Collector:
    """Gathers problems; words them only for the rows a mask selects. Checks may run on two
    threads: masks are computed outside the lock, only the recording is inside."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.problems: list[Problem] = []
        self.invalid = pa.repeat(False, ledger.num_rows)
        self._lock = threading.Lock()

    def header(
        self, column: str, code: str, value: str, message: str, fix: str | None = None
    ) -> None:
        """A problem about the file or a whole column: it sits on the header's row."""
        problem = Problem.make(self.ledger.header_row, column, code, value, message, fix=fix)
        with self._lock:
            self.problems.append(problem)

    def at(
        self, row: int, column: str, code: str, value: str, message: str, fix: str | None = None
    ) -> None:
        """A problem on a row that is not one of the ledger's rows (its totals line)."""
        shown_column = self.ledger.headers.get(column, column)
        problem = Problem.make(row, shown_column, code, value, message, fix=fix)
        with self._lock:
            self.problems.append(problem)

    def invalidate(self, mask: pa.Array) -> None:
        """Rows that are not valid although no problem names them (a required column missing)."""
        with self._lock:
            self.invalid = pc.or_(self.invalid, pc.fill_null(mask, False))

    def cells(
        self,
        mask: pa.Array,
        column: str,
        code: str,
        values: pa.Array,
        word: Word,
        fix: str | None = None,
    ) -> None:
        """One problem per row where ``mask`` is true. ``word(value, index)`` writes the message;
        ``fix`` replaces the code's usual advice where it would mislead."""
        mask = pc.fill_null(mask, False)
        if not pc.any(mask).as_py():
            return
        header = self.ledger.headers.get(column, column)
        indices = pc.indices_nonzero(mask)
        texts = pc.take(values, indices).to_pylist()
        rows = pc.take(self.ledger.rows, indices).to_pylist()
        found = []
        for index, row, text in zip(indices.to_pylist(), rows, texts, strict=True):
            value = shown("" if text is None else str(text))
            found.append(Problem.make(row, header, code, value, word(value, index), fix=fix))
        with self._lock:
            self.invalid = pc.or_(self.invalid, mask)
            self.problems.extend(found)


def in_order(problems: list[Problem], ledger: Ledger) -> list[Problem]:
    """By row, then by the column's place in the file, then by code."""
    order = {name: i for i, name in enumerate(ledger.headers.values())}
    return sorted(problems, key=lambda p: (p.row, order.get(p.column, len(order)), p.code))
