"""How pages show things: amounts with the currency's decimals and thousands separators, times
(in UTC, and in the viewer's own zone once the page's script has run), counts with their nouns
("1 row", "2 rows") and statuses as words with a colour (never a colour alone)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ledgerrun import money
from ledgerrun.output.report import EXIT_MEANINGS
from ledgerrun.vocab import FIXES

TEMPLATES = Path(__file__).with_name("templates")

# status -> (words shown, colour class)
BADGES: dict[str, tuple[str, str]] = {
    "uploaded": ("Uploaded", "grey"),
    "invalid": ("Has problems", "red"),
    "valid": ("Ready for approval", "blue"),
    "approving": ("Partly approved", "blue"),
    "approved": ("Approved", "green"),
    "rejected": ("Rejected", "red"),
    "sent_back": ("Sent back to the preparer", "amber"),
    "running": ("Running", "blue"),
    # how the last run ended (by its exit code: 0, 1, 2, 3, 4)
    "done": ("Run finished: every row sent", "green"),
    "done_with_failures": ("Run finished: some rows failed", "amber"),
    "run_refused": ("Run refused: nothing sent", "red"),
    "run_incomplete": ("Run incomplete: run it again", "red"),
    "run_busy": ("Run did not start: the job was busy", "amber"),
    "failed": ("Failed", "amber"),  # a results row's status (a batch's: see batch_badge)
    "invalid_row": ("Invalid", "red"),
    "succeeded": ("Succeeded", "green"),
    "unknown": ("Unknown outcome", "red"),
    "skipped": ("Skipped", "grey"),
    "pending": ("Pending", "amber"),
    "dry_run": ("Dry run: not sent", "grey"),
    "debit": ("Debit", "grey"),
    "credit": ("Credit", "grey"),
}
# a work item's state (a run, a check, a reconciliation)
WORK_BADGES: dict[str, tuple[str, str]] = {
    "queued": ("Waiting for a worker", "grey"),
    "running": ("Running", "blue"),
    "done": ("Finished", "green"),
    "failed": ("Did not finish", "red"),
}
WORK_WORDS = {
    "run": "Run",
    "check": "Check with Stripe",
    "reconcile": "Reconcile",
    "reverse": "Reversal",
}


def amount(minor: Any, currency: str) -> str:
    """``150000, 'usd'`` -> ``1,500.00``; the currency's own decimals (``jpy``: none)."""
    if minor is None or minor == "":
        return ""
    try:
        exp = money.exponent(str(currency).lower())
    except KeyError:
        return f"{int(minor):,}"
    return money.format_major(int(minor), exp, grouping=True)


def money_text(minor: Any, currency: str) -> str:
    return f"{amount(minor, currency)} {str(currency).upper()}"


def when(value: Any) -> Markup | str:
    """A moment as a ``<time>`` element: UTC in its text (what a page shows without
    JavaScript), the exact instant in its ``datetime``, which the page's script shows in the
    viewer's own time zone."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if not isinstance(value, dt.datetime):
        return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S UTC")
    stamp = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Markup(f'<time datetime="{stamp}" title="{text}">{text}</time>')


def figure(text: Any) -> str:
    """A figure written as text (``1000.50``) with thousands separators (``1,000.50``)."""
    from ledgerrun.web.grid import grouped

    return grouped("" if text is None else str(text))


def number(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def plural(count: Any, noun: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows``, ``1,000 rows`` (``many``: the plural when it is not noun + s)."""
    try:
        n = int(count)
    except (TypeError, ValueError):
        return f"{count} {many or noun + 's'}"
    return f"{n:,} {noun if n == 1 else (many or noun + 's')}"


# The command line's words in the library's messages, as the web application says them: pages
# speak of settings and buttons, never of flags and commands.
PLAIN_WORDS: tuple[tuple[str, str], ...] = (
    ("need --live", "need a server set up for real money ([serve] allow_live = true)"),
    ("run with --skip-invalid", 'have the job skip invalid rows (on_invalid = "skip")'),
    ("Run without --dry-run to send them.", "Run the batch to send them."),
    ("run without --dry-run to send", "run the batch to send"),
    ("(ledgerrun validate lists them all)", "(the batch page lists them all)"),
    ("(ledgerrun validate lists them)", "(the batch page lists them)"),
    ("run ledgerrun reconcile", "reconcile the batch"),
    ("(ledgerrun reconcile)", "(Reconcile, on the batch page)"),
    ("ledgerrun reverse --adjustments", "Reverse, on the batch page"),
    ("ledgerrun reverse", "Reverse, on the batch page"),
    ("run the job again", "run the batch again"),
    ("Run the job again", "Run the batch again"),
    ("amount_minor", "amount in minor units (cents)"),
)


def plain(text: Any) -> str:
    """A message of the library in the web application's words (see :data:`PLAIN_WORDS`)."""
    value = "" if text is None else str(text)
    for said, meant in PLAIN_WORDS:
        value = value.replace(said, meant)
    return value


def capitalize_first(text: Any) -> str:
    """``the totals line ...`` -> ``The totals line ...`` (the rest as it is)."""
    value = str(text)
    return value[:1].upper() + value[1:]


def badge(status: Any) -> tuple[str, str]:
    return BADGES.get(str(status), (str(status).replace("_", " ").capitalize(), "grey"))


def work_badge(state: Any) -> tuple[str, str]:
    return WORK_BADGES.get(str(state), (str(state), "grey"))


def row_badge(status: Any) -> tuple[str, str]:
    """A results row's status (``invalid`` rows were never sent: a problem in the ledger)."""
    return badge("invalid_row" if status == "invalid" else status)


def totals_text(totals: Any) -> str:
    """An approval's totals in words: ``240 rows; debits 1,500.00 USD; credits ...``."""
    if not isinstance(totals, dict):
        return str(totals)
    parts = [plural(totals.get("rows", 0), "row")]
    for key in ("debits", "credits", "net"):
        sums = totals.get(key) or {}
        if sums:
            shown = ", ".join(money_text(m, c) for c, m in sums.items())
            parts.append(f"{key} {shown}")
    return "; ".join(parts)


def detail_items(detail: Any) -> list[tuple[str, str]]:
    """An audit event's details as (label, text), empty ones left out."""
    out = []
    for key, value in (detail or {}).items():
        if value in (None, "", {}, []):
            continue
        if key == "totals":
            text = totals_text(value)
        elif key == "exit_code" and isinstance(value, int):
            key, text = "outcome", f"{exit_meaning(value)} (exit code {value})"
        elif key == "size" and isinstance(value, int):
            text = plural(value, "byte")
        elif isinstance(value, int) and not isinstance(value, bool):
            text = number(value)
        else:
            text = str(value)
        out.append((key.replace("_", " "), text))
    return out


def batch_badge(batch: Any, approved_by: int | None = None) -> tuple[str, str]:
    """A batch's status in words: a valid batch that needs no approver is ready to run at once;
    one partly approved says how far (``approved_by`` approvers of those it needs)."""
    needed = batch.summary.get("approvers_needed")
    if not isinstance(needed, int):  # recorded before approval rules
        needed = 1 if batch.summary.get("approval") == "required" else 0
    if batch.status == "valid" and not needed:
        return ("Ready to run", "blue")
    if batch.status == "valid" and needed > 1:
        return (f"Ready for approval ({needed} approvers)", "blue")
    if batch.status == "approving" and approved_by is not None:
        return (f"Partly approved: {approved_by} of {needed}", "blue")
    if batch.status == "failed":  # recorded by an older ledgerrun
        return ("Run did not finish", "red")
    return badge(batch.status)


def control_view(line: Any, totals: Any) -> dict[str, Any] | None:
    """The ledger's totals line as the batch page shows it: a verdict in words, and the rows'
    figures per currency and direction beside it (never one figure of several currencies
    passed off as a check: a line naming no currency over rows in USD and EUR is said to be
    a sum across currencies, each currency's own figures shown)."""
    if not isinstance(line, dict):
        return None
    totals = totals if isinstance(totals, dict) else {}
    debits, credits = totals.get("debits") or {}, totals.get("credits") or {}
    currencies = sorted(set(debits) | set(credits))
    named = str(line.get("currency") or "")
    shown = [named] if named else currencies
    figures = [(c, debits.get(c, 0), credits.get(c, 0)) for c in shown]
    where = f"the totals line on row {line.get('row')}"
    if int(line.get("uncounted") or 0):
        return {"words": "Not checked", "colour": "amber", "figures": figures,
                "text": f"{where}: {line.get('described') or 'not checked'}"}  # fmt: skip
    if not named and len(currencies) > 1:
        verdict = "equals" if line.get("matches") else "does not equal"
        return {
            "words": "Across currencies", "colour": "amber", "figures": figures,
            "text": f"{where} states {line.get('stated')} and names no currency, while the rows "
            f"are in {' and '.join(c.upper() for c in currencies)}: it {verdict} what they "
            "come to added together as a spreadsheet adds them, which is no check of money in "
            "several currencies. Check each currency's figures below.",
        }  # fmt: skip
    words, colour = ("Matches", "green") if line.get("matches") else ("Does not match", "red")
    return {"words": words, "colour": colour, "figures": figures,
            "text": f"{where}: {line.get('described') or ''}"}  # fmt: skip


def exit_meaning(code: Any) -> str:
    """How a run (or reversal, or reconcile) ended, in words; its exit code is only a detail."""
    if code is None:
        return ""
    meanings = {**EXIT_MEANINGS, 4: "another run of this job was in progress: try again later"}
    return meanings.get(int(code), "not a known outcome")


def mode_words(mode: Any) -> str:
    """Where a run sent its requests, in words."""
    return {
        "live": "Stripe, live: real money",
        "test": "Stripe's test mode: no real money",
        "sandbox": "the sandbox, a rehearsal: no money",
    }.get(str(mode), str(mode))


def environment() -> jinja2.Environment:
    """The application's templates on the one environment every HTML page of ledgerrun uses
    (:func:`ledgerrun.output.render.environment`: autoescaped, strict about undefined names),
    with the application's own filters beside the shared ones."""
    from ledgerrun.output.render import environment as shared

    env = shared(jinja2.FileSystemLoader(TEMPLATES))
    env.filters.update(
        amount=amount, money=money_text, when=when, number=number, exit_meaning=exit_meaning,
        mode_words=mode_words,
        totals_text=totals_text, plural=plural, capitalize_first=capitalize_first, plain=plain,
        figure=figure,
    )  # fmt: skip
    env.globals.update(
        badge=badge, batch_badge=batch_badge, work_badge=work_badge, row_badge=row_badge,
        detail_items=detail_items, fixes=FIXES, work_words=WORK_WORDS, control_view=control_view,
    )  # fmt: skip
    return env
