"""The account column's checks: every row names a connected account (``acct_`` then ASCII
letters and digits), never the platform itself."""

from __future__ import annotations

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.ingest import characters
from ledgerrun.ingest.validation import Collector

ACCOUNT_PREFIX = "acct_"  # then ASCII letters and digits only
ALNUM_PATTERN = "^[A-Za-z0-9]+$"  # what ascii_is_alnum answers true for (not for "")
ALNUM_BY_TABLES_FROM = 30_000  # rows: where ascii_is_alnum's start-up cost is paid back


def _is_account_id(account: pa.ChunkedArray) -> pa.ChunkedArray:
    """'acct_' then ASCII letters and digits. The rest is cut off by bytes (five times faster
    than by characters): the same where the value starts with the prefix, and any other row is
    no account id whatever its rest, which is only looked at byte by byte.

    Arrow's ``ascii_is_alnum`` fills its character tables on its first call in a process (2 ms),
    then checks a million ids in 8 ms; a regular expression costs nothing to start and 67 ms a
    million. So a column under ``ALNUM_BY_TABLES_FROM`` rows is checked by the expression, which
    answers the same for every value (``tests/ingest``)."""
    rest = pc.binary_replace_slice(account, 0, len(ACCOUNT_PREFIX), "")
    if len(account) >= ALNUM_BY_TABLES_FROM:
        alnum = pc.ascii_is_alnum(rest)
    else:
        alnum = pc.match_substring_regex(rest, ALNUM_PATTERN)
    return pc.and_(pc.starts_with(account, ACCOUNT_PREFIX), alnum)


def check_accounts(account: pa.ChunkedArray, out: Collector, platform_id: str | None) -> None:
    is_empty = pc.equal(account, "")
    out.cells(
        is_empty,
        "account",
        "empty_value",
        account,
        lambda v, i: "The account is empty; name the connected account (acct_...).",
    )
    malformed = pc.and_(pc.invert(_is_account_id(account)), pc.invert(is_empty))
    out.cells(
        malformed,
        "account",
        "bad_account",
        account,
        lambda v, i: (
            f"'{v}' is not a connected account id: 'acct_' then letters and digits."
            + characters.lookalike_sentence(account[i].as_py())
        ),
    )
    if platform_id:
        out.cells(pc.equal(account, platform_id), "account", "bad_account", account, platform_word)


def platform_word(value: str, index: int) -> str:
    return f"'{value}' is the platform's own account; a debit must name a connected account."
