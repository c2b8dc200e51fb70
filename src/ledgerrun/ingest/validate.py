"""Check every row of a ledger in one pass, vectorised over whole columns.

Each check computes a boolean mask over a column; Python only touches the rows that fail, to word
their messages. The result keeps the normalised columns (integer minor units, lower-case currency
and direction, the canonical id, the method with the job's default filled in) for the stages after
validation. The checks live in :mod:`~ledgerrun.ingest.rules` and
:mod:`~ledgerrun.ingest.amounts`, the result in :mod:`~ledgerrun.ingest.validation`.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.control_total import ControlTotal
from ledgerrun.ingest import accounts, amounts, control, identity, limits, rules, secret_cells
from ledgerrun.ingest.layout import AMOUNT_COLUMNS
from ledgerrun.ingest.read import CELL_CODES, THREADED_FROM, Ledger, give_back
from ledgerrun.ingest.validation import Collector, Validation, in_order
from ledgerrun.job import Job
from ledgerrun.vocab import Problem

__all__ = [
    "ControlTotal",
    "Validation",
    "blocking_problems",
    "check",
    "flag_platform_account",
    "validate",
]


def validate(ledger: Ledger, job: Job, *, platform_id: str | None = None) -> Validation:
    """Every problem of ``ledger`` under ``job`` that needs no API call (plus the platform check
    on accounts when ``platform_id`` is known)."""
    ledger, secrets = secret_cells.scan(ledger, secret_cells.key_in_use(job))
    out = Collector(ledger)
    out.problems.extend(ledger.read_problems)
    standing = secret_cells.flag(out, secrets)  # problems that stand for their whole cell
    n = ledger.num_rows
    empty = pa.chunked_array([pc.fill_null(pa.nulls(n, pa.string()), "")])
    have = set(ledger.table.column_names)

    def col(name: str) -> pa.ChunkedArray:
        return ledger.column(name) if name in have else empty

    if not rules.require(ledger, out, have):
        out.invalidate(pa.array([True] * n, pa.bool_()))  # nothing can be sent without them
    cell_rows = {p.row for p in ledger.read_problems if p.code in CELL_CODES}
    if cell_rows:
        out.invalidate(pc.is_in(ledger.rows, value_set=pa.array(sorted(cell_rows), pa.int64())))
    currency = _currency(col("currency"), job.reading.currency)
    codes, exponents = amounts.currency_table()
    exps = pc.take(exponents, pc.index_in(currency, value_set=codes))
    # The heavy checks share the two cores (pyarrow releases the GIL): the other thread parses
    # the first two thirds of the amounts and checks accounts; this one checks the ids (canonical
    # forms, invisible characters, duplicates) and parses the last third.
    split = n * 2 // 3
    money_columns = {name: col(name) for name in AMOUNT_COLUMNS if name in have}
    if "debit" not in have or "credit" not in have:
        money_columns.pop("debit", None)
        money_columns.pop("credit", None)
    account = col("account")

    def part(start: int, stop: int | None) -> amounts.Sources:
        def cut(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
            return values.slice(start) if stop is None else values.slice(start, stop - start)

        sliced = {name: cut(values) for name, values in money_columns.items()}
        return amounts.parse(sliced, cut(exps), cut(currency), job)

    def other_core() -> amounts.Sources:
        parsed = part(0, split)
        if "account" in have:
            accounts.check_accounts(account, out, platform_id)
        return parsed

    if n >= THREADED_FROM:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(other_core)
            adjustment_id, keys = _ids(ledger, job, out, col, "adjustment_id" in have)
            last = part(split, None)
            parsed = amounts.joined(first.result(), last)
    else:  # a small ledger (see THREADED_FROM)
        earlier = other_core()
        adjustment_id, keys = _ids(ledger, job, out, col, "adjustment_id" in have)
        parsed = amounts.joined(earlier, part(split, None))
    give_back()  # the heavy checks' working arrays
    if "currency" in have:
        rules.check_currency(currency, exps, out)
    if out.ledger.typed:  # an xlsx's cells set aside by their type and format
        from ledgerrun.ingest import typed  # (and the readers of their formats)

        standing += typed.check(out, currency, exps)
    stated = (  # the direction each row states: none where the file has no such column
        rules.check_direction(col("direction"), out, job.direction)
        if "direction" in have
        else empty
    )
    found = amounts.check_amounts(out, have, col, currency, exps, parsed, stated, job)
    direction = found.direction
    method = rules.check_methods(col("method"), direction, out, job.method, "method" in have)
    description = col("description")
    rules.check_description(description, out)
    metadata = rules.check_metadata(ledger, out, col)
    limits.check_limits(job, out, currency, found, method)
    total = control.control_total(ledger, out, currency, found, job)
    return Validation(
        ledger=ledger,
        problems=in_order(_without_shadowed(out.problems, ledger, standing), ledger),
        valid=pc.invert(out.invalid),
        adjustment_id=adjustment_id,
        account=account,
        currency=currency,
        amount_minor=found.minor,
        method=method,
        description=description,
        adjustment_key=keys,
        direction=direction,
        metadata=metadata,
        control_total=total,
    )


def _currency(column: pa.ChunkedArray, default: str | None) -> pa.Array:
    """Each row's currency, lower-case: the job's where the file has none or the cell is blank."""
    lowered = pc.ascii_lower(column)
    if default is None:
        return lowered
    return pc.if_else(pc.equal(lowered, ""), default, lowered)


def _ids(
    ledger: Ledger,
    job: Job,
    out: Collector,
    col: Callable[[str], pa.ChunkedArray],
    present: bool,
) -> tuple[pa.Array, pa.Array]:
    """Each row's id (as written, or as built from its parts) and its canonical form, checked."""
    if ledger.parts is not None:
        from ledgerrun.ingest import compose  # an id built from its parts (adjustment_id = [...])

        headers = list(ledger.parts.column_names)
        built, refused = compose.build(ledger.parts, headers, job.reading.date_format, out)
        keys = identity.canonical_array(built, job.id_prefix)
        none = pa.repeat(False, len(built))
        rules.check_ids(pa.chunked_array([built]), keys, none, ledger, out, skip=refused)
        return built, keys
    adjustment_id = col("adjustment_id")
    keys = identity.canonical_array(adjustment_id, job.id_prefix)
    if present:
        invisible = identity.invisible_array(adjustment_id)
        rules.check_ids(adjustment_id, keys, invisible, ledger, out)
    return adjustment_id, keys


def _without_shadowed(
    problems: list[Problem], ledger: Ledger, standing: list[Problem]
) -> list[Problem]:
    """Leave out the problems of a cell the reader already reported (a spreadsheet error, a
    formula never calculated), or that ``standing`` problems speak for (a secret, a date in a
    money cell): the cell's value is not a value, so nothing more is to be said."""
    kept = [p for p in ledger.read_problems if p.code in CELL_CODES] + standing
    cells = {(p.row, p.column) for p in kept}
    if not cells:
        return problems
    own = {id(p) for p in kept}
    return [p for p in problems if id(p) in own or (p.row, p.column) not in cells]


def blocking_problems(validation: Validation) -> list[Problem]:
    """Problems no setting can run around: the file's own (a missing column, an unreadable row,
    a bad metadata header), on the header's row. A ledger total over its limit is not one: with
    on_invalid = skip the rows beyond the limit are skipped."""
    header = validation.header_row
    return [
        p
        for p in validation.problems
        if (p.row == header and p.code != "over_max_total") or p.code == "unreadable_file"
    ]


def flag_platform_account(validation: Validation, platform_id: str) -> int:
    """bad_account on rows naming the platform itself (known once the API has been asked)."""
    mask = pc.and_(validation.valid, pc.equal(validation.account, platform_id))
    return validation.flag(
        mask, "account", "bad_account", validation.account, accounts.platform_word
    )


def check(job: Job, *, platform_id: str | None = None) -> Validation:
    """Read the job's ledger and validate it. A file that cannot be read at all gives a
    validation with that single problem and no rows, so every caller reports it the same way."""
    from ledgerrun.errors import LedgerFileError
    from ledgerrun.ingest.read import read_ledger, require_ledger

    path = require_ledger(job)  # none given, or not arrived yet: the command stops
    try:
        ledger = read_ledger(path, job.columns, job.sheet, job.reading)
    except LedgerFileError as exc:
        ledger = Ledger.empty(path)
        fix = getattr(exc, "fix", None)
        message = secret_cells.redacted(str(exc), secret_cells.key_in_use(job))
        problem = Problem.make(exc.row, exc.column, exc.code, "", message, fix=fix)
        validation = validate(ledger, job, platform_id=platform_id)
        validation.problems = [problem]
        return validation
    return validate(ledger, job, platform_id=platform_id)
