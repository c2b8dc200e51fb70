"""Name the characters of a value that only look like what they should be.

An account id is ``acct_`` and plain ASCII letters and digits. Pasted from a chat, a PDF or a
web page it may hold a character from another script that looks the same (a Cyrillic ``а`` for
a Latin ``a``, a fullwidth ``１``), or one that shows nothing at all (a zero-width space). The
value then looks right and is refused, so the message must say which character it is and where:
``U+0430 CYRILLIC SMALL LETTER A at position 6``.
"""

from __future__ import annotations

import unicodedata

MAX_NAMED = 3


def describe(ch: str) -> str:
    """``U+0430 CYRILLIC SMALL LETTER A``: the code point and its Unicode name."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


def foreign(value: str) -> list[str]:
    """Each character of ``value`` that is not printable ASCII, named with its position (from 1),
    the first :data:`MAX_NAMED` of them, then how many more."""
    found = [
        (i, ch) for i, ch in enumerate(value, start=1) if not (ch.isascii() and ch.isprintable())
    ]
    named = [f"{describe(ch)} at position {i}" for i, ch in found[:MAX_NAMED]]
    if len(found) > MAX_NAMED:
        named.append(f"{len(found) - MAX_NAMED} more")
    return named


def lookalike_sentence(value: str) -> str:
    """A sentence naming the foreign characters of ``value``; empty when it has none."""
    named = foreign(value)
    if not named:
        return ""
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return (
        f" It holds {listed}: not a plain letter or digit, though it may look like one "
        "(copied from a chat, a PDF or a web page?). Retype it, or copy it from the Stripe "
        "dashboard."
    )
