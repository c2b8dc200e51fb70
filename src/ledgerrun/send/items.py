"""The rows a run sends, one account at a time: each account's :class:`Lane` holds only its rows'
ledger indices, and builds their :class:`~ledgerrun.send.attempts.moves.Item` (the exact request
of a first send) from the validation's Arrow columns when the account's turn comes. Memory grows
with the accounts being sent, not with the rows of the ledger.
"""

from __future__ import annotations

import array
import bisect
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.send.attempts.moves import Item
from ledgerrun.send.keys import metadata
from ledgerrun.send.prepare import Prepared
from ledgerrun.vocab import Direction

CHUNK = 1000  # rows of one account built at once (an account may hold most of a ledger)

Build = Callable[[Sequence[int]], list[Item]]


class Lane(Sequence[Item]):
    """One account's rows to send, in ledger order; their items are built as they are walked."""

    def __init__(self, account: str, indices: Sequence[int], build: Build) -> None:
        self.account = account
        self.indices = indices
        self._build = build

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[Item]:
        for start in range(0, len(self.indices), CHUNK):
            yield from self._build(self.indices[start : start + CHUNK])

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Item]: ...
    def __getitem__(self, index: int | slice) -> Item | Sequence[Item]:
        if isinstance(index, slice):
            return self._build(self.indices[index])
        return self._build([self.indices[index]])[0]


def lanes_of(items: Sequence[Item]) -> list[Lane]:
    """Items already built (a test, a small caller) as lanes, one per account."""
    by_index = {item.index: item for item in items}
    grouped: dict[str, array.array[int]] = {}
    for item in items:
        grouped.setdefault(item.account, array.array("q")).append(item.index)

    def build(indices: Sequence[int]) -> list[Item]:
        return [by_index[i] for i in indices]

    return [Lane(account, indices, build) for account, indices in grouped.items()]


def lanes(prepared: Prepared, todo: Sequence[int]) -> list[Lane]:
    """The rows at ``todo`` (ledger indices, in ledger order), one lane per account."""
    if not todo:
        return []
    accounts = pc.take(prepared.validation.account, pa.array(todo, pa.int64())).to_pylist()
    grouped: dict[str, array.array[int]] = {}
    for index, account in zip(todo, accounts, strict=True):
        grouped.setdefault(account, array.array("q")).append(index)
    build = builder(prepared)
    return [Lane(account, indices, build) for account, indices in grouped.items()]


def builder(prepared: Prepared) -> Build:
    """How the items of some rows are built: each row's exact request for a first send."""
    job = prepared.job
    v = prepared.validation
    platform = prepared.platform
    if platform is None:
        raise AssertionError("items need the platform: prepare online first")
    run_date = job.run_date.isoformat()
    columns = {
        "adjustment_id": Column(v.adjustment_id),
        "account": Column(v.account),
        "currency": Column(v.currency),
        "amount_minor": Column(v.amount_minor),
        "method": Column(v.method),
        "description": Column(v.description),
        "row": Column(v.ledger.rows),
    }
    meta = {key: Column(values) for key, values in v.metadata.items()}

    lock = threading.Lock()  # one lane builds at a time: lanes start in the order they began

    def build(indices: Sequence[int]) -> list[Item]:
        with lock:
            return built(indices)

    def built(indices: Sequence[int]) -> list[Item]:
        cols = {name: column.at(indices) for name, column in columns.items()}
        meta_cols = {key: column.at(indices) for key, column in meta.items()}
        items = []
        for n, index in enumerate(indices):
            direction = prepared.directions[index]
            account = cols["account"][n]
            method = cols["method"][n] if direction == Direction.DEBIT else ""
            amount = int(cols["amount_minor"][n])
            request: dict[str, Any] = {"amount": amount, "currency": cols["currency"][n]}
            if direction == Direction.CREDIT:
                request["destination"] = account
            elif method == "transfer":
                request["destination"] = platform.id
            else:
                request["source"] = account
            request["transfer_group"] = job.stripe.transfer_group
            if cols["description"][n]:
                request["description"] = cols["description"][n]
            request["metadata"] = metadata(
                job=job.name,
                adjustment_id=cols["adjustment_id"][n],
                account=account,
                run_date=run_date,
                id_prefix=job.id_prefix,
                consent=prepared.consent.get(index),
                extra={key: values[n] for key, values in meta_cols.items()},
            )
            items.append(
                Item(
                    index=index,
                    row=cols["row"][n],
                    key=prepared.keys[index],
                    adjustment_id=cols["adjustment_id"][n],
                    account=account,
                    currency=cols["currency"][n],
                    amount=amount,
                    direction=direction,
                    method=method,
                    request=request,
                )
            )
        return items

    return build


class Column:
    """One of the validation's columns, read at a few rows at a time from the chunks that hold
    them. A ``take`` on the whole chunked column first joins its chunks into one new array, on
    every call: at 200,000 rows that was a copy of seven columns for each account's turn (50 MB
    allocated and freed over and over, 2 ms a column, under the builder's lock)."""

    def __init__(self, column: pa.Array | pa.ChunkedArray) -> None:
        self.chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        self.starts = list(itertools.accumulate((len(c) for c in self.chunks), initial=0))

    def at(self, indices: Sequence[int]) -> list[Any]:
        """The values at ``indices`` (ledger indices, in any order), as Python values."""
        out: list[Any] = []
        n = 0
        while n < len(indices):
            chunk = bisect.bisect_right(self.starts, indices[n]) - 1
            low, high = self.starts[chunk], self.starts[chunk + 1]
            end = n + 1
            while end < len(indices) and low <= indices[end] < high:
                end += 1
            local = pa.array([i - low for i in indices[n:end]], pa.int64())
            out.extend(pc.take(self.chunks[chunk], local).to_pylist())
            n = end
        return out
