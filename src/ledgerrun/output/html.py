"""The run report: a single HTML page, next to the results file, for the people who check a run.

It says in one coloured sentence how the run ended, then gives the counts and the money by status
and currency, a bar chart per currency of who was debited how much, every row that needs a person
(with what that person should do), and whether ``ledgerrun reconcile`` has checked the run
against Stripe yet. The page holds its own styles and drawings and refers to nothing else, so it
can be mailed, archived or printed as it is. Ledgers come from outside: every value taken from the
data goes through ``html.escape`` before it reaches the page.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

import ledgerrun
from ledgerrun.output.results import atomic_write, read_results, summary_path
from ledgerrun.output.text import amount, plural
from ledgerrun.vocab import FAILED, FIXES, INVALID, SKIPPED, STATUSES, SUCCEEDED, UNKNOWN

Json = dict[str, Any]  # a summary, or the summary reconcile writes, as read from JSON
REPORT_SUFFIX = ".report.html"
RECONCILE_SUFFIX = ".reconcile.json"
ROW_CAP = 200
TOP_ACCOUNTS = 10
EXIT_MEANINGS = {
    0: "every row succeeded",
    1: "some rows failed or were left out",
    2: "nothing sent: the input is invalid",
    3: "some outcomes are unknown: run the job again",
    4: "another run holds the lock",
}
UNKNOWN_FIX = "Run the job again: it settles this row without debiting twice."
STRIPE_FIXES = {
    "balance_insufficient": "Balance too low: wait for funds or lower the amount, then run again.",
    "account_invalid": "The platform cannot debit this account: check its id and connection.",
    "currency_mismatch": "Debit in the account's default currency, or one it holds a balance in.",
    "network_error": "Stripe could not be reached: run the job again (no row is debited twice).",
    "api_error": "Stripe had an internal error: run the job again later.",
    "rate_limit": "Stripe was too busy: run the job again, or lower [stripe] rate_limit.",
    "amount_too_small": "The amount is below Stripe's minimum for the currency: correct the row.",
    "amount_too_large": "The amount is above Stripe's maximum for the currency: split the row.",
    "transfers_not_allowed": "The account cannot make transfers: use method 'charge' instead.",
}
FAILED_FIX = "Look the request id up in the Stripe dashboard, fix the cause, then run again."
INVALID_FIX = "Correct the row in the ledger (ledgerrun validate lists them all), then run again."
OTHER_SKIP = "See error_message in the results file."
SKIP_FIXES = {
    "aborted": "Fix the invalid rows, or run with --skip-invalid.",
    "dry_run": "Run without --dry-run to send them.",
    "stopped": "Run the job again to send the rest.",
    "account_check_unavailable": "Stripe did not answer the account check: run the job again.",
    **FIXES,
}
BAR_STATUSES = (SUCCEEDED, FAILED, UNKNOWN, SKIPPED)
COLOURS: dict[str, str] = {
    SUCCEEDED: "#1a7f37",
    FAILED: "#d4860b",
    INVALID: "#8250df",
    UNKNOWN: "#cf222e",
}
COLOURS[SKIPPED] = "#8c959f"
CSS = """
*{box-sizing:border-box}body{margin:0;background:#f6f8fa;color:#1f2328;
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
-webkit-print-color-adjust:exact;print-color-adjust:exact}main{max-width:1080px;margin:0 auto;
padding:24px 16px}h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0 0 12px}
h3{font-size:15px;margin:16px 0 6px}section,header{background:#fff;border:1px solid #d0d7de;
border-radius:8px;padding:18px 20px;margin:0 0 16px}.muted{color:#59636e}
.mono,code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.92em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:12px 0 0}
dt{color:#59636e}dd{margin:0;overflow-wrap:anywhere}.verdict{font-size:26px;font-weight:650;
line-height:1.25;margin:14px 0 0;padding:12px 16px;border-radius:6px;border-left:8px solid}
.v-green{color:#116329;background:#dafbe1;border-color:#1a7f37}.v-amber{color:#7d4e00;
background:#fff8c5;border-color:#d4a72c}.v-red{color:#a40e26;background:#ffebe9;
border-color:#cf222e}.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 16px}
.tile{flex:1 1 96px;border:1px solid #d0d7de;border-top:6px solid;border-radius:6px;
padding:8px 12px}.tile .n{display:block;font-size:26px;font-weight:650;
font-variant-numeric:tabular-nums}.scroll{overflow-x:auto}table{border-collapse:collapse;
width:100%;font-size:14px}th,td{text-align:left;vertical-align:top;padding:6px 8px;
border-bottom:1px solid #d8dee4}th{font-weight:600;background:#f6f8fa}td{overflow-wrap:anywhere}
td.mono{white-space:nowrap}td.adj{white-space:normal;min-width:22ch}.zero{color:#8c959f}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.legend{display:flex;
flex-wrap:wrap;gap:4px 16px;font-size:13px;margin:0 0 6px}.sw{display:inline-block;width:12px;
height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}svg.chart{display:block;
max-width:760px;overflow:visible}.more{margin:8px 0 0;color:#59636e}footer{color:#59636e;
font-size:13px;text-align:center;padding:4px 0 24px}.verdict.sm{font-size:17px}
@media (max-width:640px){main{padding:10px 6px}.verdict{font-size:21px}
section,header{padding:14px 12px}.cards tr:first-child{display:none}
.cards,.cards tbody,.cards tr,.cards td{display:block;width:auto}
.cards tr{border-bottom:1px solid #d8dee4;padding:6px 0}.cards td{border:0;padding:2px 0;
text-align:left;white-space:normal}.cards td::before{content:attr(data-label) ": ";color:#59636e;
font:600 13px system-ui,sans-serif}}@media print{body{background:#fff;font-size:11pt}
main{max-width:none;padding:0}section,header{border:none;padding:8px 0;break-inside:avoid-page}
.scroll{overflow:visible}tr{break-inside:avoid}}
"""


def report_path(results_path: Path) -> Path:
    """``out/x.results.csv`` -> ``out/x.results.csv.report.html``."""
    return results_path.with_name(results_path.name + REPORT_SUFFIX)


def write_report(
    results_path: Path, summary: Json, table: pa.Table, reconciliation: Json | None = None
) -> Path:
    """Render the report and write it beside the results file, atomically; return its path."""
    path = report_path(results_path)
    data = render(summary, table, reconciliation).encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))
    return path


def refresh_report(results_path: Path) -> Path | None:
    """Render the report again from the files on disk (reconcile calls this once it knows its
    verdict); ``None`` when there is no summary to render from."""
    summary_file = summary_path(results_path)
    if not summary_file.exists():
        return None
    summary = report_view(json.loads(summary_file.read_text(encoding="utf-8")))
    found = results_path.with_name(results_path.name + RECONCILE_SUFFIX)
    reconciliation = json.loads(found.read_text(encoding="utf-8")) if found.exists() else None
    return write_report(results_path, summary, read_results(results_path), reconciliation)


def report_view(summary: Json) -> Json:
    """The summary as the report reads it: totals per currency and status, both directions."""
    view = dict(summary)
    flat: dict[str, dict[str, int]] = {}
    for currency, by_direction in (summary.get("totals") or {}).items():
        into = flat.setdefault(currency, {})
        for by_status in by_direction.values():
            for status, minor in by_status.items():
                into[status] = into.get(status, 0) + int(minor)
    view["totals"] = flat
    return view


def render(summary: Json, table: pa.Table, reconciliation: Json | None = None) -> str:
    """The whole page, as text."""
    sections = [
        _header(summary),
        _totals(summary),
        _charts(table),
        _rows(table, FAILED, "Failed rows", "Stripe refused these debits; no money moved."),
        _rows(table, UNKNOWN, "Rows with an unknown outcome", "Sent, but no answer came back."),
        _rows(table, INVALID, "Invalid rows", "Not sent: the ledger has problems on these rows."),
        _skipped(table),
        _reconciled(summary, reconciliation),
    ]
    name = Path(str(summary.get("results") or "results")).name
    version = summary.get("version") or ledgerrun.__version__
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>ledgerrun report: {_e(summary.get('job'))} {_e(summary.get('run_id'))}</title>"
        f"<style>{CSS}</style></head><body><main>{''.join(sections)}<footer>Results file "
        f'<span class="mono">{_e(name)}</span> · ledgerrun {_e(version)}</footer>'
        "</main></body></html>\n"
    )


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _when(stamp: object) -> str:
    return _e(str(stamp or "?").replace("T", " ").replace("Z", " UTC"))


def _header(s: Json) -> str:
    code: Any = s.get("exit_code")
    sha = str(s.get("ledger_sha256") or "")
    sha_html = f'<span class="mono" title="{_e(sha)}">{_e(sha[:12])}…</span>' if sha else "unread"
    sending = s.get("sending") or {}
    items = [
        ("Run", f'<span class="mono">{_e(s.get("run_id"))}</span>'),
        ("Started", _when(s.get("started_at"))),
        ("Ended", _when(s.get("ended_at"))),
        ("Ledger", f'<span class="mono">{_e(s.get("ledger"))}</span>'),
        ("Ledger SHA-256", sha_html),
        ("Dry run", "yes: nothing was sent" if s.get("dry_run") else "no"),
        ("Exit code", f"{_e(code)}: {_e(EXIT_MEANINGS.get(code, 'not a known exit code'))}"),
    ]
    if sending.get("rows"):
        seconds = float(sending.get("seconds") or 0)
        items.append(("Sending", f"{sending['rows']:,} rows in {seconds:.1f} s"))
    colour, sentence = _verdict(s)
    details = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    return (
        f"<header><h1>Run report: job {_e(s.get('job'))}</h1><dl>{details}</dl>"
        f'<p class="verdict v-{colour}" id="verdict">{_e(sentence)}</p></header>'
    )


def _verdict(s: Json) -> tuple[str, str]:
    counts = {k: int(v) for k, v in (s.get("counts") or {}).items()}
    rows, done, code = sum(counts.values()), counts.get(SUCCEEDED, 0), s.get("exit_code")
    if code == 4:
        return "red", "Not run: another run of this job holds the lock."
    if code == 2:
        return "red", f"Nothing was sent: {plural(counts.get(INVALID, 0), 'invalid row')}."
    if counts.get(UNKNOWN) or code == 3:
        unknown = plural(counts.get(UNKNOWN, 0), "row")
        return "red", f"{unknown} with an unknown outcome: run the job again."
    if s.get("dry_run"):
        return ("amber" if code else "green"), f"Dry run of {plural(rows, 'row')}: nothing sent."
    if code == 0 and done == rows:
        return "green", f"All {plural(rows, 'row')} succeeded."
    left = ", ".join(f"{counts[k]:,} {k}" for k in (FAILED, SKIPPED, INVALID) if counts.get(k))
    return "amber", f"{done:,} of {plural(rows, 'row')} succeeded; {left or 'see below'}."


def _totals(s: Json) -> str:
    counts = s.get("counts") or {}
    tiles = "".join(
        f'<div class="tile" data-status="{k}" style="border-top-color:{COLOURS[k]}">'
        f'<span class="n">{int(counts.get(k, 0)):,}</span>{k}</div>'
        for k in STATUSES
    )
    names = ("requested", SUCCEEDED, FAILED, UNKNOWN, SKIPPED)
    rows = [
        [f"<strong>{_e(cur.upper())}</strong>", *(_money(int(t.get(n, 0)), cur) for n in names)]
        for cur, t in sorted((s.get("totals") or {}).items())
    ]
    columns = [("Currency", ""), *((n, "num") for n in names)]
    money = _table(columns, rows, 'id="currency-totals"') if rows else "<p>No valid amounts.</p>"
    return f'<section id="totals"><h2>Totals</h2><div class="tiles">{tiles}</div>{money}</section>'


def _money(minor: int, currency: str) -> str:
    text = _e(amount(minor, currency))
    return text if minor else f'<span class="zero">{text}</span>'


def _table(columns: list[tuple[str, str]], rows: list[list[str]], attrs: str = "") -> str:
    """A table of ready-made cells; on a narrow screen each row becomes a labelled card."""
    head = "".join(f'<th class="{"num" if "num" in c else ""}">{h}</th>' for h, c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{c}" data-label="{h}">{v}</td>'
            for (h, c), v in zip(columns, r, strict=True)
        )
        + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table class="cards" {attrs}><tr>{head}</tr>{body}</table></div>'


def _charts(table: pa.Table) -> str:
    """One stacked bar chart per currency: the largest accounts by requested amount, the rest
    together in one bar, each bar split by status."""
    keep = pc.and_(pc.is_valid(table["amount_minor"]), pc.not_equal(table["status"], INVALID))
    picked = table.select(["account", "currency", "amount_minor", "status"]).filter(keep)
    if picked.num_rows == 0:
        return ""
    # Summed as 38-digit decimals, so no total can overflow; one row per (currency, account,
    # status) comes back, however long the ledger.
    exact = picked.set_column(2, "amount_minor", picked["amount_minor"].cast(pa.decimal128(38, 0)))
    sums = exact.group_by(["currency", "account", "status"], use_threads=False).aggregate(
        [("amount_minor", "sum")]
    )
    per: dict[str, dict[str, dict[str, int]]] = {}
    for row in sums.to_pylist():
        bar = per.setdefault(row["currency"], {}).setdefault(
            row["account"], dict.fromkeys((*BAR_STATUSES, "requested"), 0)
        )
        if row["status"] in BAR_STATUSES:
            bar[row["status"]] += int(row["amount_minor_sum"])
            bar["requested"] += int(row["amount_minor_sum"])
    charts = []
    for currency in sorted(per):
        ranked = sorted(per[currency].items(), key=lambda kv: (-kv[1]["requested"], kv[0]))
        bars = [(account, False, bar) for account, bar in ranked[:TOP_ACCOUNTS]]
        rest = [bar for _, bar in ranked[TOP_ACCOUNTS:]]
        if rest:
            total = {k: sum(bar[k] for bar in rest) for k in (*BAR_STATUSES, "requested")}
            bars.append((plural(len(rest), "other account"), True, total))
        charts.append(_chart(currency, bars))
    legend = "".join(
        f'<span><span class="sw" style="background:{COLOURS[k]}"></span>{k}</span>'
        for k in BAR_STATUSES
    )
    return (
        f'<section id="charts"><h2>Amounts by account</h2><div class="legend">{legend}</div>'
        f"{''.join(charts)}</section>"
    )


def _chart(currency: str, bars: list[tuple[str, bool, dict[str, int]]]) -> str:
    """Each bar on two lines: the account and its amount, then the bar. Positions are percentages
    of the page width, so the bars stretch to any screen while the text keeps its size."""
    top, pitch = max(b["requested"] for _, _, b in bars) or 1, 46
    parts = []
    for i, (label, others, bar) in enumerate(bars):
        y, x, segs = i * pitch, 0.0, []
        for status in (s for s in BAR_STATUSES if bar[s]):
            w = bar[status] / top * 100
            segs.append(
                f'<rect class="seg" data-status="{status}" x="{x:.3f}%" y="{y + 22}" '
                f'width="{w:.3f}%" height="16" fill="{COLOURS[status]}"><title>{_e(label)}: '
                f"{status} {_e(amount(bar[status], currency))}</title></rect>"
            )
            x += w
        shown = label if others or len(label) <= 30 else label[:29] + "…"
        style = ' font-style="italic"' if others else ' font-family="monospace"'
        parts.append(
            f'<g class="bar" data-account="{_e(label)}" data-others="{str(others).lower()}" '
            f'data-requested="{bar["requested"]}"><text class="label" x="0" y="{y + 15}"{style}>'
            f'{_e(shown)}<title>{_e(label)}</title></text><text class="amount" x="100%" '
            f'y="{y + 15}" text-anchor="end">{_e(amount(bar["requested"], currency))}</text>'
            f'<rect class="track" x="0" y="{y + 22}" width="100%" height="16" fill="#eef1f4"/>'
            f"{''.join(segs)}</g>"
        )
    return (
        f'<h3>{_e(currency.upper())}</h3><svg class="chart" role="img" data-currency='
        f'"{_e(currency)}" width="100%" height="{len(bars) * pitch}" font-size="13" '
        f'aria-label="{_e(currency.upper())} amounts by account">{"".join(parts)}</svg>'
    )


def _rows(table: pa.Table, status: str, title: str, about: str) -> str:
    found = table.filter(pc.equal(table["status"], status))
    if found.num_rows == 0:
        return ""
    names = ["row", "adjustment_id", "account", "currency", "amount_minor", "error_code"]
    rows = []
    for r in (
        found.slice(0, ROW_CAP).select([*names, "error_message", "stripe_request_id"]).to_pylist()
    ):
        code = r["error_code"] or ""
        if status == UNKNOWN:
            fix = UNKNOWN_FIX
        elif status == INVALID:
            fix = FIXES.get(code, INVALID_FIX)
        else:
            fix = STRIPE_FIXES.get(code) or FIXES.get(code, FAILED_FIX)
        money = "—" if r["amount_minor"] is None else amount(r["amount_minor"], r["currency"])
        req = r["stripe_request_id"]
        said = _e(r["error_message"]) + (f'<div class="mono muted">{_e(req)}</div>' if req else "")
        rows.append([_e(r["row"]), _e(r["adjustment_id"]), _e(r["account"]), _e(money), _e(code)])
        rows[-1] += [said, _e(fix)]
    more = found.num_rows - ROW_CAP
    tail = f'<p class="more">… and {more:,} more in the results file.</p>' if more > 0 else ""
    columns = [("Row", "num"), ("Adjustment", "mono adj"), ("Account", "mono"), ("Amount", "num")]
    columns += [("Error", "mono"), ("Problem" if status == INVALID else "Stripe says", "")]
    columns += [("What to do", "")]
    return (
        f'<section id="rows-{status}"><h2>{title} ({found.num_rows:,})</h2><p class="muted">'
        f"{about}</p>{_table(columns, rows)}{tail}</section>"
    )


def _skipped(table: pa.Table) -> str:
    found = table.filter(pc.equal(table["status"], SKIPPED))
    if found.num_rows == 0:
        return ""
    counts = sorted(
        pc.value_counts(found["error_code"]).to_pylist(), key=lambda c: (-c["counts"], c["values"])
    )
    rows = [
        [_e(c["values"] or "—"), f"{c['counts']:,}", _e(SKIP_FIXES.get(c["values"], OTHER_SKIP))]
        for c in counts
    ]
    return (
        f'<section id="skipped"><h2>Skipped rows ({found.num_rows:,})</h2><p class="muted">Not '
        "sent by this run, by reason.</p>"
        f"{_table([('Reason', 'mono'), ('Rows', 'num'), ('What to do', '')], rows)}</section>"
    )


def _reconciled(summary: Json, rec: Json | None) -> str:
    from ledgerrun.reconcile.check import NEXT_STEP

    head = '<section id="reconcile"><h2>Reconciliation with Stripe</h2>'
    if rec is None:
        return (
            f'{head}<p class="verdict sm v-amber">Not reconciled yet: run <code>ledgerrun '
            f"reconcile {_e(summary.get('job') or '<job>')}</code></p></section>"
        )
    checked = (
        f"{plural(int(rec.get('succeeded_rows_checked', 0)), 'succeeded row')} checked, "
        f"{plural(int(rec.get('objects_found') or rec.get('debits_found') or 0), 'object')} found"
        + (f", at {_when(rec['ended_at'])}" if rec.get("ended_at") else "")
        + "."
    )
    if str(rec.get("ended_at") or "~") < str(summary.get("ended_at") or ""):
        checked += " This check is older than the run: run reconcile again."
    if rec.get("clean"):
        return (
            f'{head}<p class="verdict sm v-green">Everything agrees with Stripe: no missing, '
            f"mismatched, duplicate or orphan debit.</p><p>{checked}</p></section>"
        )
    kinds = sorted((rec.get("discrepancies") or {}).items())
    rows = [
        [_e(k), f"{int(n):,}", _e(NEXT_STEP.get(k, "See the reconcile report."))] for k, n in kinds
    ]
    total = plural(sum(int(n) for _, n in kinds), "discrepancy", "discrepancies")
    where = Path(str(rec.get("report") or "")).name
    listed = f' Full list: <span class="mono">{_e(where)}</span>.' if where else ""
    return (
        f'{head}<p class="verdict sm v-red">{total} with Stripe.</p><p>{checked}{listed}</p>'
        f"{_table([('Kind', 'mono'), ('Rows', 'num'), ('What to do', '')], rows)}</section>"
    )
