"""Text a person reads: problems and plans, sized for a terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ledgerrun import money
from ledgerrun.ingest.validate import Validation
from ledgerrun.send.plan import Plan
from ledgerrun.vocab import Problem


def amount(minor: int, currency: str) -> str:
    """``150000, 'usd'`` -> ``'1,500.00 USD'``."""
    try:
        exp = money.exponent(currency)
    except KeyError:
        return f"{minor} (minor units) {currency.upper()}"
    return f"{money.format_major(minor, exp, grouping=True)} {currency.upper()}"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``plural(1, 'row')`` -> ``'1 row'``; ``plural(3, 'row')`` -> ``'3 rows'``."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def problems(items: Sequence[Problem], limit: int) -> list[str]:
    """Every problem in detail when there are few; when there are more than ``limit``, first a
    count per code with the rows it is on, then the first ``limit`` in detail."""
    lines: list[str] = []
    if len(items) > limit:
        rows_of: dict[str, list[int]] = {}
        for p in items:
            rows_of.setdefault(p.code, []).append(p.row)
        lines.append(f"  {'code':<26} {'count':>7}  rows")
        for code, rows in sorted(rows_of.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            first = ", ".join(str(r) for r in rows[:6]) + (", ..." if len(rows) > 6 else "")
            lines.append(f"  {code:<26} {len(rows):>7,}  {first}")
        if limit:
            lines.append(f"  The first {limit}:")
    for p in items[:limit]:
        where = f"row {p.row}" + (f", column {p.column}" if p.column else "")
        shown = f" {p.value!r}" if p.value else ""
        lines.append(f"  {where}:{shown} [{p.code}]")
        lines.append(f"      {p.message}")
        lines.append(f"      What to do: {p.fix}")
    if len(items) > limit:
        lines.append(f"  ... and {len(items) - limit:,} more; --format json lists them all.")
    return lines


def validation(result: Validation, limit: int) -> str:
    name = result.ledger.path.name
    note = ""
    total = result.control_total
    if total is not None and total.matches:
        currency = f" {total.currency.upper()}" if total.currency else ""
        note = f" The totals line (row {total.row}) matches the rows: {total.computed}{currency}."
    if result.ok:
        return f"{name}: {plural(result.rows, 'row')}, all valid.{note}"
    bad_rows = len({p.row for p in result.problems if p.row != result.header_row})
    head = (
        f"{name}: {plural(result.rows, 'row')}, {plural(len(result.problems), 'problem')}"
        + (f" on {plural(bad_rows, 'row')}" if bad_rows else "")
        + ". Nothing is sent while a ledger has problems (unless the job skips invalid rows)."
        + note
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


NEXT_STEPS = {
    "failed": "{n} failed at Stripe (see error_code): fix the cause, then run the job again; "
    "failed rows are retried with a new idempotency key.",
    "unknown": "{n} sent with the outcome unknown: run the job again to settle them; it never "
    "debits them twice.",
    "invalid": "{n} invalid: fix them in the ledger (ledgerrun validate lists them), then run "
    "again.",
    "skipped": "{n} skipped (see error_code): the run did not send them.",
}


def run_report(report: Any) -> str:
    """The closing summary of ``ledgerrun run``: by status, by currency, where the files are,
    and what to do next."""
    s = report.summary
    counts = s["counts"]
    title = f"Run {s['run_id']} of job {s['job']}" + (
        " (dry run: nothing sent)" if s["dry_run"] else ""
    )
    lines = [title, ""]
    lines.append(f"  {'status':<10} {'rows':>9}")
    for status, count in counts.items():
        lines.append(f"  {status:<10} {count:>9,}")
    lines.append(f"  {'total':<10} {s['rows']:>9,}")
    if s["totals"]:
        names = ("requested", "succeeded", "failed", "unknown", "skipped")
        shown = [n for n in names if any(t.get(n) for t in s["totals"].values())] or ["requested"]
        lines += ["", "  " + f"{'currency':<9}" + "".join(f"{n:>20}" for n in shown)]
        for currency, totals in s["totals"].items():
            exp = _exponent(currency)
            cells = "".join(
                f"{money.format_major(totals.get(n, 0), exp, grouping=True):>20}" for n in shown
            )
            lines.append(f"  {currency.upper():<9}{cells}")
    lines += ["", f"Results: {report.results_path}", f"Summary: {report.summary_path}"]
    if getattr(report, "report_path", None):
        lines.append(f"Report:  {report.report_path}")
    next_steps = [
        template.format(n=plural(counts[status], "row"))
        for status, template in NEXT_STEPS.items()
        if counts.get(status) and not (status == "skipped" and s["dry_run"])
    ]
    lines += [f"Next: {step}" for step in next_steps] or ["Next: nothing; every row is done."]
    lines.extend(f"Note: {note}" for note in report.notes)
    return "\n".join(lines)


def _exponent(currency: str) -> int:
    try:
        return money.exponent(currency)
    except KeyError:
        return 0


def status_json(job: Any, runs: Sequence[Any], counts: dict[str, int]) -> dict[str, Any]:
    from ledgerrun.clock import iso

    return {
        "job": job.name,
        "journal": str(job.journal),
        "counts": counts,
        "runs": [
            {
                "run_id": r.run_id,
                "started_at": iso(r.started_at),
                "ended_at": iso(r.ended_at),
                "rows": r.rows,
                "dry_run": r.dry_run,
                "exit_code": r.exit_code,
                "counts": r.counts,
            }
            for r in runs
        ],
    }


def status_text(job: Any, runs: Sequence[Any], counts: dict[str, int]) -> str:
    from ledgerrun.clock import iso

    lines = [f"Job {job.name}, journal {job.journal}"]
    states = ", ".join(f"{state} {n:,}" for state, n in sorted(counts.items())) or "none yet"
    lines.append(f"Adjustments: {states}")
    lines.append(f"{'run':<26} {'started':<21} {'ended':<21} {'rows':>7} {'exit':>4}  outcome")
    for r in runs:
        ended = iso(r.ended_at) if r.ended_at else "(did not finish)"
        outcome = ", ".join(f"{k} {v}" for k, v in (r.counts or {}).items() if v)
        exit_code = "" if r.exit_code is None else str(r.exit_code)
        lines.append(
            f"{r.run_id:<26} {iso(r.started_at):<21} {ended:<21} {r.rows:>7,} {exit_code:>4}  "
            f"{'dry run: ' if r.dry_run else ''}{outcome}"
        )
    return "\n".join(lines)


def reconciliation(report: Any, report_path: Any, limit: int) -> str:
    """What reconcile found, and where the full list is."""
    head = (
        f"Reconciled {report.results_path.name} with Stripe: "
        f"{plural(report.checked, 'succeeded row')} checked, "
        f"{plural(report.debits, 'debit')} of job {report.job} found."
    )
    if report.clean:
        return f"{head}\nEverything agrees: no missing, mismatched, duplicate or orphan debit."
    counts = Counter(d.kind for d in report.discrepancies)
    lines = [
        head,
        f"{plural(len(report.discrepancies), 'discrepancy', 'discrepancies')}: "
        + ", ".join(f"{n} {kind}" for kind, n in counts.most_common()),
    ]
    for d in report.discrepancies[:limit]:
        lines.append(
            f"  [{d.kind}] adjustment {d.adjustment_id or '(none)'} on {d.account}: "
            f"{d.transfer_id} {d.payment_id} - {d.detail}"
        )
        lines.append(f"      What to do: {d.next_step}")
    if len(report.discrepancies) > limit:
        lines.append(f"  ... and {len(report.discrepancies) - limit} more.")
    lines.append(f"Report: {report_path}")
    return "\n".join(lines)
