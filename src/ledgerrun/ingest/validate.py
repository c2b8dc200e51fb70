"""Check every row of a ledger in one pass, vectorised over whole columns.

Each check computes a boolean mask over a column; Python only touches the rows that fail, to word
their messages. The result keeps the normalised columns (integer minor units, lower-case currency,
the method with the job's default filled in) for the stages after validation.
"""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun import money
from ledgerrun.ingest.read import METADATA_PREFIX, Ledger
from ledgerrun.job import METHODS, Job
from ledgerrun.vocab import Problem

MAX_ID_CHARS = 200
MAX_DESCRIPTION_CHARS = 1000
MAX_METADATA_KEY_CHARS = 40
MAX_METADATA_VALUE_CHARS = 500
MAX_METADATA_KEYS = 48  # Stripe allows 50; ledgerrun keeps two for its own keys
RESERVED_METADATA_PREFIX = "ledgerrun_"
ACCOUNT_PREFIX = "acct_"  # then ASCII letters and digits only


@functools.cache
def _currency_table() -> tuple[pa.Array, pa.Array]:
    """Currency codes and their exponents as arrays, built on first use (not at import)."""
    codes = sorted(money.CURRENCY_EXPONENTS)
    exponents = [money.CURRENCY_EXPONENTS[c] for c in codes]
    return pa.array(codes, pa.string()), pa.array(exponents, pa.int8())


@dataclass
class Validation:
    """The outcome of validating a ledger: its problems and its normalised columns.

    ``valid`` is true for rows with no problem of their own. Problems about the file as a whole
    (missing columns, bad metadata headers, a total over its limit) sit on row 1.
    """

    ledger: Ledger
    problems: list[Problem]
    valid: pa.Array
    adjustment_id: pa.Array
    account: pa.Array
    currency: pa.Array
    amount_minor: pa.Array
    method: pa.Array
    description: pa.Array
    metadata: dict[str, pa.Array] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rows(self) -> int:
        return self.ledger.num_rows

    def flag(
        self,
        mask: pa.Array,
        column: str,
        code: str,
        values: pa.Array,
        word: Callable[[str, int], str],
    ) -> int:
        """Add a problem on every row of ``mask`` (checks made after validation, such as
        pre-flight); those rows stop being valid. Returns how many problems were added."""
        out = _Collector(self.ledger)
        out.cells(mask, column, code, values, word)
        if out.problems:
            self.problems = _in_order(self.problems + out.problems, self.ledger)
            self.valid = pc.and_(self.valid, pc.invert(out.invalid))
        return len(out.problems)


class _Collector:
    """Gathers problems; words them only for the rows a mask selects. Checks may run on two
    threads: masks are computed outside the lock, only the recording is inside."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.problems: list[Problem] = []
        self.invalid = pa.array(np.zeros(ledger.num_rows, dtype=np.bool_))
        self._lock = threading.Lock()

    def header(self, column: str, code: str, value: str, message: str) -> None:
        with self._lock:
            self.problems.append(Problem.make(1, column, code, value, message))

    def cells(
        self,
        mask: pa.Array,
        column: str,
        code: str,
        values: pa.Array,
        word: Callable[[str, int], str],
    ) -> None:
        """One problem per row where ``mask`` is true. ``word(value, index)`` writes the message."""
        mask = pc.fill_null(mask, False)
        if not pc.any(mask).as_py():
            return
        shown = self.ledger.headers.get(column, column)
        indices = pc.indices_nonzero(mask).to_pylist()
        texts = pc.take(values, pa.array(indices, pa.int64())).to_pylist()
        rows = pc.take(self.ledger.rows, pa.array(indices, pa.int64())).to_pylist()
        found = []
        for index, row, text in zip(indices, rows, texts, strict=True):
            value = "" if text is None else str(text)
            found.append(Problem.make(row, shown, code, value, word(value, index)))
        with self._lock:
            self.invalid = pc.or_(self.invalid, mask)
            self.problems.extend(found)


def validate(ledger: Ledger, job: Job, *, platform_id: str | None = None) -> Validation:
    """Every problem of ``ledger`` under ``job`` that needs no API call (plus the platform check
    on accounts when ``platform_id`` is known)."""
    out = _Collector(ledger)
    out.problems.extend(ledger.read_problems)
    n = ledger.num_rows
    empty = pa.chunked_array([pa.nulls(n, pa.string()).fill_null("")])
    have = set(ledger.table.column_names)

    def col(name: str) -> pa.ChunkedArray:
        return ledger.column(name) if name in have else empty

    _require(ledger, out, have)
    currency = pc.ascii_lower(col("currency"))
    codes, exponents = _currency_table()
    exps = pc.take(exponents, pc.index_in(currency, value_set=codes))
    # The heavy checks share the two cores (pyarrow releases the GIL): the other thread parses
    # the first half of the amounts and checks accounts, this one checks ids and parses the
    # second half.
    half = n // 2
    major, minor = col("amount"), col("amount_minor")
    adjustment_id, account = col("adjustment_id"), col("account")

    def other_core() -> tuple[_Parsed, _Parsed]:
        parsed = _parse_amounts(
            have, major.slice(0, half), minor.slice(0, half), exps.slice(0, half)
        )
        if "account" in have:
            _check_accounts(account, out, platform_id)
        return parsed

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(other_core)
        if "adjustment_id" in have:
            _check_ids(adjustment_id, ledger, out)
        second = _parse_amounts(have, major.slice(half), minor.slice(half), exps.slice(half))
        parsed_amounts = _joined(first.result(), second)
    if "currency" in have:
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
    amount_minor = _check_amounts(out, have, col, currency, exps, parsed_amounts)
    method = _check_methods(col("method"), out, job.method, "method" in have)
    description = col("description")
    out.cells(
        pc.greater(pc.utf8_length(description), MAX_DESCRIPTION_CHARS),
        "description",
        "description_too_long",
        description,
        lambda v, i: (
            f"The description has {len(v)} characters; Stripe allows {MAX_DESCRIPTION_CHARS}."
        ),
    )
    metadata = _check_metadata(ledger, out, have, col)
    amount_text = col("amount") if "amount" in have else col("amount_minor")
    _check_limits(job, out, currency, amount_minor, amount_text)
    return Validation(
        ledger=ledger,
        problems=_in_order(out.problems, ledger),
        valid=pc.invert(out.invalid),
        adjustment_id=adjustment_id,
        account=account,
        currency=currency,
        amount_minor=amount_minor,
        method=method,
        description=description,
        metadata=metadata,
    )


def blocking_problems(validation: Validation) -> list[Problem]:
    """Problems no setting can run around: the file's own (a missing column, an unreadable row,
    a bad metadata header). A ledger total over its limit is not one: with on_invalid = skip
    the rows beyond the limit are skipped."""
    return [
        p
        for p in validation.problems
        if (p.row == 1 and p.code != "over_max_total") or p.code == "unreadable_file"
    ]


def _in_order(problems: list[Problem], ledger: Ledger) -> list[Problem]:
    """By row, then by the column's place in the file, then by code."""
    order = {name: i for i, name in enumerate(ledger.headers.values())}
    return sorted(problems, key=lambda p: (p.row, order.get(p.column, len(order)), p.code))


def _require(ledger: Ledger, out: _Collector, have: set[str]) -> None:
    needed = ["adjustment_id", "account", "currency"]
    if "amount" not in have and "amount_minor" not in have:
        needed.append("amount")
    for name in needed:
        if name in have:
            continue
        mapped = ledger.unmapped.get(name)
        if mapped is not None:
            message = f"The job maps {name} to the header '{mapped}', which row 1 does not have."
        elif name == "amount":
            message = "Row 1 has neither an 'amount' nor an 'amount_minor' column; one is needed."
        else:
            message = f"Row 1 has no '{name}' column; every ledger needs one."
        out.header(name, "missing_column", mapped or "", message)


def _check_ids(ids: pa.Array, ledger: Ledger, out: _Collector) -> None:
    out.cells(
        pc.equal(ids, ""),
        "adjustment_id",
        "empty_value",
        ids,
        lambda v, i: "The adjustment id is empty; it is what makes each debit happen once.",
    )
    out.cells(
        pc.greater(pc.utf8_length(ids), MAX_ID_CHARS),
        "adjustment_id",
        "adjustment_id_too_long",
        ids,
        lambda v, i: f"The id has {len(v)} characters; at most {MAX_ID_CHARS} are allowed.",
    )
    mask = _repeated(ids)
    if mask is None:
        return
    where: dict[str, list[int]] = defaultdict(list)
    idx = pc.indices_nonzero(mask)
    for value, row in zip(
        pc.take(ids, idx).to_pylist(), pc.take(ledger.rows, idx).to_pylist(), strict=True
    ):
        where[value].append(row)
    rows_of = ledger.rows

    def word(value: str, index: int) -> str:
        this = rows_of[index].as_py()
        others = [r for r in where[value] if r != this]
        shown = ", ".join(str(r) for r in others[:5]) + (" and more" if len(others) > 5 else "")
        return f"The id '{value}' is also on row{'s' if len(others) > 1 else ''} {shown}."

    out.cells(mask, "adjustment_id", "duplicate_adjustment_id", ids, word)


def _repeated(ids: pa.Array) -> pa.Array | None:
    """Mask of the non-empty ids that occur more than once, or None when none does.

    Sorting and comparing neighbours is several times faster than hashing a million strings.
    """
    if len(ids) < 2:
        return None
    ordered = pc.take(ids, pc.sort_indices(ids))
    same = pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))
    if not pc.any(same).as_py():
        return None
    repeated = pc.unique(pc.filter(ordered.slice(1), same))
    repeated = pc.filter(repeated, pc.not_equal(repeated, ""))
    return pc.is_in(ids, value_set=repeated) if len(repeated) else None


def _is_account_id(account: pa.ChunkedArray) -> pa.ChunkedArray:
    """'acct_' followed by ASCII letters and digits (a third faster than the equivalent regex)."""
    rest = pc.utf8_slice_codeunits(account, len(ACCOUNT_PREFIX))
    return pc.and_(pc.starts_with(account, ACCOUNT_PREFIX), pc.ascii_is_alnum(rest))


def _check_accounts(account: pa.Array, out: _Collector, platform_id: str | None) -> None:
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
        lambda v, i: f"'{v}' is not a connected account id: 'acct_' then letters and digits.",
    )
    if platform_id:
        out.cells(pc.equal(account, platform_id), "account", "bad_account", account, _platform_word)


def _platform_word(value: str, index: int) -> str:
    return f"'{value}' is the platform's own account; a debit must name a connected account."


def flag_platform_account(validation: Validation, platform_id: str) -> int:
    """bad_account on rows naming the platform itself (known once the API has been asked)."""
    mask = pc.and_(validation.valid, pc.equal(validation.account, platform_id))
    return validation.flag(mask, "account", "bad_account", validation.account, _platform_word)


_AMOUNT_WORDS: dict[str, str] = {
    "bad_amount": "'{v}' is not a plain amount: write digits with an optional decimal point, "
    "such as 1500.00 or 1,500.00 (no symbol, sign, spaces or exponent).",
    "non_positive_amount": "'{v}' is not above zero; a debit must be a positive amount.",
    "too_many_decimals": "'{v}' has more decimal places than {cur} allows ({exp}); "
    "ledgerrun never rounds.",
}
_MINOR_WORDS: dict[str, str] = {
    "bad_amount": "'{v}' is not a whole number of minor units (cents): digits only.",
    "non_positive_amount": "'{v}' is not above zero; a debit must be a positive amount.",
    "too_many_decimals": "'{v}' minor units is not a valid {cur} amount: {cur} amounts in minor "
    "units must end in 0.",
}


_Parsed = tuple[pa.Array, pa.Array] | None


def _parse_amounts(
    have: set[str], major: pa.Array, minor: pa.Array, exps: pa.Array
) -> tuple[_Parsed, _Parsed]:
    """(minor units, codes) for the amount and amount_minor columns the ledger has."""
    return (
        money.parse_major_array(major, exps) if "amount" in have else None,
        money.parse_minor_array(minor, exps) if "amount_minor" in have else None,
    )


def _joined(
    first: tuple[_Parsed, _Parsed], second: tuple[_Parsed, _Parsed]
) -> tuple[_Parsed, _Parsed]:
    """The two halves' results as one column each, without copying."""

    def join(a: _Parsed, b: _Parsed) -> _Parsed:
        if a is None or b is None:
            return None
        return tuple(
            pa.chunked_array([*_chunks(x), *_chunks(y)], type=x.type)
            for x, y in zip(a, b, strict=True)
        )

    return join(first[0], second[0]), join(first[1], second[1])


def _chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]


def _check_amounts(
    out: _Collector,
    have: set[str],
    col: Callable[[str], pa.Array],
    currency: pa.Array,
    exps: pa.Array,
    parsed: tuple[_Parsed, _Parsed],
) -> pa.Array:
    nothing = pa.nulls(len(currency), pa.int64())
    major, minor = col("amount"), col("amount_minor")
    both_empty = pc.and_(pc.equal(major, ""), pc.equal(minor, ""))
    target = "amount" if "amount" in have else "amount_minor"
    if "amount" in have or "amount_minor" in have:
        out.cells(
            both_empty,
            target,
            "empty_value",
            major,
            lambda v, i: "The amount is empty; every row needs an amount.",
        )
    cur_upper = currency

    def report(column: str, codes: pa.Array, values: pa.Array, words: dict[str, str]) -> None:
        for code, template in words.items():

            def word(v: str, i: int, template: str = template) -> str:
                exp = exps[i].as_py()
                return template.format(v=v, cur=cur_upper[i].as_py().upper(), exp=exp)

            out.cells(pc.equal(codes, code), column, code, values, word)

    parsed_major = parsed_minor = nothing
    if parsed[0] is not None:
        parsed_major, codes = parsed[0]
        report("amount", codes, major, _AMOUNT_WORDS)
    if parsed[1] is not None:
        parsed_minor, codes = parsed[1]
        report("amount_minor", codes, minor, _MINOR_WORDS)
    if "amount" in have and "amount_minor" in have:
        differ = pc.not_equal(parsed_major, parsed_minor)

        def word(v: str, i: int) -> str:
            return (
                f"amount '{v}' is {parsed_major[i].as_py()} minor units but amount_minor "
                f"says {minor[i].as_py()}."
            )

        out.cells(differ, "amount", "amount_mismatch", major, word)
    return pc.coalesce(parsed_major, parsed_minor)


def _check_methods(method: pa.Array, out: _Collector, default: str, present: bool) -> pa.Array:
    lowered = pc.ascii_lower(method)
    filled = pc.if_else(pc.equal(lowered, ""), default, lowered)
    if present:
        bad = pc.invert(pc.is_in(filled, value_set=pa.array(METHODS)))
        out.cells(
            bad,
            "method",
            "bad_method",
            method,
            lambda v, i: f"'{v}' is not a method: use 'transfer' or 'charge'.",
        )
    return filled


def _check_metadata(
    ledger: Ledger, out: _Collector, have: set[str], col: Callable[[str], pa.Array]
) -> dict[str, pa.Array]:
    names = [c for c in ledger.table.column_names if c.startswith(METADATA_PREFIX)]
    keys: dict[str, pa.Array] = {}
    for name in names:
        key = name[len(METADATA_PREFIX) :]
        shown = ledger.headers.get(name, name)
        trouble = _metadata_key_trouble(key)
        if trouble:
            out.header(shown, "bad_metadata", key, trouble)
            continue
        values = col(name)
        out.cells(
            pc.greater(pc.utf8_length(values), MAX_METADATA_VALUE_CHARS),
            name,
            "bad_metadata",
            values,
            lambda v, i: (
                f"The metadata value has {len(v)} characters; Stripe allows "
                f"{MAX_METADATA_VALUE_CHARS}."
            ),
        )
        keys[key] = values
    if len(keys) > MAX_METADATA_KEYS:
        out.header(
            METADATA_PREFIX + "*",
            "bad_metadata",
            str(len(keys)),
            f"The ledger has {len(keys)} metadata columns; at most {MAX_METADATA_KEYS} fit "
            "beside ledgerrun's own two keys.",
        )
    return keys


def _metadata_key_trouble(key: str) -> str | None:
    if not key:
        return "A metadata column needs a key after 'metadata.'."
    if len(key) > MAX_METADATA_KEY_CHARS:
        return f"The metadata key '{key}' has {len(key)} characters; Stripe allows 40."
    if "[" in key or "]" in key:
        return f"The metadata key '{key}' contains [ or ], which Stripe does not allow."
    if key.lower().startswith(RESERVED_METADATA_PREFIX):
        return f"Metadata keys starting '{RESERVED_METADATA_PREFIX}' are ledgerrun's own."
    return None


def _check_limits(
    job: Job, out: _Collector, currency: pa.Array, minor: pa.Array, text: pa.Array
) -> None:
    for cur, limit in sorted(job.limits.max_amount.items()):
        exp = money.exponent(cur)
        over = pc.and_(pc.equal(currency, cur), pc.greater(minor, limit))

        def word(v: str, i: int, cur: str = cur, limit: int = limit, exp: int = exp) -> str:
            amount = money.format_major(minor[i].as_py(), exp, grouping=True)
            ceiling = money.format_major(limit, exp, grouping=True)
            return f"{amount} {cur.upper()} is above the job's limit of {ceiling} per row."

        out.cells(over, "amount", "over_max_amount", text, word)
    valid = pc.invert(out.invalid)
    for cur, limit in sorted(job.limits.max_total.items()):
        exp = money.exponent(cur)
        chosen = pc.and_(valid, pc.equal(currency, cur))
        total = pc.sum(pc.filter(minor, chosen)).as_py() or 0
        if total > limit:
            out.header(
                "amount",
                "over_max_total",
                money.format_major(total, exp),
                f"The {cur.upper()} rows add up to {money.format_major(total, exp, grouping=True)}"
                f", above the job's limit of {money.format_major(limit, exp, grouping=True)}.",
            )


def check(job: Job, *, platform_id: str | None = None) -> Validation:
    """Read the job's ledger and validate it. A file that cannot be read at all gives a
    validation with that single problem and no rows, so every caller reports it the same way."""
    from ledgerrun.errors import LedgerFileError
    from ledgerrun.ingest.read import read_ledger

    try:
        ledger = read_ledger(job.ledger, job.columns, job.sheet)
    except LedgerFileError as exc:
        ledger = Ledger.empty(job.ledger)
        problem = Problem.make(exc.row, exc.column, exc.code, "", str(exc))
        validation = validate(ledger, job, platform_id=platform_id)
        validation.problems = [problem]
        return validation
    return validate(ledger, job, platform_id=platform_id)
