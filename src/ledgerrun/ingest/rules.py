"""The checks on a ledger's columns other than its amounts, each vectorised over a whole column.

Each check computes a boolean mask; Python only touches the rows that fail, to word their
messages (with values as :func:`ledgerrun.vocab.shown` writes them: escaped and cut).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.ingest import identity
from ledgerrun.ingest.layout import closest, missing
from ledgerrun.ingest.read import METADATA_PREFIX, Ledger
from ledgerrun.ingest.validation import Collector
from ledgerrun.job import AMOUNT_PAIR, METHODS
from ledgerrun.metadata_keys import LEDGER_MAX, PREFIX, RESERVED
from ledgerrun.stripe import facts
from ledgerrun.vocab import shown

MAX_ID_CHARS = 200
MAX_DESCRIPTION_CHARS = facts.DESCRIPTION_MAX_CHARS
MAX_METADATA_KEY_CHARS = facts.METADATA_KEY_MAX_CHARS
MAX_METADATA_VALUE_CHARS = facts.METADATA_VALUE_MAX_CHARS
OWN_METADATA_KEYS = RESERVED  # ledgerrun's own keys on every debit and credit
MAX_METADATA_KEYS = LEDGER_MAX
RESERVED_METADATA_PREFIX = PREFIX

Column = Callable[[str], pa.ChunkedArray]


def require(ledger: Ledger, out: Collector, have: set[str]) -> bool:
    """missing_column for each required column the header lacks; True when none is missing.

    The message names the row taken as the header and, when the first rows hold a header text
    close to the one wanted (another row, another case, a near spelling), that text and its row:
    the likely cause, rather than a title row above the real header."""
    layout = ledger.layout
    names = set(have) | ({"adjustment_id"} if ledger.parts is not None else set())
    gone = missing(names, layout)
    if layout.pair and "amount" in gone:
        gone = [n for n in gone if n != "amount"] + [p for p in AMOUNT_PAIR if p not in names]
    row = f"row {ledger.header_row}"
    for name in gone:
        wanted, message, fix = _missing(ledger, name, row)
        near = None if wanted is None else closest(wanted, ledger.head)
        if near is not None:
            where = "in the header row" if near[0] == ledger.header_row else f"on row {near[0]}"
            message += f" The closest header in the first rows is '{shown(near[1], 60)}' {where}."
        out.header(name, "missing_column", ledger.unmapped.get(name, ""), message, fix=fix)
    return not gone


def _missing(ledger: Ledger, name: str, row: str) -> tuple[str | None, str, str | None]:
    """(the header text to look for, the message, advice) for a missing required column."""
    layout, taken = ledger.layout, f"{row} (taken as the header)"
    if name == "adjustment_id" and layout.id_parts:
        absent = [p for p in layout.id_parts if not _in_header(ledger, p)]
        first = absent[0] if absent else layout.id_parts[0]
        parts = " + ".join(f"'{p}'" for p in layout.id_parts)
        lacks = ", ".join(f"'{p}'" for p in absent) or "them"
        return first, f"The job builds adjustment_id from {parts}; {taken} lacks {lacks}.", None
    mapped = ledger.unmapped.get(name)
    if mapped is not None:
        return mapped, f"The job maps {name} to the header '{mapped}', which {taken} lacks.", None
    if name == "amount":
        return (
            "amount",
            f"{taken.capitalize()} has neither an 'amount' nor an 'amount_minor' column (nor a "
            "pair of debit and credit columns); one is needed.",
            None,
        )
    if name == "currency":
        return (
            "currency",
            f"{taken.capitalize()} has no 'currency' column. Every row needs a currency: from a "
            "column, or from the job when the whole file is in one.",
            "Add a currency column, map yours in [columns], or name the file's currency in the "
            'job: [ledger] currency = "usd".',
        )
    return name, f"{taken.capitalize()} has no '{name}' column; every ledger needs one.", None


def _in_header(ledger: Ledger, header: str) -> bool:
    names = [name.lower() for where, name in ledger.order if where == "extras"]
    names += [ledger.headers.get(n, n).lower() for where, n in ledger.order if where == "table"]
    return header.lower() in names


def _characters(values: pa.ChunkedArray, limit: int) -> pa.ChunkedArray:
    """Each value's length in characters, to compare with ``limit``. When no value has more
    bytes than ``limit``, none has more characters either (each is at least a byte), and the
    lengths in bytes (known without reading the text) serve as well."""
    octets = pc.binary_length(values)
    if (pc.max(octets).as_py() or 0) <= limit:
        return octets
    return pc.utf8_length(values)


# --- adjustment ids ----------------------------------------------------------------------------


def check_ids(
    ids: pa.ChunkedArray,
    keys: pa.Array,
    invisible: pa.Array,
    ledger: Ledger,
    out: Collector,
    skip: pa.Array | None = None,
) -> None:
    """empty_value, adjustment_id_too_long, bad_adjustment_id (``invisible``, from
    :func:`identity.invisible_array`) and duplicate_adjustment_id (by canonical ``keys``).
    Rows of ``skip`` (a composite id whose parts were already refused) are left out."""
    empty = pc.equal(ids, "")
    if skip is not None:
        empty = pc.and_(empty, pc.invert(skip))
        invisible = pc.or_(invisible, skip)  # left out of the duplicates, as invisible ids are
        flagged = pc.and_(invisible, pc.invert(skip))
    else:
        flagged = invisible
    out.cells(
        empty,
        "adjustment_id",
        "empty_value",
        ids,
        lambda v, i: "The adjustment id is empty; it is what makes each debit happen once.",
    )
    lengths = _characters(ids, MAX_ID_CHARS)
    out.cells(
        pc.greater(lengths, MAX_ID_CHARS),
        "adjustment_id",
        "adjustment_id_too_long",
        ids,
        lambda v, i: (
            f"The id has {lengths[i].as_py():,} characters; at most {MAX_ID_CHARS} are allowed."
        ),
    )

    def hidden(value: str, index: int) -> str:
        found = identity.invisible_characters(ids[index].as_py())
        points = ", ".join(found[:5]) + (" and more" if len(found) > 5 else "")
        return (
            f"The id '{value}' holds invisible or control characters ({points}); two such ids "
            "can look alike and be different. Retype the id."
        )

    out.cells(flagged, "adjustment_id", "bad_adjustment_id", ids, hidden)
    _check_duplicates(ids, keys, pc.invert(pc.or_(empty, invisible)), ledger, out)


def _check_duplicates(
    ids: pa.ChunkedArray, keys: pa.Array, eligible: pa.Array, ledger: Ledger, out: Collector
) -> None:
    """duplicate_adjustment_id on every row whose canonical id another row shares."""
    if pc.all(eligible).as_py() is False:
        keys = pc.if_else(eligible, keys, pa.scalar(None, pa.string()))
    mask = _repeated(keys)
    if mask is None:
        return
    where: dict[str, list[tuple[int, str]]] = defaultdict(list)
    idx = pc.indices_nonzero(mask)
    for key, row, written in zip(
        pc.take(keys, idx).to_pylist(),
        pc.take(ledger.rows, idx).to_pylist(),
        pc.take(ids, idx).to_pylist(),
        strict=True,
    ):
        where[key].append((row, written))
    rows_of = ledger.rows

    def word(value: str, index: int) -> str:
        this, written = rows_of[index].as_py(), ids[index].as_py()
        others = [(r, w) for r, w in where[keys[index].as_py()] if r != this]
        listed = []
        for r, w in others[:5]:
            listed.append(str(r) if w == written else f"{r} (as '{shown(w, 40)}')")
        more = " and more" if len(others) > 5 else ""
        text = f"The id '{value}' is also on row{'s' if len(others) > 1 else ''} "
        text += ", ".join(listed) + more + "."
        if any(w != written for _, w in others):
            text += (
                " Ids that differ only in letter case, in how an accent is encoded or in the "
                "leading zeros of a number name the same adjustment."
            )
        return text

    out.cells(mask, "adjustment_id", "duplicate_adjustment_id", ids, word)


def _repeated(keys: pa.Array) -> pa.Array | None:
    """Mask of the non-null keys that occur more than once, or None when none does.

    Sorting and comparing neighbours is several times faster than hashing a million strings.
    A ledger is usually written in the order of its ids: when every key is greater than the one
    before, none repeats, and one comparison of neighbours (a twentieth of the sort) shows it.
    """
    if len(keys) < 2 or _rising(keys if keys.null_count == 0 else pc.drop_null(keys)):
        return None
    ordered = pc.take(keys, pc.sort_indices(keys))
    same = pc.fill_null(pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1)), False)
    if not pc.any(same).as_py():
        return None
    repeated = pc.unique(pc.filter(ordered.slice(1), same))
    return pc.fill_null(pc.is_in(keys, value_set=repeated), False)


def _rising(keys: pa.Array) -> bool:
    """Whether every key is greater than the one before it (none null)."""
    if len(keys) < 2:
        return True
    return pc.all(pc.less(keys.slice(0, len(keys) - 1), keys.slice(1))).as_py() is True


# --- currency, direction and method ------------------------------------------------------------


def check_currency(currency: pa.ChunkedArray, exps: pa.Array, out: Collector) -> None:
    out.cells(
        pc.equal(currency, ""),
        "currency",
        "empty_value",
        currency,
        lambda v, i: "The currency is empty; every row needs one (usd, eur, ...).",
    )
    out.cells(
        pc.and_(pc.is_null(exps), pc.not_equal(currency, "")),
        "currency",
        "unknown_currency",
        currency,
        lambda v, i: f"'{v}' is not an ISO 4217 currency code.",
    )


# How exports write a direction: the words, the accounting forms, and German's Soll and Haben.
DIRECTION_WORDS = {
    "debit": "debit",
    "credit": "credit",
    "dr": "debit",
    "cr": "credit",
    "d": "debit",
    "c": "credit",
    "soll": "debit",
    "haben": "credit",
    "s": "debit",
    "h": "credit",
}


def check_direction(direction: pa.ChunkedArray, out: Collector, default: str) -> pa.Array:
    """The direction each row states: ``debit``, ``credit``, or empty for a blank cell (the
    job's ``default`` applies later). Any other text is bad_direction and kept, lower-case."""
    lowered = pc.ascii_lower(direction)
    words = pa.array(list(DIRECTION_WORDS), pa.string())
    meant = pa.array(list(DIRECTION_WORDS.values()), pa.string())
    known = pc.take(meant, pc.index_in(lowered, value_set=words))
    out.cells(
        pc.and_(pc.is_null(known), pc.not_equal(lowered, "")),
        "direction",
        "bad_direction",
        direction,
        lambda v, i: (
            f"'{v}' is not a direction: write 'debit' or 'credit' (DR/CR and D/C are read too), "
            f"or leave the cell empty for the job's ({default})."
        ),
    )
    return pc.coalesce(known, lowered)


def check_methods(
    method: pa.ChunkedArray, direction: pa.Array, out: Collector, default: str, present: bool
) -> pa.Array:
    """The method of each row: the job's where empty on a debit; empty on every credit."""
    lowered = pc.ascii_lower(method)
    filled = pc.if_else(pc.equal(lowered, ""), default, lowered)
    credit = pc.equal(direction, "credit")
    credits = pc.any(credit).as_py()  # most ledgers have none: two passes fewer
    if present:
        bad = pc.invert(pc.is_in(filled, value_set=pa.array(METHODS)))
        out.cells(
            pc.and_(pc.invert(credit), bad) if credits else bad,
            "method",
            "bad_method",
            method,
            lambda v, i: f"'{v}' is not a method: use 'transfer' or 'charge'.",
        )
        if credits:
            out.cells(
                pc.and_(credit, pc.not_equal(lowered, "")),
                "method",
                "bad_method",
                method,
                lambda v, i: f"'{v}' is a debit's method; a credit has none: leave the cell empty.",
            )
    return pc.if_else(credit, "", filled) if credits else filled


# --- description and metadata ------------------------------------------------------------------


def check_description(description: pa.ChunkedArray, out: Collector) -> None:
    lengths = _characters(description, MAX_DESCRIPTION_CHARS)
    out.cells(
        pc.greater(lengths, MAX_DESCRIPTION_CHARS),
        "description",
        "description_too_long",
        description,
        lambda v, i: (
            f"The description has {lengths[i].as_py():,} characters; Stripe allows "
            f"{MAX_DESCRIPTION_CHARS:,}."
        ),
    )


def check_metadata(ledger: Ledger, out: Collector, col: Column) -> dict[str, pa.Array]:
    names = [c for c in ledger.table.column_names if c.startswith(METADATA_PREFIX)]
    keys: dict[str, pa.Array] = {}
    for name in names:
        key = name[len(METADATA_PREFIX) :]
        trouble = _metadata_key_trouble(key)
        if trouble:
            out.header(ledger.headers.get(name, name), "bad_metadata", key, trouble)
            continue
        values = col(name)
        lengths = _characters(values, MAX_METADATA_VALUE_CHARS)

        def word(v: str, i: int, lengths: pa.ChunkedArray = lengths) -> str:
            return (
                f"The metadata value has {lengths[i].as_py():,} characters; Stripe allows "
                f"{MAX_METADATA_VALUE_CHARS}."
            )

        out.cells(pc.greater(lengths, MAX_METADATA_VALUE_CHARS), name, "bad_metadata", values, word)
        keys[key] = values
    if len(keys) > MAX_METADATA_KEYS:
        out.header(
            METADATA_PREFIX + "*",
            "bad_metadata",
            str(len(keys)),
            f"The ledger has {len(keys)} metadata columns; at most {MAX_METADATA_KEYS} fit "
            f"beside ledgerrun's own {OWN_METADATA_KEYS} keys.",
        )
    return keys


def _metadata_key_trouble(key: str) -> str | None:
    if not key:
        return "A metadata column needs a key after 'metadata.'."
    if len(key) > MAX_METADATA_KEY_CHARS:
        return (
            f"The metadata key '{shown(key)}' has {len(key)} characters; Stripe allows "
            f"{MAX_METADATA_KEY_CHARS}."
        )
    if "[" in key or "]" in key:
        return f"The metadata key '{shown(key)}' contains [ or ], which Stripe does not allow."
    if key.lower().startswith(RESERVED_METADATA_PREFIX):
        return f"Metadata keys starting '{RESERVED_METADATA_PREFIX}' are ledgerrun's own."
    return None
