"""The run report (v2): one self-contained HTML page, checked by parsing it back.

The runs here are built the way the runner builds them (a real ledger, validated, its results
table and a version-2 summary); the browser test (tests/browser) opens the same pages in Chromium.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from jinja2 import DictLoader, UndefinedError
from markupsafe import Markup

import ledgerrun
from ledgerrun.ingest.validate import check
from ledgerrun.jobfile import load_target
from ledgerrun.output import publish as publish_module
from ledgerrun.output import render as rendering
from ledgerrun.output import report as view
from ledgerrun.output.html import (
    ROW_CAP,
    STRIPE_FIXES,
    UNKNOWN_FIX,
    refresh_report,
    render,
    report_path,
    report_view,
    reversals_path,
    write_report,
)
from ledgerrun.output.results import atomic_write, read_results, summary_path, write_results
from ledgerrun.reconcile import check as rc
from ledgerrun.reconcile import files as rc_files
from ledgerrun.send.prepare import Prepared
from ledgerrun.send.table import results_table as table_of
from ledgerrun.summary import ControlTotal, Outputs, Summary, count, totals
from ledgerrun.vocab import (
    FAILED,
    FIXES,
    INVALID,
    SKIP_ADVICE,
    SKIPPED,
    STATUSES,
    SUCCEEDED,
    UNKNOWN,
    RowOutcome,
)
from tests.helpers.constants import RUN_DATE

WHEN = dt.datetime(2026, 11, 26, 2, 14, 7, tzinfo=dt.UTC)
EVIL = "<script>alert(1)</script>"
QUOTED = '"quoted" & <b>'
HEADER = "adjustment_id,account,amount,currency,direction,description,booked_by\n"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source"}
RUN_ID = "20261126T021407Z-abc123"
JOB_FILE = "/srv/jobs/payouts.toml"


# --- a small DOM, from the standard library's parser ---------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        """The text with its white space folded, as a reader sees it."""
        return " ".join(self.text().split())

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and all(
                    (key == "class_" and value in child.attrs.get("class", "").split())
                    or child.attrs.get(key.replace("_", "-")) == value
                    for key, value in attrs.items()
                ):
                    found.append(child)
                found.extend(child.all(tag, **attrs))
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]

    def rows(self) -> list[list[str]]:
        """The cells of a table's rows, as text with white space folded, header row included."""
        return [
            [" ".join(c.text().split()) for c in tr.children if isinstance(c, Node)]
            for tr in self.all("tr")
        ]

    def cells(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node) and c.tag in ("td", "th")]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


# --- runs built the way the runner builds them ---------------------------------------------------


def done(n: int) -> RowOutcome:
    return RowOutcome(SUCCEEDED, f"tr_{n}", f"py_{n}", f"key-{n}", f"req_{n}", attempts=1,
                      completed_at=WHEN)  # fmt: skip


@dataclass
class Run:
    results: Path
    summary: dict[str, Any]
    table: pa.Table

    def html(self, reconciliation: dict[str, Any] | None = None, **changes: Any) -> str:
        return render(dict(self.summary, **changes), self.table, reconciliation)

    def doc(self, reconciliation: dict[str, Any] | None = None, **changes: Any) -> Node:
        return parse(self.html(reconciliation, **changes))


def make_run(
    tmp_path: Path,
    lines: list[str],
    outcomes: list[RowOutcome],
    *,
    exit_code: int = 1,
    name: str = "ledger.csv",
    results_name: str = "run.results.csv",
    dry_run: bool = False,
    mode: str = "sandbox",
    job_file: str = JOB_FILE,
    control_total: ControlTotal | None = None,
    consent_checked: bool | None = False,
    done_earlier: int = 0,
) -> Run:
    ledger = tmp_path / name
    ledger.write_text(HEADER + "".join(lines), encoding="utf-8")
    job = load_target(ledger, RUN_DATE)
    validation = check(job)
    results = tmp_path / results_name
    directions = Prepared(job, validation).directions
    table = table_of(Prepared(job, validation), outcomes)
    statuses = [o.status for o in outcomes]
    summary = Summary(
        run_id=RUN_ID, job="payouts", job_file=job_file, run_date=RUN_DATE.isoformat(),
        mode=mode, user="finance", host="cron-1", version=ledgerrun.__version__,
        dry_run=dry_run, exit_code=exit_code, started_at=WHEN,
        ended_at=WHEN + dt.timedelta(seconds=42), ledger=str(ledger),
        ledger_sha256=validation.ledger.sha256, results=str(results), rows=len(outcomes),
        counts=count(statuses),
        totals=totals(zip(validation.currency.to_pylist(), directions,
                          validation.amount_minor.to_pylist(), statuses, strict=True)),
        sent_now=sum(1 for o in outcomes if o.attempts) - done_earlier, done_earlier=done_earlier,
        control_total=control_total, consent_checked=consent_checked,
        sending={"rows": len(outcomes), "requests": len(outcomes), "seconds": 1.25},
    ).to_json()  # fmt: skip
    write_results(table, results)
    text = json.dumps(summary).encode()
    atomic_write(summary_path(results), lambda fh: fh.write(text))
    return Run(results, report_view(summary), table)


# Thirteen USD accounts, account k debited (k + 1) * 100.00, one of them twice and credited once;
# two JPY accounts; one failed row (with data that must be escaped), one unknown, one invalid,
# one skipped.
USD = [f"u{k},acct_1U{k:02d},{(k + 1) * 100}.00,usd,,d,\n" for k in range(13)]
MIXED = [
    *USD,
    "u13,acct_1U12,50.00,usd,,second row of the largest account,ops\n",  # row 15
    "j1,acct_1J00,5000,jpy,,d,\n",  # row 16
    "j2,acct_1J01,1200,jpy,,d,\n",  # row 17
    f'"{EVIL}",acct_1U05,12.34,usd,,"{QUOTED.replace(chr(34), chr(34) * 2)}","{EVIL}"\n',  # 18
    "bad,acct_1U00,abc,usd,,d,\n",  # row 19: invalid amount
    "c1,acct_1U12,25.00,usd,credit,refund,\n",  # row 20: a credit
    "s1,acct_1S00,7.00,usd,,d,\n",  # row 21: skipped
]


def mixed_outcomes() -> list[RowOutcome]:
    outcomes = [done(n) for n in range(len(MIXED))]
    outcomes[3] = RowOutcome(
        FAILED, request_id="req_bal", error_code="balance_insufficient",
        error_message="Insufficient funds in account acct_1U03.", attempts=1,
    )  # fmt: skip
    outcomes[15] = RowOutcome(
        UNKNOWN, idempotency_key="k", error_code="network_error", attempts=3,
        error_message="Outcome unknown (no answer); re-run the job to settle it.",
    )  # fmt: skip
    outcomes[16] = RowOutcome(
        FAILED, request_id=f"req_{EVIL}", error_code="api_error",
        error_message=f"{EVIL} & {QUOTED}", attempts=2,
    )  # fmt: skip
    outcomes[17] = RowOutcome(INVALID, error_code="bad_amount", error_message="Not a number.")
    outcomes[19] = RowOutcome(SKIPPED, error_code="stopped", error_message="The run was stopped.")
    return outcomes


@pytest.fixture
def mixed(tmp_path: Path) -> Run:
    return make_run(tmp_path, MIXED, mixed_outcomes(), exit_code=3, done_earlier=2)


@pytest.fixture
def doc(mixed: Run) -> Node:
    return mixed.doc()


def details(doc: Node) -> dict[str, Node]:
    return {d.one("dt").text(): d.one("dd") for d in doc.one("dl", id="details").all("div")}


# --- mode, verdict, dry run -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "label", "words"),
    [
        ("live", "LIVE", "Real money"),
        ("test", "TEST", "Stripe test mode"),
        ("sandbox", "SANDBOX rehearsal", "no money moved"),
        ("", "MODE UNKNOWN", "does not say"),
    ],
)
def test_the_mode_banner_comes_first_and_says_the_mode_in_words(mixed, mode, label, words) -> None:
    doc = mixed.doc(mode=mode)
    banner = doc.one(id="mode")
    assert doc.one("body").all("div")[1] is banner  # first thing inside the report
    assert f"mode-{mode or 'unknown'}" in banner.attrs["class"].split()
    assert banner.one("strong", class_="mode-label").text() == label
    assert words in banner.words()
    assert doc.all(id="dry-run") == []


@pytest.mark.parametrize(
    ("exit_code", "outcome", "tone", "tag", "words"),
    [
        (0, None, "ok", "Done", "All 3 rows succeeded."),
        (1, RowOutcome(FAILED, error_code="balance_insufficient"), "warn", "Needs attention",
         "2 of 3 rows succeeded; 1 failed."),
        (1, RowOutcome(SKIPPED, error_code="stopped"), "warn", "Needs attention", "1 skipped"),
        (2, RowOutcome(INVALID, error_code="bad_amount"), "stop", "Nothing sent",
         "The ledger has 1 invalid row."),
        (3, RowOutcome(UNKNOWN, error_code="api_error"), "stop", "Incomplete",
         "1 row with an unknown outcome: run the job again"),
        (4, None, "stop", "Not run", "Another run of this job holds the lock."),
    ],
)  # fmt: skip
def test_verdict_by_exit_code(tmp_path, exit_code, outcome, tone, tag, words) -> None:
    lines = [f"a{k},acct_1A,1.00,usd,,d,\n" for k in range(3)]
    outcomes = [done(k) for k in range(3)]
    if outcome is not None:
        outcomes[1] = outcome
    doc = make_run(tmp_path, lines, outcomes, exit_code=exit_code).doc()
    verdict = doc.one(id="verdict")
    assert f"tone-{tone}" in verdict.attrs["class"].split()
    assert verdict.one("span", class_="tag").text() == tag  # said in words, not colour alone
    assert words in verdict.words()
    assert doc.one(id="exit-code").text() == (
        f"Exit code {exit_code}: {view.EXIT_MEANINGS[exit_code]}."
    )


def test_a_dry_run_is_marked_in_the_banner_and_the_verdict(tmp_path) -> None:
    outcomes = [RowOutcome(SKIPPED, error_code="dry_run", error_message="would be sent")]
    run = make_run(tmp_path, ["a,acct_1A,1.00,usd,,d,\n"], outcomes, exit_code=0, dry_run=True,
                   mode="live")  # fmt: skip
    doc = run.doc()
    assert doc.one(id="mode").one(id="dry-run").text() == "DRY RUN: nothing was sent"
    assert doc.one(id="mode").one("strong", class_="mode-label").text() == "LIVE"
    assert "Dry run of 1 row: nothing was sent." in doc.one(id="verdict").words()
    section = doc.one("section", id="rows-skipped")
    assert section.one("table", id="skip-reasons").rows()[1] == [
        "dry_run", "1", "Run without --dry-run to send them."
    ]  # fmt: skip
    assert section.all("tbody", class_="item") == []  # a dry run's rows need nobody
    assert json.loads(summary_path(run.results).read_text())["dry_run"] is True


# --- who and what ------------------------------------------------------------------------------


def test_who_ran_what_on_which_ledger(mixed, doc) -> None:
    found = details(doc)
    assert found["Ran by"].text() == "finance@cron-1"
    assert found["Job"].text() == "payouts"
    assert found["Job file"].text() == JOB_FILE
    assert found["Run date"].text() == "2026-11-26"
    assert found["Run id"].text() == RUN_ID
    assert found["Started"].text() == "2026-11-26 02:14:07 UTC"
    assert found["Ended"].text() == "2026-11-26 02:14:49 UTC (took 42\u00a0s)"
    assert found["ledgerrun version"].text() == ledgerrun.__version__
    assert found["Results file"].one("a").attrs["href"] == "run.results.csv"
    ledger = found["Ledger"]
    assert ledger.one("span", class_="cut").text() == "ledger.csv"
    assert ledger.one("span", class_="cut").attrs["title"] == mixed.summary["ledger"]
    sha = mixed.summary["ledger_sha256"]
    assert len(sha) == 64
    shown = found["Ledger SHA-256"]
    assert shown.one("span", class_="cut").text() == sha[:12] + "…"
    assert shown.one("span", class_="cut").attrs["title"] == sha  # the tooltip
    assert shown.one("span", class_="print-full").text() == sha  # and in print


def test_an_older_summary_without_v2_fields_still_renders(mixed) -> None:
    old = {k: v for k, v in mixed.summary.items()
           if k not in ("mode", "user", "host", "job_file", "sent_now", "done_earlier",
                        "control_total", "consent_checked", "sending")}  # fmt: skip
    doc = parse(render(old, mixed.table))
    assert doc.one(id="mode").one("strong").text() == "MODE UNKNOWN"
    assert details(doc)["Ran by"].text() == "?"
    assert "not recorded" in doc.one(id="rows").words()
    assert doc.one(id="consent").one("span", class_="tag").text() == "Not recorded"
    command = doc.one(id="reconcile").one("code").text()
    assert command == f"ledgerrun reconcile {mixed.summary['ledger']} --date 2026-11-26"


# --- rows and totals ---------------------------------------------------------------------------


def test_rows_sent_now_and_done_earlier_and_counts_by_status(mixed, doc) -> None:
    rows = doc.one("section", id="rows")
    assert doc.one(id="sent-now").text() == f"{mixed.summary['sent_now']:,}"
    assert doc.one(id="done-earlier").text() == "2"
    assert "found done earlier (not sent again)" in rows.words()
    table = rows.one("table", id="status-counts").rows()
    assert [r[0] for r in table[1:-1]] == [
        f"{mark} {s}" for mark, s in zip(("✓", "✗", "!", "–", "?"), STATUSES, strict=True)
    ]  # words, not colour alone
    counts = mixed.summary["counts"]
    assert [r[1] for r in table[1:-1]] == [f"{counts[s]:,}" for s in STATUSES]
    assert table[-1] == ["total", f"{len(MIXED):,}"]


def test_totals_by_currency_and_direction_with_the_net(mixed, doc) -> None:
    table = doc.one("table", id="currency-totals")
    rows = table.rows()
    assert rows[0] == [
        "Currency", "Direction", "requested", "succeeded", "failed", "unknown", "skipped"
    ]  # fmt: skip
    assert rows[1:] == [
        ["JPY", "Debits", "6,200", "5,000", "0", "1,200", "0"],
        # 9,100.00 of the thirteen accounts, 50.00, the failed 12.34 and the skipped 7.00
        ["USD", "Debits", "9,169.34", "8,750.00", "412.34", "0.00", "7.00"],
        ["USD", "Credits", "25.00", "25.00", "0.00", "0.00", "0.00"],
        ["USD", "Net (debits − credits)", "9,144.34", "8,725.00", "412.34", "0.00", "7.00"],
    ]
    for tr in table.one("tbody").all("tr"):
        amounts = tr.cells()[2:]
        assert all("num" in c.attrs["class"].split() for c in amounts)  # right-aligned
    head = table.one("thead").all("th")
    assert all("num" in th.attrs["class"].split() for th in head[2:])


def test_every_account_has_its_line_with_exact_amounts(mixed, doc) -> None:
    table = doc.one("table", id="account-table")
    head, *body = table.rows()
    assert head == ["Account", "Currency", "Direction", "Rows", "requested", "succeeded",
                    "failed", "unknown", "skipped"]  # fmt: skip
    accounts = {(r[0], r[1], r[2]): r[3:] for r in body}
    expected_accounts = {f"acct_1U{k:02d}" for k in range(13)} | {"acct_1J00", "acct_1J01"}
    assert {a for a, _, _ in accounts} == expected_accounts | {"acct_1S00"}
    assert len(body) == 17  # 16 accounts, one of them with debits and a credit: nothing folded
    assert [r[0] for r in body] == sorted(r[0] for r in body)  # by account, without a script
    assert accounts[("acct_1U12", "USD", "debit")] == [
        "2", "1,350.00", "1,350.00", "0.00", "0.00", "0.00"
    ]  # fmt: skip
    assert accounts[("acct_1U12", "USD", "credit")] == ["1", "25.00", "25.00", "0.00", "0.00",
                                                        "0.00"]  # fmt: skip
    assert accounts[("acct_1U05", "USD", "debit")] == [
        "2", "612.34", "600.00", "12.34", "0.00", "0.00"
    ]  # fmt: skip
    assert accounts[("acct_1J01", "JPY", "debit")] == ["1", "1,200", "0", "0", "1,200", "0"]
    assert accounts[("acct_1S00", "USD", "debit")][-1] == "7.00"
    # acct_1U00's invalid row is in no line; the page says where it is
    assert accounts[("acct_1U00", "USD", "debit")][:2] == ["1", "100.00"]
    assert "1 invalid row is in no line" in doc.one(id="invalid-note").words()
    line = table.one("tr", data_account="acct_1U05").cells()
    assert [c.attrs.get("data-value") for c in line[3:6]] == ["2", "612.34", "600.00"]
    assert table.attrs.get("data-sortable") == ""


def test_no_account_is_folded_away_in_a_long_ledger(tmp_path) -> None:
    n = 150
    lines = [f"a{k},acct_1L{k:04d},{k + 1}.00,eur,,d,\n" for k in range(n)]
    run = make_run(tmp_path, lines, [done(k) for k in range(n)], exit_code=0)
    body = run.doc().one("table", id="account-table").rows()[1:]
    assert [r[0] for r in body] == [f"acct_1L{k:04d}" for k in range(n)]
    assert body[-1][4] == "150.00"
    assert "other account" not in run.html()


# --- control total and consent -----------------------------------------------------------------


def test_control_total_missing_matching_and_not(tmp_path) -> None:
    lines, outcomes = ["a,acct_1A,1.00,usd,,d,\n"], [done(0)]
    none = make_run(tmp_path, lines, outcomes, exit_code=0).doc().one(id="control-total")
    assert none.one("span", class_="tag").text() == "No totals line"
    good = ControlTotal(row=9, stated="1.00", computed="1.00", currency="usd", matches=True)
    run = make_run(tmp_path, lines, outcomes, exit_code=0, control_total=good)
    found = run.doc().one(id="control-total")
    assert "tone-ok" in found.attrs["class"].split()
    assert found.one("span", class_="tag").text() == "Matches"
    assert "the totals line (row 9) states 1.00 USD; the rows add up to 1.00 USD." in found.words()
    bad = ControlTotal(row=9, stated="2.00", computed="1.00", currency=None, matches=False)
    run = make_run(tmp_path, lines, outcomes, exit_code=2, control_total=bad)
    found = run.doc().one(id="control-total")
    assert "tone-stop" in found.attrs["class"].split()
    assert found.one("span", class_="tag").text() == "Does not match"
    assert "states 2.00, but the rows add up to 1.00" in found.words()


@pytest.mark.parametrize(
    ("line", "tag", "words"),
    [
        (
            ControlTotal(9, "1,631.21", "1,631.21", "usd", True, "net", "1,681.21", "50.00"),
            "Matches",
            "the rows add up to 1,631.21 USD net (debits 1,681.21 less credits 50.00)",
        ),
        (
            ControlTotal(9, "10.00", "10.00", "usd", False, "columns", "10.00", "5.50", "5.00"),
            "Does not match",
            "credits of 5.00 USD; the rows' debits add up to 10.00 USD and their credits to 5.50",
        ),
        (
            ControlTotal(9, "1.00", "0.00", None, False, uncounted=3),
            "Not checked",
            "3 rows could not be counted",
        ),
    ],
)
def test_control_total_shows_the_figures_of_its_basis(
    tmp_path, line: ControlTotal, tag: str, words: str
) -> None:
    lines, outcomes = ["a,acct_1A,1.00,usd,,d,\n"], [done(0)]
    run = make_run(tmp_path, lines, outcomes, exit_code=0, control_total=line)
    found = run.doc().one(id="control-total")
    assert found.one("span", class_="tag").text() == tag
    assert words in found.words()


@pytest.mark.parametrize(
    ("checked", "tag", "words"),
    [
        (True, "Checked", "checked against the consent registry"),
        (False, "Not checked", "Consent was not checked: the job names no consent registry."),
        (None, "Not recorded", "does not say"),
    ],
)
def test_consent(mixed, checked, tag, words) -> None:
    consent = mixed.doc(consent_checked=checked).one(id="consent")
    assert consent.one("span", class_="tag").text() == tag
    assert words in consent.words()


# --- rows that need a person ---------------------------------------------------------------------


def items(doc: Node, status: str) -> list[tuple[list[str], dict[str, str]]]:
    """Each listed row: its key cells, and what was said about it (label -> text)."""
    out = []
    for item in doc.one("section", id=f"rows-{status}").all("tbody", class_="item"):
        key = [c.words() for c in item.one("tr", class_="key").cells()]
        said = {d.one("dt").text(): d.one("dd").words() for d in item.one("dl").all("div")}
        out.append((key, said))
    return out


def test_failed_rows_with_request_id_error_and_what_to_do(doc) -> None:
    failed = items(doc, FAILED)
    assert [k for k, _ in failed] == [
        ["5", "u3", "acct_1U03", "400.00 USD", "balance_insufficient", "req_bal", "1"],
        ["18", EVIL, "acct_1U05", "12.34 USD", "api_error", f"req_{EVIL}", "2"],
    ]
    assert failed[0][1] == {
        "Stripe says": "Insufficient funds in account acct_1U03.",
        "What to do": STRIPE_FIXES["balance_insufficient"],
        "Ledger": "description d",
    }
    assert failed[1][1]["Stripe says"] == f"{EVIL} & {QUOTED}"
    assert failed[1][1]["Ledger"] == f"description {QUOTED} booked_by {EVIL}"
    head = doc.one("section", id="rows-failed").one("thead").rows()[0]
    assert head == ["Row", "Adjustment", "Account", "Amount", "Error code", "Stripe request",
                    "Tries"]  # fmt: skip


def test_unknown_invalid_and_skipped_rows(doc) -> None:
    [(key, said)] = items(doc, UNKNOWN)
    assert key == ["17", "j2", "acct_1J01", "1,200 JPY", "network_error", "—", "3"]
    assert said["What to do"] == UNKNOWN_FIX
    [(key, said)] = items(doc, INVALID)
    assert key == ["19", "bad", "acct_1U00", "—", "bad_amount", "—", "0"]
    assert said == {"Problem": "Not a number.", "What to do": FIXES["bad_amount"],
                    "Ledger": "description d"}  # fmt: skip
    [(key, said)] = items(doc, SKIPPED)
    assert key[:5] == ["21", "s1", "acct_1S00", "7.00 USD", "stopped"]
    assert said["Reason"] == "The run was stopped."
    assert said["What to do"] == SKIP_ADVICE["stopped"]
    reasons = doc.one("table", id="skip-reasons").rows()
    assert reasons[1] == ["stopped", "1", SKIP_ADVICE["stopped"]]


def test_a_credit_that_needs_a_person_says_it_is_a_credit(tmp_path) -> None:
    outcomes = [RowOutcome(FAILED, error_code="balance_insufficient", request_id="req_c")]
    run = make_run(tmp_path, ["c,acct_1C,3.00,usd,credit,x,\n"], outcomes)
    [(key, _)] = items(run.doc(), FAILED)
    assert key[3] == "3.00 USD credit"


def test_unlisted_codes_get_a_generic_next_step(tmp_path) -> None:
    outcomes = [RowOutcome(FAILED, error_code="something_new", error_message="?")]
    run = make_run(tmp_path, ["a,acct_1A,1.00,usd,,d,\n"], outcomes)
    [(_, said)] = items(run.doc(), FAILED)
    assert "request id" in said["What to do"] and "run again" in said["What to do"]


def test_long_lists_stop_at_the_cap_and_point_to_the_results_file(tmp_path) -> None:
    n = ROW_CAP + 57
    lines = [f"a{k},acct_1A{k},1.00,usd,,d,\n" for k in range(n)] + ["z,acct_1Z,9.00,usd,,d,\n"]
    outcomes = [RowOutcome(FAILED, error_code="balance_insufficient")] * n + [done(0)]
    doc = make_run(tmp_path, lines, outcomes).doc()
    section = doc.one("section", id="rows-failed")
    listed = items(doc, FAILED)
    assert len(listed) == ROW_CAP
    assert listed[0][0][0] == "2" and listed[-1][0][0] == str(ROW_CAP + 1)
    assert f"({n:,})" in section.one("h3").text()
    capped = section.one("p", class_="capped")
    assert capped.words() == (
        f"Only the first {ROW_CAP} are listed here: 57 more, with status failed, in the results "
        "file."
    )
    assert capped.one("a").attrs["href"] == "run.results.csv"


def test_long_ids_may_break_where_they_should() -> None:
    assert rendering.breakable("acct_1ConnHA000007") == Markup("acct_<wbr>1ConnHA000007")
    assert rendering.breakable("x" * 30) == Markup("x" * 24 + "<wbr>" + "x" * 6)
    assert rendering.breakable(f"a_{EVIL}") == Markup(
        "a_<wbr>&lt;script&gt;alert(1)&lt;/<wbr>script&gt;"
    )


# --- escaping and self-containment ---------------------------------------------------------------


def test_every_value_from_a_ledger_is_text_never_markup(mixed) -> None:
    hostile = dict(
        mixed.summary,
        job=f'x"{EVIL}',
        ledger=f"/tmp/{EVIL}.csv",
        run_id=EVIL,
        user=QUOTED,
        host=EVIL,
        job_file=f"/jobs/{QUOTED}.toml",
        ledger_sha256=f'"{EVIL}',
        notes=[f"note {EVIL}"],
        mode=f'live"{EVIL}',
    )
    rec = {"clean": False, "discrepancies": {EVIL: 1}, "report": f"/x/{EVIL}.csv",
           "run_date": "2026-11-26"}  # fmt: skip
    html = render(hostile, mixed.table, rec)
    assert html.lower().count("<script") == 1  # the page's own sorting script, nothing else
    assert "<b>" not in html and "alert(1)</" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    doc = parse(html)
    [script] = doc.all("script")
    assert "alert" not in script.text()
    assert EVIL in doc.one(id="discrepancies").rows()[1][0]
    assert details(doc)["Ran by"].text() == f"{QUOTED}@{EVIL}"
    assert details(doc)["Run id"].text() == EVIL
    assert doc.one(id="notes").one("ul").words() == f"note {EVIL}"
    assert doc.one("title").text() == f'Run report: x"{EVIL}, 2026-11-26'
    assert doc.one(id="mode").attrs["class"] == "banner mode-unknown"
    for a in doc.all("a"):
        assert "<" not in a.attrs["href"] and '"' not in a.attrs["href"]
    table = doc.one("table", id="account-table")
    assert table.one("tr", data_account="acct_1U05")  # attributes stay whole


def test_the_page_refers_to_nothing_outside_itself(mixed, doc) -> None:
    html = mixed.html().lower()
    for needle in ("http:", "https:", "src=", "url(", "@import", "<link", "<iframe", "<img"):
        assert needle not in html, needle
    assert html.startswith("<!doctype html>")
    for a in doc.all("a"):
        href = a.attrs["href"]
        assert href.startswith("#") or re.fullmatch(r"[\w.-]+", href), href  # a file beside it
    policy = doc.one("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in policy
    [style] = doc.all("style")
    css = resources.files("ledgerrun.output").joinpath("templates/report.css")
    assert style.text() == css.read_text(encoding="utf-8")


def test_the_print_stylesheet_is_in_the_page(doc) -> None:
    css = doc.one("style").text()
    printing = css[css.index("@media print") :]
    rules = ("size:A4", "thead{display:table-header-group}", "break-inside:avoid",
             ".sort{display:none}", 'content:" (" attr(href) ")"', "background:#fff")  # fmt: skip
    for rule in rules:
        assert rule in printing, rule


# --- the shared environment --------------------------------------------------------------------


def test_the_environment_escapes_and_refuses_undefined_names() -> None:
    env = rendering.environment(DictLoader({"page.html.j2": "<p>{{ value }}</p>"}))
    assert env.get_template("page.html.j2").render(value=EVIL) == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )
    assert env.from_string("{{ v }}").render(v="<b>") == "&lt;b&gt;"
    with pytest.raises(UndefinedError):
        env.get_template("page.html.j2").render()


@pytest.mark.parametrize(
    ("minor", "currency", "money", "major"),
    [
        (127112, "usd", "1,271.12 USD", "1,271.12"),
        (104876, "jpy", "104,876 JPY", "104,876"),
        (1234567, "kwd", "1,234.567 KWD", "1,234.567"),
        (-2500, "eur", "-25.00 EUR", "-25.00"),
        (None, "usd", "—", "—"),
    ],
)
def test_money_filters(minor, currency, money, major) -> None:
    env = rendering.environment()
    assert env.from_string("{{ m|money(c) }}").render(m=minor, c=currency) == money
    assert env.from_string("{{ m|major(c) }}").render(m=minor, c=currency) == major


def test_another_layout_can_include_the_report_body(mixed) -> None:
    layout = (
        "<!DOCTYPE html><html><head><title>app</title></head><body><nav>app</nav>"
        '{% include "report_body.html.j2" %}</body></html>'
    )
    env = rendering.environment(DictLoader({"app.html.j2": layout}))
    content = view.build(mixed.summary, mixed.table)
    doc = parse(env.get_template("app.html.j2").render(report=content))
    assert doc.one("nav").text() == "app"
    assert doc.one(id="verdict").one("span", class_="tag").text() == "Incomplete"
    assert doc.all("script") == []  # the body needs no script: the layout may add it


# --- reconciliation ------------------------------------------------------------------------------


def test_not_reconciled_yet_names_a_command_that_works(mixed, doc) -> None:
    section = doc.one("section", id="reconcile")
    assert section.one("span", class_="tag").text() == "Not reconciled yet"
    assert section.one("code").text() == f"ledgerrun reconcile {JOB_FILE} --date 2026-11-26"
    assert doc.one(id="reconcile-check").one("span", class_="tag").text() == "Not yet"
    bare = mixed.doc(job_file="", ledger="/data/my ledger.csv")
    command = bare.one("section", id="reconcile").one("code").text()
    assert command == "ledgerrun reconcile '/data/my ledger.csv' --date 2026-11-26"


def test_clean_reconciliation(mixed) -> None:
    rec = {"job": "payouts", "run_date": "2026-11-26", "clean": True,
           "succeeded_rows_checked": 15, "objects_found": 15, "discrepancies": {},
           "ended_at": "2026-11-26T03:00:00Z"}  # fmt: skip
    doc = mixed.doc(rec)
    section = doc.one("section", id="reconcile")
    assert section.one("span", class_="tag").text() == "Clean"
    text = section.words()
    assert "Everything agrees with Stripe" in text and "15 succeeded rows checked" in text
    assert "checked at 2026-11-26 03:00:00 UTC" in text
    assert section.all(id="stale") == [] and section.all("table") == []
    assert doc.one(id="reconcile-check").one("span", class_="tag").text() == "Clean"


def test_dirty_and_stale_reconciliation_lists_each_kind_with_what_to_do(mixed) -> None:
    rec = {"job": "payouts", "run_date": "2026-11-26", "clean": False,
           "succeeded_rows_checked": 15, "objects_found": 17, "other_dates": 2,
           "discrepancies": {"duplicate": 2, "orphan": 1}, "report": "/x/run.reconcile.csv",
           "ended_at": "2026-11-26T01:00:00Z"}  # fmt: skip
    section = mixed.doc(rec).one("section", id="reconcile")
    assert section.one("p", class_="verdict").one("span", class_="tag").text() == "3 discrepancies"
    assert section.one("table", id="discrepancies").rows()[1:] == [
        ["duplicate", "2", rc.NEXT_STEP["duplicate"]],
        ["orphan", "1", rc.NEXT_STEP["orphan"]],
    ]
    assert section.one("a").attrs["href"] == "run.reconcile.csv"
    assert "2 objects of other run dates" in section.words()
    stale = section.one(id="stale")
    assert "ended before the run did" in stale.words()
    assert stale.one("code").text() == f"ledgerrun reconcile {JOB_FILE} --date 2026-11-26"


def test_a_reconciliation_of_another_run_date_is_not_this_runs(mixed) -> None:
    rec = {"run_date": "2026-11-25", "clean": True, "ended_at": "2026-11-26T03:00:00Z"}
    section = mixed.doc(rec).one("section", id="reconcile")
    assert section.one("span", class_="tag").text() == "Not reconciled yet"


# --- reversals -----------------------------------------------------------------------------------


REVERSAL_COLUMNS = ["row", "adjustment_id", "transfer_id", "reversal_id", "amount", "currency",
                    "status", "error", "reason"]  # fmt: skip


def write_reversals(results: Path, rows: list[list[str]]) -> Path:
    path = reversals_path(results)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(REVERSAL_COLUMNS)
        out.writerows(rows)
    return path


def test_no_reversals_section_without_the_file(doc) -> None:
    assert doc.all(id="reversals") == []
    assert "reversed" not in doc.one("table", id="account-table").rows()[0]


def test_reversals_per_account_and_currency_when_the_file_exists(mixed) -> None:
    assert reversals_path(mixed.results).name == "run.results.reversals.csv"
    write_reversals(mixed.results, [
        ["2", "u0", "tr_0", "trr_1", "60.00", "usd", "succeeded", "", "duplicate"],
        ["2", "u0", "tr_0", "trr_2", "40.00", "usd", "succeeded", "", "duplicate"],
        ["16", "j1", "", "trr_3", "5,000", "jpy", "succeeded", "", "mistake"],  # by row
        ["15", "u13", "tr_13", "", "50.00", "usd", "failed", EVIL, QUOTED],
    ])  # fmt: skip
    path = refresh_report(mixed.results)
    assert path is not None
    doc = parse(path.read_text(encoding="utf-8"))
    section = doc.one("section", id="reversals")
    assert section.one("table", id="reversal-table").rows()[1:] == [
        ["acct_1J00", "JPY", "debit", "1", "5,000", "0"],
        ["acct_1U00", "USD", "debit", "2", "100.00", "0"],
        ["acct_1U12", "USD", "debit", "0", "0.00", "1"],
    ]
    problems = section.one("table", id="reversal-problems").rows()
    assert problems[1] == ["15", "u13", "tr_13", "acct_1U12", "50.00 USD", "failed", EVIL, QUOTED]
    accounts = doc.one("table", id="account-table")
    assert accounts.rows()[0][-1] == "reversed"
    by_line = {tuple(r[:3]): r[-1] for r in accounts.rows()[1:]}
    assert by_line[("acct_1U00", "USD", "debit")] == "100.00"
    assert by_line[("acct_1J00", "JPY", "debit")] == "5,000"
    assert by_line[("acct_1U12", "USD", "credit")] == "0.00"
    assert section.one("a").attrs["href"] == "run.results.reversals.csv"


# --- files ---------------------------------------------------------------------------------------


def test_write_report_is_atomic_and_beside_the_results(mixed) -> None:
    assert report_path(mixed.results) == mixed.results.with_name("run.results.csv.report.html")
    path = write_report(mixed.results, mixed.summary, mixed.table)
    assert path == report_path(mixed.results)
    assert path.read_text(encoding="utf-8") == render(mixed.summary, mixed.table)
    assert not [p for p in mixed.results.parent.iterdir() if p.name.endswith(".tmp")]
    footer = parse(path.read_text(encoding="utf-8")).one("footer")
    assert "run.results.csv" in footer.text()
    assert f"ledgerrun {ledgerrun.__version__}" in footer.text()


@pytest.mark.parametrize("results_name", ["run.results.csv", "run.results.parquet"])
def test_refresh_report_reads_the_files_of_a_run(tmp_path, results_name) -> None:
    run = make_run(tmp_path, MIXED, mixed_outcomes(), exit_code=3, results_name=results_name)
    assert read_results(run.results).num_rows == len(MIXED)
    path = refresh_report(run.results)
    assert path == report_path(run.results)
    doc = parse(path.read_text(encoding="utf-8"))
    assert items(doc, FAILED)[1][0][1] == EVIL  # the CSV's "'" escape undone
    assert doc.one(id="reconcile").one("span", class_="tag").text() == "Not reconciled yet"
    assert path.read_text(encoding="utf-8") == render(run.summary, read_results(run.results))

    report = rc.Reconciliation("payouts", "2026-11-26", run.results, WHEN, checked=15, objects=16)
    report.discrepancies.append(rc.Discrepancy("orphan", "zz", "acct_1Z", "tr_9", "", "not here"))
    report.ended_at = WHEN + dt.timedelta(hours=1)
    rc_files.write_report(report)
    refreshed = refresh_report(run.results)
    assert refreshed is not None
    doc = parse(refreshed.read_text(encoding="utf-8"))
    assert doc.one(id="discrepancies").rows()[1][:2] == ["orphan", "1"]
    assert doc.all(id="stale") == []

    # Written again (a re-run), the report keeps showing that check, now older than the run.
    later = dict(run.summary, ended_at="2026-11-26T09:00:00Z")
    doc = parse(write_report(run.results, later, run.table).read_text(encoding="utf-8"))
    assert doc.one(id="discrepancies").rows()[1][:2] == ["orphan", "1"]
    assert "ended before the run did" in doc.one(id="stale").words()


def test_refresh_report_without_a_summary_does_nothing(tmp_path) -> None:
    run = make_run(tmp_path, ["a,acct_1A,1.00,usd,,d,\n"], [done(0)], exit_code=0)
    summary_path(run.results).unlink()
    assert refresh_report(run.results) is None
    assert not report_path(run.results).exists()


def test_publish_writes_the_report_from_the_v2_summary(tmp_path, mixed) -> None:
    summary = Summary.from_json(mixed.summary)
    outputs = Outputs.beside(tmp_path / "out" / "published.results.csv")
    publish_module.publish(mixed.table, summary.to_json(), outputs)
    doc = parse(outputs.report.read_text(encoding="utf-8"))
    assert details(doc)["Ran by"].text() == "finance@cron-1"
    assert [r[0] for r in doc.one("table", id="currency-totals").rows()[1:]] == [
        "JPY", "USD", "USD", "USD"
    ]  # fmt: skip
    assert json.loads(outputs.summary.read_text())["run_id"] == RUN_ID
