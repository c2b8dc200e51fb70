"""A lane's rows are read from the validation's columns where each row's chunk holds it
(ledgerrun.send.items.Column): the values are those of the whole column, in the order asked."""

from __future__ import annotations

import random

import pyarrow as pa

from ledgerrun.send.items import Column


def test_values_come_from_the_chunk_that_holds_each_row() -> None:
    sizes = [5, 0, 7, 1, 30]  # an empty chunk among them, as a CSV reader may leave one
    starts = [sum(sizes[:n]) for n in range(len(sizes))]
    chunks = [[f"row {i}" for i in range(s, s + n)] for s, n in zip(starts, sizes, strict=True)]
    chunked = pa.chunked_array([pa.array(c, pa.string()) for c in chunks])
    whole = chunked.to_pylist()
    column = Column(chunked)
    rng = random.Random(26)
    for _ in range(300):
        indices = [rng.randrange(len(whole)) for _ in range(rng.randrange(0, 15))]
        assert column.at(indices) == [whole[i] for i in indices]
    ascending = sorted(rng.sample(range(len(whole)), 20))  # a lane's rows, in ledger order
    assert column.at(ascending) == [whole[i] for i in ascending]


def test_a_single_array_and_nulls_read_as_they_are() -> None:
    column = Column(pa.array([3, None, 7], pa.int64()))
    assert column.at([2, 1, 0, 2]) == [7, None, 3, 7]
    assert column.at([]) == []
