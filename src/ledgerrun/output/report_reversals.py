"""The run report's reversals section: the reversals made since the run, found in
``<results stem>.reversals.csv``, per account, currency and direction, with those that did not
succeed listed. Imported only for a run date that has reversals."""

from __future__ import annotations

from typing import NamedTuple

import pyarrow as pa

from ledgerrun import money
from ledgerrun.output.report_model import EXTRA_CUT, MESSAGE_CUT, REVERSED, ROW_CAP
from ledgerrun.vocab import shown


class ReversalLine(NamedTuple):
    account: str
    currency: str
    direction: str
    reversals: int  # succeeded
    reversed_minor: int
    not_reversed: int  # any other status


class ReversalRow(NamedTuple):
    row: int | None
    adjustment_id: str
    transfer_id: str
    account: str
    amount: str
    currency: str
    status: str
    error: str
    reason: str


class Reversals(NamedTuple):
    file: str
    lines: list[ReversalLine]
    problems: list[ReversalRow]
    total_problems: int


def reversals_view(found: pa.Table, results: pa.Table, file_name: str) -> Reversals:
    """Reversed amounts per account, currency and direction: those of the results row each
    reversal undoes (found by transfer id, else by row number)."""
    by_transfer: dict[str, tuple[str, str]] = {}
    by_row: dict[int, tuple[str, str]] = {}
    for r in results.select(["row", "transfer_id", "account", "direction"]).to_pylist():
        where = (str(r["account"]), str(r["direction"]))
        if r["transfer_id"]:
            by_transfer[r["transfer_id"]] = where
        if r["row"] is not None:
            by_row[int(r["row"])] = where
    sums: dict[tuple[str, str, str], list[int]] = {}
    problems: list[ReversalRow] = []
    total_problems = 0
    for r in found.to_pylist():
        cell = {k: "" if v is None else str(v) for k, v in r.items()}
        row = int(cell["row"]) if cell.get("row", "").isdigit() else None
        account, direction = by_transfer.get(cell.get("transfer_id", "")) or by_row.get(
            -1 if row is None else row, ("?", "")
        )
        currency = cell.get("currency", "").lower()
        into = sums.setdefault((account, currency, direction), [0, 0, 0])
        if cell.get("status") == REVERSED:
            into[0] += 1
            into[1] += _minor(cell.get("amount", ""), currency)
            continue
        into[2] += 1
        total_problems += 1
        if len(problems) < ROW_CAP:
            problems.append(
                ReversalRow(
                    row,
                    cell.get("adjustment_id", ""),
                    cell.get("transfer_id", ""),
                    account,
                    cell.get("amount", ""),
                    currency,
                    cell.get("status", ""),
                    shown(cell.get("error", ""), MESSAGE_CUT),
                    shown(cell.get("reason", ""), EXTRA_CUT),
                )
            )
    lines = [ReversalLine(*key, n, m, bad) for key, (n, m, bad) in sorted(sums.items())]
    return Reversals(file_name, lines, problems, total_problems)


def _minor(text: str, currency: str) -> int:
    """A reversal's amount (major units, as the results write them) in minor units; 0 when it
    cannot be read (the reversal still counts)."""
    try:
        return money.parse_major(text, money.exponent(currency))
    except (KeyError, ValueError, money.AmountError):
        return 0
