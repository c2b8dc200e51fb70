"""The results table: one row per ledger row, in ledger order, whatever became of it.

The normalised values ledgerrun acted on (the amount in major units as text, by the currency's
exponent, and in minor units), the outcome and its Stripe ids, then every other input column as
it was read. ``row``, ``amount_minor`` and ``attempts`` are int64 (``amount_minor`` null where
the amount was unreadable); every other column is text, never null, and ``completed_at`` is UTC
to the second. Writing it is :mod:`ledgerrun.output.results`' job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun import money
from ledgerrun.ingest.read import Ledger
from ledgerrun.output.results import COLLISION_PREFIX, RESULT_COLUMNS
from ledgerrun.send.outcomes import Outcomes
from ledgerrun.send.prepare import Prepared
from ledgerrun.vocab import STATUSES, RowOutcome

# Ledger columns already shown, normalised, among the fixed columns.
_REPRESENTED = frozenset(
    {"adjustment_id", "account", "currency", "amount", "method", "amount_minor", "direction"}
)
_TEXT_FIELDS = (
    *("transfer_id", "payment_id", "idempotency_key", "stripe_request_id"),
    *("error_code", "error_message"),
)


def results_table(prepared: Prepared, outcomes: Sequence[RowOutcome]) -> pa.Table:
    """One row per ledger row, in ledger order: the fixed columns, then the carried ones."""
    validation = prepared.validation
    ledger = validation.ledger
    kept = Outcomes.of(outcomes)
    status = _statuses(kept, ledger.num_rows)
    text = {
        name: pc.fill_null(kept.column(name.removeprefix("stripe_")), "") for name in _TEXT_FIELDS
    }
    completed = kept.column("completed_at")
    columns: dict[str, Any] = {
        "row": pc.cast(ledger.rows, pa.int64()),
        "adjustment_id": _text(validation.adjustment_id),
        "account": _text(validation.account),
        "currency": _text(validation.currency),
        "amount": major_text(validation.amount_minor, validation.currency),
        "amount_minor": pc.cast(validation.amount_minor, pa.int64()),
        "direction": pa.array(prepared.directions, pa.string()),
        "method": _text(validation.method),
        "status": status,
        **text,
        "attempts": kept.column("attempts"),
        "completed_at": _utc_text(completed),
        # what was reversed: filled in from the store (ledgerrun.send.records.overlay)
        "amount_reversed": pa.array([""] * ledger.num_rows, pa.string()),
        "reversal_ids": pa.array([""] * ledger.num_rows, pa.string()),
        "reversal_status": pa.array(["none"] * ledger.num_rows, pa.string()),
    }
    names = list(RESULT_COLUMNS)
    arrays = [columns[name] for name in names]
    taken = {name.lower() for name in names}
    for header, column in _carried(ledger):
        while header.lower() in taken:
            header = COLLISION_PREFIX + header
        taken.add(header.lower())
        names.append(header)
        arrays.append(_text(column))
    return pa.Table.from_arrays(arrays, names=names)


def _statuses(outcomes: Outcomes, rows: int) -> pa.ChunkedArray:
    if len(outcomes) != rows:
        raise ValueError(f"{len(outcomes)} outcomes for a ledger of {rows} rows")
    status = outcomes.column("status")
    unknown = pc.invert(pc.is_in(status, value_set=pa.array(STATUSES)))
    if pc.any(unknown).as_py():
        bad = pc.filter(status, unknown)[0].as_py()
        raise ValueError(f"unknown status {bad!r}; expected one of {', '.join(STATUSES)}")
    return status


def _text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if column.type != pa.string():
        column = pc.cast(column, pa.string())
    return pc.fill_null(column, "") if column.null_count else column


def _utc_text(times: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``2026-11-26T02:14:07Z``; casting is many times faster than ``strftime``."""
    seconds = pc.cast(times, pa.timestamp("s"), safe=False)  # UTC wall time, fraction dropped
    text = pc.utf8_replace_slice(pc.cast(seconds, pa.string()), start=10, stop=11, replacement="T")
    return pc.fill_null(pc.binary_join_element_wise(text, "Z", ""), "")


def _carried(ledger: Ledger) -> list[tuple[str, pa.ChunkedArray]]:
    """The input columns not represented above, as (header as written, column), in file order."""
    carried = []
    for where, name in ledger.order:
        if where == "table":
            if name not in _REPRESENTED:
                carried.append((ledger.headers.get(name, name), ledger.table.column(name)))
        else:
            carried.append((name, ledger.extras.column(name)))
    return carried


def major_text(minor: pa.Array | pa.ChunkedArray, currency: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Minor units as major-unit text by each row's currency (``127112``, usd -> ``1271.12``);
    empty where the amount or the currency is unknown."""
    minor = pc.cast(minor, pa.int64())
    if isinstance(minor, pa.ChunkedArray):
        minor = minor.combine_chunks()
    known = sorted(money.CURRENCY_EXPONENTS)
    found = pc.index_in(currency, value_set=pa.array(known, pa.string()))
    exponents = pa.array([money.CURRENCY_EXPONENTS[c] for c in known], pa.int8())
    exps = pc.fill_null(pc.take(exponents, found), -1)
    out = pa.nulls(len(minor), pa.string())
    for exp in (0, 2, 3):
        chosen = pc.and_(pc.equal(exps, exp), pc.is_valid(minor))
        if not pc.any(chosen).as_py():
            continue
        if exp == 0:
            text = pc.cast(minor, pa.string())
        else:
            scale = 10**exp
            whole = pc.cast(pc.divide(minor, scale), pa.string())
            part = pc.utf8_lpad(
                pc.cast(
                    pc.subtract(minor, pc.multiply(pc.divide(minor, scale), scale)), pa.string()
                ),
                exp,
                "0",
            )
            text = pc.binary_join_element_wise(whole, part, ".")
        out = pc.if_else(chosen, text, out)
    return pc.fill_null(out, "")
