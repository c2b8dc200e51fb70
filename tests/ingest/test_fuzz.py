"""Fuzz: whatever the bytes, validate --offline and plan --offline end in problems, never a crash.

Bounded to a few seconds here; ``tools/fuzz_ingest.py --seconds N`` is the long run.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerrun.ingest.validate import check
from ledgerrun.jobfile import job_for_ledger
from tests.helpers.cli import cli
from tests.helpers.constants import RUN_DATE
from tools.fuzz_ingest import CELLS, COLUMNS, TOKENS, exercise, quote, seeds, typed_workbook

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SEEDS = seeds()


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def run(folder: Path, data: bytes, suffix: str = ".csv") -> None:
    path = folder / f"case{suffix}"
    path.write_bytes(data)
    exercise(path)  # raises on any exception, and on a broken promise (see exercise)


edit = st.tuples(st.floats(0, 1), st.integers(0, 4), st.sampled_from(TOKENS), st.integers(0, 255))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    out = bytearray(draw(st.sampled_from(SEEDS)))
    for where, kind, token, byte in draw(st.lists(edit, min_size=1, max_size=8)):
        at = int(where * len(out))
        if kind == 0:
            out[at:at] = token
        elif kind == 1 and out:
            out[min(at, len(out) - 1)] = byte
        elif kind == 2:
            del out[at : at + 1 + byte % 40]
        elif kind == 3:
            out[at:at] = out[max(0, at - 1 - byte % 60) : at] * 2
        else:
            out[at:at] = b"\n"
    return bytes(out)


@st.composite
def assembled(draw: st.DrawFn) -> bytes:
    columns = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=8, unique=True))
    rows = draw(
        st.lists(
            st.lists(st.sampled_from(CELLS), min_size=len(columns), max_size=len(columns)),
            max_size=10,
        )
    )
    title = draw(st.sampled_from([[], ["Adjustments, November"], ["Title", ""]]))
    total = draw(st.sampled_from([[], [",,12.00,usd"], [",,nope,"]]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [*title, ",".join(quote(c) for c in columns)]
    lines += [",".join(quote(c) for c in row) for row in rows] + total
    return (ending.join(lines) + ending).encode()


@given(data=st.binary(max_size=300))
@FUZZ
def test_random_bytes(folder: Path, data: bytes) -> None:
    run(folder, data)


@given(data=mutated())
@FUZZ
def test_mutated_samples(folder: Path, data: bytes) -> None:
    run(folder, data)


@given(data=assembled())
@FUZZ
def test_ledgers_of_troublesome_cells(folder: Path, data: bytes) -> None:
    run(folder, data)


@given(data=st.binary(max_size=200))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_bytes_as_a_workbook(folder: Path, data: bytes) -> None:
    run(folder, b"PK\x03\x04" + data, ".xlsx")


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_workbooks_of_typed_cells_in_every_column(folder: Path, seed: int) -> None:
    """Dates, times, logical values, errors, formulas with and without their values and numbers
    under assorted formats, in every column: nothing escapes, and no money cell becomes an
    amount it does not show (``exercise`` checks each valid row's money cell)."""
    data, money = typed_workbook(random.Random(seed))
    path = folder / "typed.xlsx"
    path.write_bytes(data)
    exercise(path, money)


def test_the_typed_workbooks_hold_what_the_invariant_needs(folder: Path) -> None:
    """The generator makes rows whose money cells are taken, and rows where they are not."""
    taken = refused = 0
    rng = random.Random(7)
    for _ in range(40):
        data, money = typed_workbook(rng)
        path = folder / "typed.xlsx"
        path.write_bytes(data)
        validation = check(job_for_ledger(path, RUN_DATE, "fuzz"))
        exercise(path, money)
        rows = validation.ledger.rows.to_pylist()
        for index, ok in enumerate(validation.valid.to_pylist()):
            cell = money.get((rows[index], "amount")) or money.get((rows[index], "amount_minor"))
            if cell is not None and cell[0] == "n":
                taken += ok
                refused += not ok
    assert taken >= 10 and refused >= 10


def test_the_harness_lets_a_crash_through(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash inside the library path fails the fuzz tests: nothing swallows it."""
    import ledgerrun.send.plan

    def crash(*_: object) -> None:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(ledgerrun.send.plan, "build_plan", crash)
    with pytest.raises(ZeroDivisionError, match="planted"):
        run(folder, SEEDS[0])


# --- the command line ----------------------------------------------------------------------


NASTY: dict[str, bytes] = {
    "ragged_not_utf8.csv": b"adjustment_id,account,amount,currency\nA,acct_1A,1,usd,caf\xe9\n",
    "huge_header.csv": b"adjustment_id," + b"x" * (2 << 20) + b"\nA\n",
    "nul_bytes.csv": b"adjustment_id,account,amount,currency\n\x00,\x00,\x00,\x00\n",
    "blank_lines.csv": b"\n\r\n\n",
    "empty.csv": b"",
    "not_a_workbook.xlsx": b"PK\x03\x04" + b"\x00" * 64,
    "missing_columns.csv": b"a,b\n1,2\n3,4,5\n",
}


@pytest.mark.slow
def test_validate_offline_on_nasty_files_exits_2_without_a_traceback(tmp_path: Path) -> None:
    paths = []
    for name, data in NASTY.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
    (tmp_path / "folder.csv").mkdir()
    for name, ledger in (("gone", "no_such_ledger.csv"), ("folder", "folder.csv")):
        job = tmp_path / f"{name}.toml"
        job.write_text(f'[job]\nname = "{name}"\nledger = "{ledger}"\n')
        paths.append(job)
    for path in paths:
        done = cli("validate", "--offline", path)
        assert done.returncode == 2, (path.name, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout, path.name
        assert "row " in done.stdout, path.name
    gone = cli("validate", "--offline", tmp_path / "gone.toml")
    assert "ledger file not found" in gone.stdout and "Export the ledger again" not in gone.stdout
