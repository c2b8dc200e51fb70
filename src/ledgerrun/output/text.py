"""Text a person reads: problems, plans, run summaries, status and reconcile verdicts, sized for
a terminal. Every value that came from a ledger is cut and has its control characters escaped
before it is shown (:func:`shown`). Nothing here imports a stage: it renders what it is given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ledgerrun.clock import iso
from ledgerrun.errors import ExitCode
from ledgerrun.job import redact_location
from ledgerrun.scrub import scrub
from ledgerrun.vocab import RUN_NEXT_STEPS, Problem, money_text

SHOWN_CUT = 80


def amount(minor: int, currency: str) -> str:
    """``150000, 'usd'`` -> ``'1,500.00 USD'``."""
    return money_text(minor, currency)


def shown(value: object, cut: int = SHOWN_CUT) -> str:
    """A value from a ledger as a terminal may show it: cut, control characters escaped."""
    text = scrub(str(value))
    return text if len(text) <= cut else text[: cut - 1] + "…"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``plural(1, 'row')`` -> ``'1 row'``; ``plural(3, 'row')`` -> ``'3 rows'``."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def counted(found: Sequence[tuple[str, int]], limit: int) -> list[str]:
    """When more than ``limit`` things were found (code, row), a count per code with the rows
    it is on, to head the first ``limit`` listed one by one; nothing when they all fit."""
    if len(found) <= limit:
        return []
    rows_of: dict[str, list[int]] = {}
    for code, row in found:
        rows_of.setdefault(code, []).append(row)
    lines = [f"  {'code':<26} {'count':>7}  rows"]
    for code, rows in sorted(rows_of.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        first = ", ".join(str(r) for r in rows[:6]) + (", ..." if len(rows) > 6 else "")
        lines.append(f"  {code:<26} {len(rows):>7,}  {first}")
    if limit:
        lines.append(f"  The first {limit}:")
    return lines


def problems(items: Sequence[Problem], limit: int) -> list[str]:
    """Every problem in detail when there are few; when there are more than ``limit``, first a
    count per code with the rows it is on, then the first ``limit`` in detail."""
    lines = counted([(p.code, p.row) for p in items], limit)
    for p in items[:limit]:
        where = f"row {p.row}" + (f", column {shown(p.column, 40)}" if p.column else "")
        value = f" '{shown(p.value)}'" if p.value else ""
        lines.append(f"  {where}:{value} [{p.code}]")
        lines.append(f"      {shown(p.message, 400)}")
        lines.append(f"      What to do: {p.fix}")
    if len(items) > limit:
        lines.append(f"  ... and {len(items) - limit:,} more; --format json lists them all.")
    return lines


def validation(result: Any, limit: int) -> str:
    name = shown(result.ledger.path.name)
    note = ""
    total = getattr(result, "control_total", None)
    if total is not None and total.matches:
        currency = f" {total.currency.upper()}" if total.currency else ""
        if total.basis == "sum":
            note = (
                f" The totals line (row {total.row}) matches the rows: {total.computed}{currency}."
            )
        elif total.basis == "columns":
            note = (
                f" The totals line (row {total.row}) matches the rows' debits {total.debits} and "
                f"credits {total.credits}{currency}."
            )
        else:
            how = "less" if total.basis == "net" else "plus"
            note = (
                f" The totals line (row {total.row}) matches the rows' {total.basis}: "
                f"{total.computed}{currency} (debits {total.debits} {how} credits "
                f"{total.credits})."
            )
    elif total is not None and not total.checked:
        note = f" The totals line (row {total.row}) was {total.describe()}."
    if result.ok:
        return f"{name}: {plural(result.rows, 'row')}, all valid.{note}"
    header = int(getattr(result, "header_row", 1) or 1)
    bad_rows = len({p.row for p in result.problems if p.row != header})
    head = (
        f"{name}: {plural(result.rows, 'row')}, {plural(len(result.problems), 'problem')}"
        + (f" on {plural(bad_rows, 'row')}" if bad_rows else "")
        + ". Nothing is sent while a ledger has problems (unless the job skips invalid rows)."
        + note
    )
    return "\n".join([head, *problems(result.problems, limit)])


def plan(result: Any, limit: int) -> str:
    prepared = result.prepared
    lines = [validation(prepared.validation, limit), ""]
    control = getattr(prepared.validation, "control_total", None)
    if control is not None:
        lines.append(f"Control total on row {control.row}: {control.describe()}.")
    if prepared.job.consent_registry is None:
        lines.append("Consent: not checked (the job names no [consent] registry).")
    else:
        lines.append(f"Consent: checked against {prepared.job.consent_registry.name}.")
    if not result.groups:
        lines.append("No valid rows: a run would send nothing.")
        return "\n".join(lines)
    has_balance = any(g.available is not None for g in result.groups)
    header = (
        f"{'account':<24} {'direction':<9} {'cur':<4} {'rows':>6} {'total':>20} {'done':>6} "
        f"{'to do':>6}"
    )
    lines.append(header + (f" {'available':>20}" if has_balance else ""))
    for g in result.groups:
        line = (
            f"{shown(g.account, 24):<24} {g.direction:<9} {g.currency.upper():<4} {g.rows:>6,} "
            f"{amount(g.amount_minor, g.currency):>20} {g.done:>6,} {g.todo:>6,}"
        )
        if g.available is not None:
            line += f" {amount(g.available, g.currency):>20}"
            if g.short:
                by = amount(g.shortfall_minor, g.currency)
                line += f"  ! short by {by}; fails unless reserves cover it"
        lines.append(line)
    lines.append("")
    todo = sum(g.todo for g in result.groups)
    lines.append(f"{plural(len(result.groups), 'group')}, {plural(todo, 'row')} to send.")
    if result.totals:
        lines.append("Debits:  " + ", ".join(amount(t, c) for c, t in result.totals.items()))
    if result.credit_totals:
        lines.append("Credits: " + ", ".join(amount(t, c) for c, t in result.credit_totals.items()))
        lines.append("Net:     " + ", ".join(amount(t, c) for c, t in result.net.items()))
    short = [g for g in result.groups if g.short]
    if short:
        lines.append(
            f"Warning: {plural(len(short), 'account')} "
            f"{'lacks' if len(short) == 1 else 'lack'} the available balance for what is left; "
            "those debits fail with balance_insufficient unless reserves cover them."
        )
    for currency, missing in result.credits_short().items():
        lines.append(
            f"Warning: the platform's available {currency.upper()} balance is short of the "
            f"credits left by {amount(missing, currency)}; they would fail."
        )
    lines.extend(f"Warning: {w}" for w in prepared.warnings)
    return "\n".join(lines)


def run_report(result: Any) -> str:
    """The closing summary of ``ledgerrun run``: by status, by currency and direction, where the
    files are, and what to do next."""
    s = result.summary
    counts = s.counts
    title = f"Run {s.run_id} of job {s.job} ({s.mode}, run date {s.run_date})" + (
        " (dry run: nothing sent)" if s.dry_run else ""
    )
    lines = [title, ""]
    lines.append(f"  {'status':<10} {'rows':>9}")
    for status, n in counts.items():
        lines.append(f"  {status:<10} {n:>9,}")
    lines.append(f"  {'total':<10} {s.rows:>9,}")
    if s.done_earlier:
        lines.append(
            f"  ({plural(s.done_earlier, 'row')} found done earlier: nothing sent for them)"
        )
    if s.totals:
        names = ("requested", "succeeded", "failed", "unknown", "skipped")
        present = [
            n for n in names if any(t.get(n) for d in s.totals.values() for t in d.values())
        ] or ["requested"]
        lines += [
            "",
            "  " + f"{'currency':<9}{'direction':<10}" + "".join(f"{n:>20}" for n in present),
        ]
        for currency, by_direction in s.totals.items():
            for direction, totals in by_direction.items():
                cells = "".join(
                    f"{amount(totals.get(n, 0), currency).rsplit(' ', 1)[0]:>20}" for n in present
                )
                lines.append(f"  {currency.upper():<9}{direction:<10}{cells}")
    out = result.outputs
    if getattr(result, "refused", False):
        lines += [
            "",
            f"Refused: nothing was sent. Each row and its problems: {out.results}",
            f"The run date's results are as they were: {result.job.results}",
        ]
    else:
        lines += [
            "",
            f"Results: {out.results}",
            f"Summary: {out.summary}",
            f"Report:  {out.report}",
        ]
        written = getattr(result, "written", None)
        view = written.summary if written is not None else None
        if view and view.get("rows", s.rows) != s.rows:
            lines.append(
                f"  (the results hold the run date's {view['rows']:,} rows: this ledger's "
                f"{s.rows:,} and {view.get('not_in_ledger', 0):,} sent from other ledgers)"
            )
    next_steps = [
        template.format(n=plural(counts[status], "row"))
        for status, template in RUN_NEXT_STEPS.items()
        if counts.get(status) and not (status == "skipped" and s.dry_run)
    ]
    if s.dry_run:
        next_steps.append("nothing was sent (dry run); run without --dry-run to send.")
    done = ["nothing; every row is done."] if result.exit_code == ExitCode.OK else []
    lines += [f"Next: {step}" for step in next_steps or done]
    lines.extend(f"Note: {shown(note, 400)}" for note in result.notes)
    return "\n".join(lines)


def status_json(
    job: Any, runs: Sequence[Any], counts: dict[str, dict[str, int]], holder: Any
) -> dict[str, Any]:
    return {
        "job": job.name,
        "journal": redact_location(job.store_location),
        "running": holder,
        "dates": counts,
        "runs": [
            {
                "run_id": r.run_id,
                "kind": r.kind,
                "run_date": r.run_date,
                "ledger": r.ledger_path,
                "mode": r.mode,
                "user": r.username,
                "host": r.host,
                "started_at": iso(r.started_at),
                "ended_at": iso(r.ended_at),
                "rows": r.rows,
                "dry_run": r.dry_run,
                "exit_code": r.exit_code,
                "state": _state(r, holder),
                "counts": r.counts,
            }
            for r in runs
        ],
    }


def _state(run: Any, holder: Any) -> str:
    if run.ended_at is not None:
        return "finished"
    if holder and holder.get("pid") == run.pid and holder.get("host") == run.host:
        return "running"
    return "did not finish"


def status_text(
    job: Any,
    runs: Sequence[Any],
    counts: dict[str, dict[str, int]],
    holder: Any,
    reversals: dict[str, dict[str, int]] | None = None,
    reversed_minor: dict[str, dict[str, int]] | None = None,
) -> str:
    """``status``: the lock, the adjustments of each run date by state (and what was reversed
    of that date, in major units), the reversals by state, and the runs."""
    lines = [f"Job {job.name}, journal {redact_location(job.store_location)}"]
    reversed_minor = reversed_minor or {}
    if holder:
        lines.append(
            f"Running now: pid {holder.get('pid', '?')} on {holder.get('host', '?')} since "
            f"{holder.get('since', '?')}."
        )
    if counts or reversed_minor:
        lines.append("Adjustments by run date:")
        for date in sorted(set(counts) | set(reversed_minor)):
            states = counts.get(date, {})
            shown_states = ", ".join(f"{state} {n:,}" for state, n in sorted(states.items()))
            given_back = reversed_minor.get(date)
            if given_back:
                money = ", ".join(amount(v, c) for c, v in given_back.items())
                shown_states += ("; " if shown_states else "") + f"reversed {money}"
            lines.append(f"  {date}  {shown_states}")
    for state, amounts in sorted((reversals or {}).items()):
        money = ", ".join(amount(v, c) for c, v in sorted(amounts.items()) if c != "count")
        lines.append(f"Reversals {state}: {amounts.get('count', 0):,} ({money})")
    lines.append("")
    lines.append(
        f"{'run':<25} {'date':<10} {'kind':<7} {'mode':<7} {'by':<20} {'started':<20} "
        f"{'rows':>7} {'exit':>4}  ledger / outcome"
    )
    for r in runs:
        state = _state(r, holder)
        exit_code = str(r.exit_code) if r.exit_code is not None else state
        outcome = ", ".join(f"{k} {v}" for k, v in (r.counts or {}).items() if v)
        who = f"{r.username}@{r.host}" if r.host else "-"
        kind = "dry" if r.dry_run else r.kind
        lines.append(
            f"{r.run_id:<25} {r.run_date:<10} {kind:<7} {r.mode or '-':<7} {shown(who, 20):<20} "
            f"{iso(r.started_at):<20} {r.rows:>7,} {exit_code:>4}  "
            f"{shown(r.ledger_path.rsplit('/', 1)[-1], 40)}  {outcome}"
        )
    return "\n".join(lines)


def reconciliation(report: Any, report_path: Any, limit: int) -> str:
    """What reconcile found, and where the full list is."""
    scope = "every run date" if report.scope == "all" else f"run date {report.scope}"
    head = (
        f"Reconciled job {report.job}, {scope}, with Stripe: "
        f"{plural(report.checked, 'succeeded row')} checked, "
        f"{plural(report.objects, 'object')} of the transfer group found."
    )
    if report.other_dates:
        head += f" ({plural(report.other_dates, 'object')} of other run dates: not discrepancies.)"
    if report.clean:
        return (
            f"{head}\nEverything agrees: nothing missing, mismatched, doubled or unaccounted for."
        )
    kinds = Counter(d.kind for d in report.discrepancies)
    lines = [
        head,
        f"{plural(len(report.discrepancies), 'discrepancy', 'discrepancies')}: "
        + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()),
    ]
    for d in report.discrepancies[:limit]:
        lines.append(
            f"  [{d.kind}] adjustment {shown(d.adjustment_id) or '(none)'} on {d.account}: "
            f"{d.transfer_id} {d.payment_id} - {shown(d.detail, 300)}"
        )
        lines.append(f"      What to do: {d.next_step}")
    if len(report.discrepancies) > limit:
        lines.append(f"  ... and {len(report.discrepancies) - limit} more.")
    lines.append(f"Report: {report_path}")
    return "\n".join(lines)


def reversal_report(result: Any, limit: int = 50) -> str:
    """The closing summary of ``ledgerrun reverse``: the reversals that did not succeed listed
    one by one up to ``limit`` (beyond it, first counted per code, as ``validate`` does)."""
    counts = Counter(line.status for line in result.lines)
    head = f"Reversals {result.run_id} of job {result.job.name} (run date {result.job.run_date})"
    lines = [head + (" (dry run: nothing reversed)" if result.dry_run else ""), ""]
    for status in ("succeeded", "failed", "invalid", "skipped", "unknown"):
        lines.append(f"  {status:<10} {counts.get(status, 0):>9,}")
    earlier = sum(1 for line in result.lines if line.earlier)
    if earlier:
        lines.append(f"  ({plural(earlier, 'reversal')} done earlier: nothing sent for them)")
    if result.totals:
        reversed_now = ", ".join(amount(t, c) for c, t in sorted(result.totals.items()))
        would = sum(1 for line in result.lines if line.error_code == "dry_run")
        if result.dry_run:
            lines.append(f"Would reverse {plural(would, 'adjustment')}: {reversed_now}")
        else:
            lines.append(f"Reversed now: {reversed_now}")
    bad = [line for line in result.lines if line.status in ("failed", "invalid", "unknown")]
    lines += counted([(line.error_code or line.status, line.request.row) for line in bad], limit)
    for line in bad[:limit]:
        lines.append(
            f"  row {line.request.row} {shown(line.request.adjustment_id)}: {line.status} "
            f"[{line.error_code}] {shown(line.error, 300)}"
        )
    if len(bad) > limit:
        lines.append(f"  ... and {len(bad) - limit:,} more; the reversals file lists them all.")
    lines += [f"Warning: {w}" for w in result.warnings]
    lines += ["", f"Results: {result.results_path}", f"Summary: {result.summary_path}"]
    return "\n".join(lines)
