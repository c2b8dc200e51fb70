"""The one filter every line ledgerrun writes for people or logs goes through.

No secret leaves: a Stripe key is cut to its kind and last four characters wherever it appears
(in a message, an error from a library, a value), and the password of a database URL is hidden.
And a ledger cannot drive a terminal: control characters are escaped.
"""

from __future__ import annotations

import re

# A key's kind, then at least one character of it (Stripe's own "sk_test_****abcd" is masked).
_KEY = re.compile(r"\b([sr]k_(?:live|test)_)(?=[A-Za-z0-9])[A-Za-z0-9]*?([A-Za-z0-9]{0,4})\b")
_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def scrub(text: str) -> str:
    """Any Stripe key in ``text`` cut to its kind and last four characters, database passwords
    hidden, and control characters escaped (a value from a ledger must not drive a terminal)."""
    text = _KEY.sub(lambda m: f"{m.group(1)}…{m.group(2)}", text)
    text = _URL_PASSWORD.sub(r"\1…@", text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
