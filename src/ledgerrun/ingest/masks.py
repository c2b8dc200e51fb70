"""Whole columns made without numpy: the executable never imports it (:mod:`ledgerrun.startup`),
so ingest builds its row numbers and row masks with pyarrow alone."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from ledgerrun import compute as pc


def numbering(start: int, count: int) -> pa.Array:
    """``start, start + 1, ...``: ``count`` int64 values."""
    return pc.add(pc.cumulative_sum(pa.repeat(1, count)), start - 1)


def marked(count: int, indices: Iterable[int]) -> pa.Array:
    """``count`` booleans, true at each of ``indices`` and false elsewhere."""
    flags = bytearray(count)
    for index in indices:
        flags[index] = 1
    bytes_ = pa.Array.from_buffers(pa.uint8(), count, [None, pa.py_buffer(flags)])
    return pc.not_equal(bytes_, 0)
