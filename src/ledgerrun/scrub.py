"""The one filter every line ledgerrun writes for people or logs goes through.

No secret leaves: a Stripe key is cut to its kind and last four characters wherever it appears
(in a message, an error from a library, a value), and the password of a database URL is hidden.
And a ledger cannot drive a terminal: control characters are escaped.
"""

from __future__ import annotations

import functools
import re


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Compiled when a line first needs them: most lines hold no key, URL or control character
    (the three cost 0.2 ms to compile, on every command's start before)."""
    return (
        # a key's kind, then at least one character of it (Stripe's own "sk_test_****abcd" too)
        re.compile(r"\b([sr]k_(?:live|test)_)(?=[A-Za-z0-9])[A-Za-z0-9]*?([A-Za-z0-9]{0,4})\b"),
        re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@"),  # a database URL's password
        re.compile(r"[\x00-\x08\x0b-\x1f\x7f]"),  # control characters but tab and line feed
    )


def scrub(text: str) -> str:
    """Any Stripe key in ``text`` cut to its kind and last four characters, database passwords
    hidden, and control characters escaped (a value from a ledger must not drive a terminal)."""
    if "k_" not in text and "postgres" not in text and text.isprintable():
        return text  # no key, no URL, no control character: nothing to do
    key, url_password, control = _patterns()
    text = key.sub(lambda m: f"{m.group(1)}…{m.group(2)}", text)
    text = url_password.sub(r"\1…@", text)
    return control.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
