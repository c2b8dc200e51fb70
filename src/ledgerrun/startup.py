"""What the ``ledgerrun`` executable does before reading a ledger, to start fast.

pyarrow, the first time it turns a Python value into an Arrow one, asks whether pandas is
installed (to check the value is not a pandas object) by importing it. ledgerrun never hands
pyarrow a pandas object, so every command that reads a ledger lets that one probe find no pandas:
``validate --offline`` of the 240-row demo ledger takes 0.39 s instead of 0.68 s, and ``plan``
0.41 s instead of 0.73 s (``benchmarks/startup.py``; docs/benchmarks.md, "Start-up"). Nothing
is lost: whenever pandas is really needed later (``Table.to_pandas``, ``Table.from_pandas``),
pyarrow imports it again and uses it as usual; a test holds pyarrow to that.

It also gives pyarrow the allocator that keeps a command's memory bounded
(:func:`lean_allocator`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys


class _NoPandasForTheProbe(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("not imported for pyarrow's probe", name=name)
        return None


def skip_pandas_probe() -> None:
    """Answer pyarrow's one-time "is pandas here?" probe with no, without importing pandas."""
    if "pandas" in sys.modules:
        return
    finder = _NoPandasForTheProbe()
    sys.meta_path.insert(0, finder)
    try:
        import pyarrow as pa

        pa.scalar(0)  # the first conversion runs the probe
    finally:
        sys.meta_path.remove(finder)


def lean_allocator() -> None:
    """Let pyarrow allocate with jemalloc where it has it, unless the user chose an allocator
    (``ARROW_DEFAULT_MEMORY_POOL``). pyarrow's default, mimalloc, keeps the pages each thread
    freed for that thread: a run's sending threads, each building its accounts' requests from
    Arrow columns, kept 25 MB more per 20,000 rows, and validation of a million rows 80 MB more
    (docs/benchmarks.md, "Memory"). Only the ``ledgerrun`` executable's own process is changed,
    never a program that imports ledgerrun."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without it (Windows): its default stays
        return
