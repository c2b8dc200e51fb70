"""Check every row of a ledger in one pass, vectorised over whole columns.

Each check computes a boolean mask over a column; Python only touches the rows that fail, to word
their messages. The result keeps the normalised columns (integer minor units, lower-case currency
and direction, the canonical id, the method with the job's default filled in) for the stages after
validation. The checks live in :mod:`~ledgerrun.ingest.rules` and
:mod:`~ledgerrun.ingest.amounts`, the result in :mod:`~ledgerrun.ingest.validation`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun.ingest import amounts, identity, rules, secret_cells, typed
from ledgerrun.ingest.read import CELL_CODES, Ledger
from ledgerrun.ingest.validation import Collector, Validation, in_order
from ledgerrun.job import Job
from ledgerrun.summary import ControlTotal
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
    empty = pa.chunked_array([pa.nulls(n, pa.string()).fill_null("")])
    have = set(ledger.table.column_names)

    def col(name: str) -> pa.ChunkedArray:
        return ledger.column(name) if name in have else empty

    if not rules.require(ledger, out, have):
        out.invalidate(pa.array([True] * n, pa.bool_()))  # nothing can be sent without them
    cell_rows = {p.row for p in ledger.read_problems if p.code in CELL_CODES}
    if cell_rows:
        out.invalidate(pc.is_in(ledger.rows, value_set=pa.array(sorted(cell_rows), pa.int64())))
    currency = pc.ascii_lower(col("currency"))
    codes, exponents = amounts.currency_table()
    exps = pc.take(exponents, pc.index_in(currency, value_set=codes))
    # The heavy checks share the two cores (pyarrow releases the GIL): the other thread parses
    # the first two thirds of the amounts and checks accounts; this one checks the ids (canonical
    # forms, invisible characters, duplicates) and parses the last third.
    split = n * 2 // 3
    major, minor = col("amount"), col("amount_minor")
    adjustment_id, account = col("adjustment_id"), col("account")

    def other_core() -> tuple[amounts.Parsed, amounts.Parsed]:
        parsed = amounts.parse(
            have, major.slice(0, split), minor.slice(0, split), exps.slice(0, split)
        )
        if "account" in have:
            rules.check_accounts(account, out, platform_id)
        return parsed

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(other_core)
        keys = identity.canonical_array(adjustment_id, job.id_prefix)
        if "adjustment_id" in have:
            invisible = identity.invisible_array(adjustment_id)
            rules.check_ids(adjustment_id, keys, invisible, ledger, out)
        last = amounts.parse(have, major.slice(split), minor.slice(split), exps.slice(split))
        parsed = amounts.joined(first.result(), last)
    if "currency" in have:
        rules.check_currency(currency, exps, out)
    standing += typed.check(out, currency, exps)
    amount_minor = amounts.check_amounts(out, have, col, currency, exps, parsed)
    direction = rules.check_direction(col("direction"), out, job.direction, "direction" in have)
    method = rules.check_methods(col("method"), direction, out, job.method, "method" in have)
    description = col("description")
    rules.check_description(description, out)
    metadata = rules.check_metadata(ledger, out, col)
    target = "amount" if "amount" in have else "amount_minor"
    amounts.check_limits(job, out, currency, direction, amount_minor, target, col(target))
    total = amounts.control_total(ledger, out, currency, amount_minor)
    return Validation(
        ledger=ledger,
        problems=in_order(_without_shadowed(out.problems, ledger, standing), ledger),
        valid=pc.invert(out.invalid),
        adjustment_id=adjustment_id,
        account=account,
        currency=currency,
        amount_minor=amount_minor,
        method=method,
        description=description,
        adjustment_key=keys,
        direction=direction,
        metadata=metadata,
        control_total=total,
    )


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
    return validation.flag(mask, "account", "bad_account", validation.account, rules.platform_word)


def check(job: Job, *, platform_id: str | None = None) -> Validation:
    """Read the job's ledger and validate it. A file that cannot be read at all gives a
    validation with that single problem and no rows, so every caller reports it the same way."""
    from ledgerrun.errors import LedgerFileError
    from ledgerrun.ingest.read import read_ledger

    try:
        ledger = read_ledger(job.ledger, job.columns, job.sheet)
    except LedgerFileError as exc:
        ledger = Ledger.empty(job.ledger)
        fix = getattr(exc, "fix", None)
        message = secret_cells.redacted(str(exc), secret_cells.key_in_use(job))
        problem = Problem.make(exc.row, exc.column, exc.code, "", message, fix=fix)
        validation = validate(ledger, job, platform_id=platform_id)
        validation.problems = [problem]
        return validation
    return validate(ledger, job, platform_id=platform_id)
