"""Text a person reads: problems and plans, sized for a terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ledgerrun import money
from ledgerrun.plan import Plan
from ledgerrun.problems import Problem
from ledgerrun.validate import Validation


def amount(minor: int, currency: str) -> str:
    """``150000, 'usd'`` -> ``'1,500.00 USD'``."""
    try:
        exp = money.exponent(currency)
    except KeyError:
        return f"{minor} (minor units) {currency.upper()}"
    return f"{money.format_major(minor, exp, grouping=True)} {currency.upper()}"


def plural(count: int, noun: str) -> str:
    """``plural(1, 'row')`` -> ``'1 row'``; ``plural(3, 'row')`` -> ``'3 rows'``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def problems(items: Sequence[Problem], limit: int) -> list[str]:
    """The first ``limit`` problems, one block each, then a count of the rest by code."""
    lines: list[str] = []
    for p in items[:limit]:
        where = f"row {p.row}" + (f", column {p.column}" if p.column else "")
        shown = f" {p.value!r}" if p.value else ""
        lines.append(f"  {where}:{shown} [{p.code}]")
        lines.append(f"      {p.message}")
        lines.append(f"      What to do: {p.fix}")
    rest = items[limit:]
    if rest:
        counts = Counter(p.code for p in rest)
        summary = ", ".join(f"{count} {code}" for code, count in counts.most_common())
        lines.append(f"  ... and {len(rest)} more ({summary}); --format json lists them all.")
    return lines


def validation(result: Validation, limit: int) -> str:
    name = result.ledger.path.name
    if result.ok:
        return f"{name}: {plural(result.rows, 'row')}, all valid."
    bad_rows = len({p.row for p in result.problems if p.row != 1})
    head = (
        f"{name}: {plural(result.rows, 'row')}, {plural(len(result.problems), 'problem')}"
        + (f" on {plural(bad_rows, 'row')}" if bad_rows else "")
        + ". Nothing is sent while a ledger has problems (unless the job skips invalid rows)."
    )
    return "\n".join([head, *problems(result.problems, limit)])


def plan(result: Plan, limit: int) -> str:
    v = result.validation
    lines = [validation(v, limit), ""]
    if not result.groups:
        lines.append("No valid rows: a run would send nothing.")
        return "\n".join(lines)
    has_balance = any(g.available is not None for g in result.groups)
    header = f"{'account':<28} {'cur':<4} {'rows':>6} {'total':>20} {'done':>6} {'to do':>6}"
    lines.append(header + (f" {'available':>20}" if has_balance else ""))
    for g in result.groups:
        line = (
            f"{g.account:<28} {g.currency.upper():<4} {g.rows:>6} "
            f"{amount(g.amount_minor, g.currency):>20} {g.done:>6} {g.todo:>6}"
        )
        if g.available is not None:
            line += f" {amount(g.available, g.currency):>20}"
            if g.short:
                line += "  ! balance short of what is left"
        lines.append(line)
    lines.append("")
    todo = sum(g.todo for g in result.groups)
    totals = ", ".join(amount(total, cur) for cur, total in result.totals.items())
    lines.append(
        f"{plural(len(result.groups), 'account group')}, {plural(todo, 'debit')} to send. "
        f"Totals: {totals}."
    )
    short = [g for g in result.groups if g.short]
    if short:
        lines.append(
            f"Warning: {len(short)} account(s) lack the available balance for what is left; "
            "those debits would fail with balance_insufficient."
        )
    return "\n".join(lines)
