"""ledgerrun.compute calls Arrow's compute functions as pyarrow.compute does, without its import
cost: every function ledgerrun names is found, and each answers as pyarrow's own wrapper does,
with options given positionally, by keyword or ready-made."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as arrow
import pytest

from ledgerrun import compute as pc

SRC = Path(__file__).resolve().parent.parent / "src" / "ledgerrun"


def _names_used() -> set[str]:
    """Every ``pc.<name>`` in a module of src/ that imports ledgerrun.compute as pc."""
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "import compute as pc" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "pc"
            ):
                names.add(node.attr)
    return names


def test_every_function_ledgerrun_names_is_found() -> None:
    names = _names_used()
    assert len(names) > 50  # the scan found the modules
    missing = [n for n in sorted(names) if not callable(getattr(pc, n, None))]
    assert missing == []
    assert not [n for n in names if not hasattr(arrow, n)], "a name pyarrow does not have"


TEXT = pa.chunked_array([["Debit", "credit", None], ["DEBIT-2"]])
NUMBERS = pa.array([3, None, -7, 12], pa.int64())
FLAGS = pa.array([True, None, False, True])

CASES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("equal", (TEXT, "credit"), {}),
    ("and_", (FLAGS, pa.array([True, True, None, False])), {}),
    ("or_", (FLAGS, pa.array([False, True, None, False])), {}),
    ("invert", (FLAGS,), {}),
    ("is_in", (TEXT,), {"value_set": pa.array(["credit", "DEBIT-2"])}),
    ("index_in", (TEXT,), {"value_set": pa.array(["DEBIT-2", "Debit"])}),
    ("match_substring", (TEXT, "deb"), {"ignore_case": True}),
    ("match_substring", (TEXT,), {"pattern": "eb"}),
    ("match_substring_regex", (TEXT, "^[A-Z]+"), {}),
    ("utf8_replace_slice", (TEXT,), {"start": 1, "stop": 3, "replacement": "__"}),
    ("binary_join_element_wise", (TEXT, TEXT, "/"), {}),
    ("binary_join_element_wise", (TEXT, TEXT, "/"), {"null_handling": "replace"}),
    ("if_else", (FLAGS, NUMBERS, 0), {}),
    ("sum", (NUMBERS,), {}),
    ("sum", (pa.array([], pa.int64()),), {"min_count": 0}),
    ("all", (FLAGS,), {"min_count": 0}),
    ("any", (FLAGS,), {}),
    ("unique", (TEXT,), {}),
    ("value_counts", (TEXT,), {}),
    ("sort_indices", (NUMBERS,), {}),
    ("indices_nonzero", (pa.array([0, 2, 0, 1]),), {}),
    ("filter", (NUMBERS, FLAGS), {}),
    ("filter", (pa.table({"n": NUMBERS}), FLAGS), {}),
    ("coalesce", (NUMBERS, 5), {}),
    ("ascii_lower", (TEXT,), {}),
    ("make_struct", (NUMBERS, FLAGS), {"field_names": ["n", "f"]}),
    ("cumulative_sum", (pa.array([1, 2, 3]),), {}),
    ("take", (TEXT, pa.array([3, 0])), {}),
    ("take", (pa.table({"n": NUMBERS}), pa.array([1, 0])), {}),
    ("fill_null", (NUMBERS, 0), {}),
    ("fill_null", (TEXT, ""), {}),
    ("fill_null", (FLAGS, pa.scalar(False)), {}),
    ("cast", (NUMBERS, pa.string()), {}),
    ("cast", (pa.array([1.5, 2.0]), pa.int64()), {"safe": False}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_each_answers_as_pyarrow_does(name: str, args: tuple[Any, ...], kwargs: Any) -> None:
    ours = getattr(pc, name)(*args, **kwargs)
    theirs = getattr(arrow, name)(*args, **kwargs)
    assert ours.equals(theirs)


def test_ready_made_options_and_refusals() -> None:
    options = arrow.SetLookupOptions(value_set=pa.array(["credit"]))
    assert pc.is_in(TEXT, options=options).equals(arrow.is_in(TEXT, options=options))
    with pytest.raises(pa.ArrowInvalid):  # a safe cast refuses to lose the fraction
        pc.cast(pa.array([1.5]), pa.int64())
    with pytest.raises(TypeError, match="invert"):  # invert takes no options
        pc.invert(FLAGS, True)
    with pytest.raises(TypeError, match="is_in"):  # options twice
        pc.is_in(TEXT, value_set=pa.array(["a"]), options=options)
    with pytest.raises(AttributeError, match="no_such_function"):
        pc.no_such_function(TEXT)
    assert pc.and_.__name__ == "and_"
    assert pc.equal is pc.equal  # made once, then kept
