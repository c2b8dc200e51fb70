"""A Stripe secret key in a ledger cell: refused, and never written anywhere.

A ledger is copied into results files, journals, logs, reports and Stripe's own descriptions and
metadata. A key pasted into one of its cells (a slip of the clipboard, a note "key: sk_live_...")
would travel with it. So before any other check, every cell of every column (metadata,
description and the columns only carried to the results included) is searched for:

* anything shaped like a Stripe secret or restricted key: one of the prefixes of
  :data:`ledgerrun.stripe.facts.SECRET_PREFIXES` starting a word, followed by at least
  :data:`MIN_KEY_CHARACTERS` key characters, alone or inside a longer text;
* the exact text of the key in use, when the command has one (the environment variable the job
  names holds a well-formed key).

Each such cell is a ``secret_in_ledger`` problem on its row, and every occurrence is replaced in
the ledger as read by what :func:`ledgerrun.stripe.facts.redact` shows of it (at most its last four
characters) before anything else sees it: the problem's value and message, the results, the
journal, logs and Stripe never receive the key.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from typing import NamedTuple

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.ingest.masks import marked
from ledgerrun.ingest.read import Ledger
from ledgerrun.ingest.validation import Collector
from ledgerrun.job import Job
from ledgerrun.stripe import facts
from ledgerrun.vocab import Problem, shown

MIN_KEY_CHARACTERS = 8  # Stripe's keys have dozens; fewer is a word such as "sk_live_key"
_PREFIXES = "|".join(re.escape(p) for p in facts.SECRET_PREFIXES)
_BODY = f"[{facts.KEY_CHARACTERS}]{{{MIN_KEY_CHARACTERS},}}"
_SHAPE = re.compile(f"(?<![A-Za-z0-9])(?:{_PREFIXES}){_BODY}")
_SHAPE_RE2 = f"(?:^|[^A-Za-z0-9])(?:{_PREFIXES}){_BODY}"  # Arrow's RE2 has no look-behind
# Every key, the one in use included, holds one of these (a prefix less its first letter).
_PREFIX_BYTES = re.compile(b"|".join(re.escape(p[1:].encode()) for p in facts.SECRET_PREFIXES))


def key_in_use(job: Job, env: Mapping[str, str] | None = None) -> str | None:
    """The key the job's environment variable holds, when it is a well-formed one."""
    key = (os.environ if env is None else env).get(job.stripe.api_key_env, "").strip()
    return key if key and facts.key_problem(key) is None else None


def redacted(text: str, key: str | None = None) -> str:
    """``text`` with the key in use and every key-shaped text cut to what may be shown."""
    if key:
        text = text.replace(key, facts.redact(key))
    return _SHAPE.sub(lambda m: facts.redact(m.group(0)), text)


class Found(NamedTuple):
    place: int  # the row's place in the ledger; -1 for the totals line
    name: str  # the column, as the ledger names it (canonical or as written)
    value: str  # the cell, redacted
    live: bool  # a live key (or the key in use is live)


def scan(ledger: Ledger, key: str | None) -> tuple[Ledger, list[Found]]:
    """The ledger with every secret redacted, and the cells that held one."""
    found: list[Found] = []
    table = _redact_table(ledger.table, key, found)
    extras = _redact_table(ledger.extras, key, found)
    totals = ledger.totals
    if totals is not None and any(_holds(v, key) for v in totals.cells.values()):
        for name, text in totals.cells.items():
            if _holds(text, key):
                live = any(p in text for p in facts.LIVE_PREFIXES)
                found.append(Found(-1, name, redacted(text, key), live))
        cells = {k: redacted(v, key) for k, v in totals.cells.items()}
        totals = totals._replace(cells=cells)
    problems = [_redact_problem(p, key) for p in ledger.read_problems]
    if not found and totals is ledger.totals and problems == ledger.read_problems:
        return ledger, []
    # a composite id's parts are copies of cells already counted above: redacted, not recounted
    parts = None if ledger.parts is None else _redact_table(ledger.parts, key, [])
    clean = dataclasses.replace(
        ledger, table=table, extras=extras, totals=totals, read_problems=problems, parts=parts
    )
    return clean, sorted(found, key=lambda f: f.place % (ledger.num_rows + 1))


def flag(out: Collector, found: list[Found]) -> list[Problem]:
    """One ``secret_in_ledger`` problem per cell that held a key (its value redacted), each row
    made invalid; returns the problems."""
    if not found:
        return []
    ledger = out.ledger
    rows = ledger.rows
    added = []
    for cell in found:
        kind = "a live Stripe key" if cell.live else "a Stripe secret key"
        totals = ledger.totals
        at = totals.row if cell.place < 0 and totals is not None else rows[cell.place].as_py()
        added.append(
            Problem.make(
                at,
                ledger.headers.get(cell.name, cell.name),
                "secret_in_ledger",
                cell.value,
                f"The cell holds what looks like {kind} ({shown(cell.value, 40)}): the row is "
                "not sent, and the key is written nowhere (a ledger is copied into results, "
                "logs and Stripe).",
            )
        )
    rows = (cell.place for cell in found if cell.place >= 0)
    out.invalidate(marked(ledger.num_rows, rows))
    out.problems.extend(added)
    return added


def _holds(text: str | None, key: str | None) -> bool:
    if not text:
        return False
    return bool(key and key in text) or _SHAPE.search(text) is not None


def _redact_problem(problem: Problem, key: str | None) -> Problem:
    value, message = redacted(problem.value, key), redacted(problem.message, key)
    if (value, message) == (problem.value, problem.message):
        return problem
    return problem._replace(value=value, message=message)


def _redact_table(table: pa.Table, key: str | None, found: list[Found]) -> pa.Table:
    for position, name in enumerate(table.column_names):
        column = table.column(position)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue  # a number, a date, a decimal: no key fits in it
        mask = _mask(column, key)
        if mask is None:
            continue
        indices = pc.indices_nonzero(mask)
        before = pc.take(column, indices).to_pylist()
        after = [redacted(str(text), key) for text in before]
        for index, old, new in zip(indices.to_pylist(), before, after, strict=True):
            live = any(p in str(old) for p in facts.LIVE_PREFIXES)
            found.append(Found(index, name, new, live))
        flat = column.combine_chunks()
        replaced = pc.replace_with_mask(flat, mask, pa.array(after, flat.type))
        table = table.set_column(position, table.field(position), replaced)
    return table


def _may_hold(column: pa.ChunkedArray) -> bool:
    """False when no cell of the column can hold a key: its bytes, searched in place (a tenth of
    the time of an Arrow kernel over every cell), hold no key prefix."""
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        if data is not None and _PREFIX_BYTES.search(memoryview(data)) is not None:
            return True  # perhaps (the buffer may reach beyond the chunk): look cell by cell
    return False


def _mask(column: pa.ChunkedArray, key: str | None) -> pa.Array | None:
    """True on the cells holding a key, or None when none does (the usual case, found fast)."""
    if not _may_hold(column):
        return None
    mask = pc.fill_null(pc.match_substring_regex(column, _SHAPE_RE2), False)
    if key:
        mask = pc.or_(mask, pc.fill_null(pc.match_substring(column, key), False))
    if not pc.any(mask).as_py():
        return None
    return mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask
