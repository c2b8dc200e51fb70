"""Fuzz the ingest stage for as long as you like: random and mutated ledgers through
validate --offline and plan --offline (the library path), until one escapes with an exception.

    .venv/bin/python tools/fuzz_ingest.py --seconds 600 [--seed 7] [--keep out/fuzz]

Each case is a CSV file (random bytes, a sample ledger mutated byte by byte, or a ledger put
together from troublesome cells) or a sample workbook with its bytes or its XML mutated. Each is
validated with ``ledgerrun.ingest.validate.check`` and planned with
``ledgerrun.send.plan.build_plan``; nothing may escape but problems. A failing case is written to
``--keep`` and the program exits 1, printing how to replay it. ``make test`` runs the same idea
for a few seconds (tests/ingest/test_fuzz.py); this is the long run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
RUN_DATE = dt.date(2026, 11, 26)

TOKENS = [
    b",",
    b'"',
    b'""',
    b"\n",
    b"\r\n",
    b"\r",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    "\u200b".encode(),
    "\u00a0".encode(),
    "é".encode(),
    "e\u0301".encode(),
    b"-",
    b".",
    b"0",
    b"9" * 20,
    b"1e3",
    b"#N/A",
    b"acct_",
    b"usd",
    b"KWD",
    b"credit",
    b"debit",
    b"charge",
    b"metadata.",
    b"adjustment_id,account,amount,currency\n",
    b",,,\n",
    b"\n\n",
]

CELLS = [
    "",
    " ",
    "A-1",
    "a-1",
    "0007",
    "7",
    "café",
    "cafe\u0301",
    "A\u200bB",
    "x\ny",
    'say "hi"',
    "acct_1ConnAA000000",
    "acct_1ConnBA000001",
    "acct-1",
    "1,500.00",
    "15.5",
    "1.235",
    "0",
    "-3",
    "1e3",
    "$5",
    "99999999999999999999",
    "100000.01",
    "9,999,999,999,999.99",
    "usd",
    "USD",
    "jpy",
    "kwd",
    "zzz",
    "debit",
    "CREDIT",
    "sideways",
    "transfer",
    "charge",
    "wire",
    "#N/A",
    "=SUM(A1)",
    "\x00",
    "d" * 1200,
]

COLUMNS = [
    "adjustment_id",
    "account",
    "amount",
    "amount_minor",
    "currency",
    "direction",
    "method",
    "description",
    "metadata.invoice",
    "metadata.ledgerrun_x",
    "note",
    "",
]


def seeds() -> list[bytes]:
    """The sample CSV ledgers, the material mutations start from."""
    paths = [
        SAMPLES / "adjustments.csv",
        SAMPLES / "bad_adjustments.csv",
        ROOT / "docs" / "templates" / "ledger-template.csv",
        *sorted((SAMPLES / "broken").glob("*.csv")),
    ]
    found = []
    for path in paths:
        if path.exists():
            data = path.read_bytes()
            found.append(data[:6000])  # the head: enough structure, quick to validate
    return found or [b"adjustment_id,account,amount,currency\nA,acct_1A,1.00,usd\n"]


def mutate(rng: random.Random, data: bytes, steps: int | None = None) -> bytes:
    """``data`` with a few random edits: tokens inserted, bytes flipped, ranges cut or repeated."""
    out = bytearray(data)
    for _ in range(steps if steps is not None else rng.randint(1, 8)):
        at = rng.randint(0, len(out))
        kind = rng.randrange(5)
        if kind == 0:
            out[at:at] = rng.choice(TOKENS)
        elif kind == 1 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif kind == 2:
            del out[at : at + rng.randint(1, 40)]
        elif kind == 3:
            out[at:at] = out[max(0, at - rng.randint(1, 60)) : at] * rng.randint(1, 3)
        else:
            end = out.find(b"\n", at)
            out[at:at] = b"\n" if end < 0 else out[at : end + 1]
    return bytes(out)


def quote(cell: str) -> str:
    if any(ch in cell for ch in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def assembled(rng: random.Random) -> bytes:
    """A ledger put together from troublesome headers and cells, maybe under a title."""
    columns = rng.sample(COLUMNS, rng.randint(1, len(COLUMNS)))
    lines = []
    if rng.random() < 0.2:
        lines.append("Adjustments, November")
    if rng.random() < 0.2:
        lines.append("")
    lines.append(",".join(quote(c) for c in columns))
    for _ in range(rng.randint(0, 12)):
        width = len(columns) + (rng.choice([-1, 1]) if rng.random() < 0.1 else 0)
        lines.append(",".join(quote(rng.choice(CELLS)) for _ in range(max(width, 0))))
    if rng.random() < 0.3:
        lines.append(",".join(["", "", rng.choice(["12.00", "0", "x"]), "usd"]))
    ending = rng.choice(["\n", "\r\n", "\r"])
    return (ending.join(lines) + rng.choice([ending, ""])).encode()


def workbook(rng: random.Random) -> bytes:
    """A sample workbook with its bytes, or the XML inside it, mutated."""
    source = SAMPLES / rng.choice(["adjustments.xlsx", "finance_export.xlsx"])
    data = source.read_bytes()
    if rng.random() < 0.3:
        return mutate(rng, data, rng.randint(1, 4))
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    name = rng.choice([n for n in parts if n.endswith((".xml", ".rels"))])
    parts[name] = mutate(rng, parts[name][:20000], rng.randint(1, 6))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for part, content in parts.items():
            book.writestr(part, content)
    return out.getvalue()


def exercise(path: Path) -> None:
    """validate --offline and plan --offline of one ledger, and what they promise."""
    from ledgerrun.jobfile import job_for_ledger
    from ledgerrun.output import text
    from ledgerrun.send.plan import build_plan
    from ledgerrun.send.prepare import prepare
    from ledgerrun.vocab import FIXES, VALUE_CUT

    prepared = prepare(job_for_ledger(path, RUN_DATE, "fuzz"))
    validation = prepared.validation
    plan = build_plan(prepared)
    text.plan(plan, 5)
    n = validation.rows
    assert len(validation.valid) == n == len(validation.adjustment_key) == len(validation.direction)
    for problem in validation.problems:
        assert problem.code in FIXES and problem.row >= 1
        assert len(problem.value) <= VALUE_CUT and len(problem.message) <= 2000
    valid = validation.valid.to_pylist()
    keys = [k for k, ok in zip(validation.adjustment_key.to_pylist(), valid, strict=True) if ok]
    assert len(keys) == len(set(keys)), "two valid rows are one adjustment"
    amounts = validation.amount_minor.to_pylist()
    assert all(a is not None and a > 0 for a, ok in zip(amounts, valid, strict=True) if ok)
    if validation.ok:
        assert all(valid)


def case(rng: random.Random, pool: list[bytes]) -> tuple[str, bytes]:
    roll = rng.random()
    if roll < 0.1:
        return ".csv", rng.randbytes(rng.randint(0, 400))
    if roll < 0.5:
        return ".csv", mutate(rng, rng.choice(pool))
    if roll < 0.85:
        return ".csv", assembled(rng)
    return ".xlsx", workbook(rng)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=ROOT / "out" / "fuzz")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    pool = seeds()
    deadline = time.monotonic() + args.seconds
    count = 0
    with tempfile.TemporaryDirectory() as folder:
        while time.monotonic() < deadline:
            suffix, data = case(rng, pool)
            path = Path(folder) / f"case{suffix}"
            path.write_bytes(data)
            try:
                exercise(path)
            except Exception:
                args.keep.mkdir(parents=True, exist_ok=True)
                kept = args.keep / f"crash-{seed}-{count}{suffix}"
                kept.write_bytes(data)
                traceback.print_exc()
                print(f"case {count} (seed {seed}) failed; kept as {kept}", file=sys.stderr)
                print(f"replay: .venv/bin/python -m ledgerrun validate --offline {kept}")
                return 1
            count += 1
    print(f"{count:,} cases in {args.seconds:g} s (seed {seed}): no exception escaped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
