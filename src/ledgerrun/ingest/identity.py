"""The identity of an adjustment: when two ids written differently are the same adjustment.

Exactly-once hangs on this. Two ids name the same adjustment when their canonical forms are equal:

1. Unicode NFC (``café`` typed as ``e`` + combining accent equals the precomposed ``é``);
2. surrounding whitespace removed;
3. case folded (``ADJ-1`` is ``adj-1``; ``Straße`` is ``strasse``), then NFC again;
4. an id made only of ASCII digits loses its leading zeros (a spreadsheet re-save turns
   ``0000101`` into ``101``); an id of zeros only becomes ``0``.

An id holding a control character, a format character (zero-width space, bidi marks, the BOM), any
other default-ignorable code point, a line or paragraph separator, or whitespace other than a plain
space is not an id a person can retype or see: it is refused (``bad_adjustment_id``) rather than
canonicalised, since two such ids may look identical and be different, or the reverse.

A job's ``id_prefix`` becomes part of the canonical id (``prefix:id``), keeping apart the ids of
teams whose numbering repeats. Idempotency keys and every "already done?" decision use the
canonical form; outputs show the id as written.

:func:`canonical` is the specification; :func:`canonical_array` applies it to a whole column and
must give the same result for every value (a hypothesis test holds it to that).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pyarrow as pa

from ledgerrun import compute as pc

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt), which render as
# nothing, plus the Hangul and Khmer fillers among them.
_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_BAD_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
# Unicode's White_Space characters: what "surrounding whitespace" means here, and what Arrow's
# trim kernels remove (Python's own str.strip() would also take \x1c-\x1f, which are controls).
TRIM = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _invisible(ch: str) -> bool:
    point = ord(ch)
    if any(low <= point <= high for low, high in _IGNORABLE):
        return True
    category = unicodedata.category(ch)
    if category in _BAD_CATEGORIES:
        return True
    return category == "Zs" and ch != " "


def invisible_characters(value: str) -> list[str]:
    """The code points of ``value`` that make it unusable as an id, as ``U+200B`` labels,
    in order and without repeats. Surrounding whitespace is not counted (it is trimmed)."""
    seen: dict[str, None] = {}
    for ch in value.strip(TRIM):
        if _invisible(ch):
            seen[f"U+{ord(ch):04X}"] = None
    return list(seen)


def canonical(value: str, prefix: str = "") -> str:
    """The canonical form of an adjustment id (see the module docstring).

    The caller refuses ids with :func:`invisible_characters` first; for such ids the result is
    still defined but meaningless."""
    text = unicodedata.normalize("NFC", value).strip(TRIM)
    text = unicodedata.normalize("NFC", text.casefold())
    if text.isascii() and text.isdigit():
        text = text.lstrip("0") or "0"
    return f"{prefix}:{text}" if prefix else text


# The ASCII part of TRIM: what the column forms trim from ASCII values, as canonical() does.
_ASCII_SPACE = " \t\n\v\f\r"


def _plain_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return pc.cast(values, pa.string())


def _by_hand(
    values: pa.Array, ascii_mask: pa.Array, fast: pa.Array, one: Callable[[str], object]
) -> pa.Array:
    """``fast`` with its non-ASCII rows replaced by ``one(value)``: Python only where needed."""
    if pc.all(ascii_mask).as_py() is not False:
        return fast
    slow = pc.invert(ascii_mask)
    done = [one(v) for v in pc.filter(values, slow).to_pylist()]
    return pc.replace_with_mask(fast, slow, pa.array(done, fast.type))


def byte_range(values: pa.Array | pa.ChunkedArray) -> tuple[int, int] | None:
    """The smallest and largest byte of a string column's text (None when it has none, or is
    not a plain string column): when both lie within printable ASCII, every value is printable
    ASCII with no space at either end, found without a pass over the values. (The bytes looked
    at may reach beyond the column's own values, which can only widen the range.)"""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None
    low, high = 0x100, -1
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is None or data.size == 0:
            continue
        found = pc.min_max(pa.Array.from_buffers(pa.uint8(), data.size, [None, data])).as_py()
        low, high = min(low, found["min"]), max(high, found["max"])
    return None if high < 0 else (low, high)


def printable(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every byte of the values is printable ASCII other than a space (see byte_range):
    then no value has whitespace at either end, nor a character beyond ASCII or invisible."""
    return all_printable(byte_range(values))


def all_printable(found: tuple[int, int] | None) -> bool:
    """Whether a :func:`byte_range` lies within printable ASCII other than a space."""
    return found is not None and found[0] > 0x20 and found[1] < 0x7F


def canonical_array(values: pa.Array | pa.ChunkedArray, prefix: str = "") -> pa.Array:
    """:func:`canonical` over a column of non-null strings.

    Plain ASCII values (nearly every id) are handled by Arrow kernels; the rest go one by one
    through :func:`canonical`."""
    values = _plain_array(values)
    if printable(values):  # nothing to trim, nothing beyond ASCII
        ascii_mask = pa.repeat(True, len(values))
        fast = pc.ascii_lower(values)
    else:
        ascii_mask = pc.string_is_ascii(values)
        fast = pc.ascii_lower(pc.ascii_trim(values, characters=_ASCII_SPACE))
    digits = pc.ascii_is_decimal(fast)  # false for an empty value
    if pc.any(digits).as_py():
        stripped = pc.ascii_ltrim(fast, characters="0")
        stripped = pc.if_else(pc.equal(stripped, ""), "0", stripped)
        fast = pc.if_else(digits, stripped, fast)
    fast = _by_hand(values, ascii_mask, fast, canonical)
    if prefix:
        fast = pc.binary_join_element_wise(pa.scalar(prefix + ":"), fast, "")
    return fast


def invisible_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """True where :func:`invisible_characters` finds any, over a column of non-null strings.

    For ASCII values that is any control character (``\\x00``-``\\x1f``, ``\\x7f``) inside
    the trimmed value, which one Arrow kernel finds; the rest go through the specification."""
    values = _plain_array(values)
    if printable(values):
        return pa.repeat(False, len(values))
    ascii_mask = pc.string_is_ascii(values)
    fast = pc.invert(pc.ascii_is_printable(pc.ascii_trim(values, characters=_ASCII_SPACE)))
    return _by_hand(values, ascii_mask, fast, lambda v: bool(invisible_characters(v)))
