"""Arrow's compute functions, called without importing ``pyarrow.compute``.

``import pyarrow.compute`` writes a documented Python wrapper, with its signature, for every one
of Arrow's ~290 registered functions: 60 ms of CPU on this machine, a quarter of an offline
validate's start-up, to call the seventy or so ledgerrun uses (docs/benchmarks.md, "Start-up").
This module calls the same functions through the compiled module those wrappers call,
``pyarrow._compute`` (``pyarrow.compute`` re-exports its ``call_function``), and makes the caller
of a name the first time the name is asked for. So ``from ledgerrun import compute as pc`` and
``pc.equal(column, "debit")`` read exactly as with pyarrow's module, and cost nothing at start.

A caller takes what pyarrow's wrapper takes: the function's inputs first (as many as it has, or
all positional arguments for one of any arity), then its options, positionally or by keyword,
or ready-made as ``options=``. ``and_`` and ``or_`` name Arrow's ``and`` and ``or``, as in
pyarrow. The few functions pyarrow writes by hand are here by hand too: ``cast``, ``take`` and
``fill_null``.

Array, chunked-array and table methods such as ``.filter``, ``.take``, ``.cast``, ``.is_null``
or ``.sort_by`` import ``pyarrow.compute`` on their first call: code on a command's path calls
these functions instead (``tests/test_startup.py`` holds each command to it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow._compute as _arrow

__all__ = ["cast", "fill_null", "take"]


def __getattr__(name: str) -> Callable[..., Any]:
    """The caller of Arrow's function ``name`` (made once, then kept in this module)."""
    if name.startswith("__"):
        raise AttributeError(name)
    caller = _caller(name)
    globals()[name] = caller
    return caller


def _caller(name: str) -> Callable[..., Any]:
    registered = name[:-1] if name.endswith("_") else name  # and_ -> and, as pyarrow names it
    try:
        function = _arrow.get_function(registered)
    except (KeyError, pa.ArrowKeyError):
        raise AttributeError(f"Arrow has no compute function {registered!r}") from None
    arity = function.arity  # ... (Ellipsis) for a function of any number of inputs
    named = function._doc.options_class
    options_class = getattr(_arrow, named) if named else None

    def call(
        *args: Any, options: Any = None, memory_pool: pa.MemoryPool | None = None, **kwargs: Any
    ) -> Any:
        inputs, given = (args, ()) if arity is ... else (args[:arity], args[arity:])
        if given or kwargs:
            if options is not None or options_class is None:
                raise TypeError(f"{name}() takes no options beside {options!r}: {given} {kwargs}")
            options = options_class(*given, **kwargs)
        return _arrow.call_function(registered, list(inputs), options, memory_pool)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"Arrow's compute function {registered!r}."
    return call


def cast(
    values: Any, target_type: Any, safe: bool = True, memory_pool: pa.MemoryPool | None = None
) -> Any:
    """``values`` as ``target_type``; ``safe`` refuses a cast that would lose information."""
    kind = pa.types.lib.ensure_type(target_type)
    options = _arrow.CastOptions.safe(kind) if safe else _arrow.CastOptions.unsafe(kind)
    return _arrow.call_function("cast", [values], options, memory_pool)


def take(
    data: Any, indices: Any, *, boundscheck: bool = True, memory_pool: pa.MemoryPool | None = None
) -> Any:
    """The elements (or rows) of ``data`` at ``indices``, in their order."""
    options = _arrow.TakeOptions(boundscheck=boundscheck)
    return _arrow.call_function("take", [data, indices], options, memory_pool)


def fill_null(values: Any, fill_value: Any) -> Any:
    """``values`` with each null replaced by ``fill_value`` (a value, or one per element),
    taken as ``values``' type."""
    if not isinstance(fill_value, pa.Array | pa.ChunkedArray | pa.Scalar):
        fill_value = pa.scalar(fill_value, type=values.type)
    elif values.type != fill_value.type:
        fill_value = pa.scalar(fill_value.as_py(), type=values.type)
    return _arrow.call_function("coalesce", [values, fill_value])
