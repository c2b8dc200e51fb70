"""The run report: one self-contained HTML page, checked by parsing it back."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import ledgerrun
from ledgerrun.ingest.validate import check
from ledgerrun.job import load_target
from ledgerrun.output.html import (
    ROW_CAP,
    STRIPE_FIXES,
    UNKNOWN_FIX,
    refresh_report,
    render,
    report_path,
    report_view,
    write_report,
)
from ledgerrun.output.results import atomic_write, read_results, summary_path, write_results
from ledgerrun.output.text import amount
from ledgerrun.reconcile import check as rc
from ledgerrun.reconcile import files as rc_files
from ledgerrun.send.prepare import Prepared, row_directions, row_keys
from ledgerrun.send.table import results_table as table_of
from ledgerrun.summary import Summary, count, totals
from ledgerrun.vocab import (
    FAILED,
    FIXES,
    INVALID,
    SKIPPED,
    STATUSES,
    SUCCEEDED,
    UNKNOWN,
    RowOutcome,
)
from tests.support import RUN_DATE

WHEN = dt.datetime(2026, 11, 26, 2, 14, 7, tzinfo=dt.UTC)
EVIL = "<script>alert(1)</script>"
HEADER = "adjustment_id,account,amount,currency,description\n"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source"}


# --- a small DOM, from the standard library's parser ---------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

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
        """The cells of a table's rows, as text, header row included."""
        return [
            [c.text().strip() for c in tr.children if isinstance(c, Node)] for tr in self.all("tr")
        ]


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


def make_run(
    tmp_path: Path,
    lines: list[str],
    outcomes: list[RowOutcome],
    *,
    exit_code: int = 1,
    name: str = "ledger.csv",
    results_name: str = "run.results.csv",
    dry_run: bool = False,
) -> tuple[Path, dict[str, Any], pa.Table]:
    ledger = tmp_path / name
    ledger.write_text(HEADER + "".join(lines), encoding="utf-8")
    job = load_target(ledger, RUN_DATE)
    validation = check(job)
    results = tmp_path / results_name
    directions = [str(d) for d in row_directions(validation, job).to_pylist()]
    keys = [str(k) for k in row_keys(validation, job).to_pylist()]
    table = table_of(Prepared(job, validation, keys, directions), outcomes)
    statuses = [o.status for o in outcomes]
    summary = Summary(
        run_id="20261126T021407Z-abc123", job="payouts", job_file="", run_date="2026-11-26",
        mode="sandbox", user="finance", host="cron-1", version=ledgerrun.__version__,
        dry_run=dry_run, exit_code=exit_code, started_at=WHEN,
        ended_at=WHEN + dt.timedelta(seconds=42), ledger=str(ledger),
        ledger_sha256=validation.ledger.sha256, results=str(results), rows=len(outcomes),
        counts=count(statuses),
        totals=totals(zip(validation.currency.to_pylist(), directions,
                          validation.amount_minor.to_pylist(), statuses, strict=True)),
        sent_now=0, done_earlier=0,
    ).to_json()  # fmt: skip
    write_results(table, results)
    text = json.dumps(summary).encode()
    atomic_write(summary_path(results), lambda fh: fh.write(text))
    return results, report_view(summary), table


# Thirteen USD accounts, account k debited (k + 1) * 100.00, one of them twice; two JPY accounts;
# one failed row (with data that must be escaped), one unknown, one invalid.
USD = [f"u{k},acct_1U{k:02d},{(k + 1) * 100}.00,usd,d\n" for k in range(13)]
MIXED = [
    *USD,
    "u13,acct_1U12,50.00,usd,second row of the largest account\n",  # row 15
    "j1,acct_1J00,5000,jpy,d\n",  # row 16
    "j2,acct_1J01,1200,jpy,d\n",  # row 17
    f'"{EVIL}",acct_1U05,12.34,usd,d\n',  # row 18
    "bad,acct_1U00,abc,usd,d\n",  # row 19: invalid amount
]


def mixed_outcomes() -> list[RowOutcome]:
    outcomes = [done(n) for n in range(len(MIXED))]
    outcomes[3] = RowOutcome(
        FAILED, request_id="req_bal", error_code="balance_insufficient",
        error_message="Insufficient funds in account acct_1U03.", attempts=1,
    )  # fmt: skip
    outcomes[15] = RowOutcome(
        UNKNOWN, idempotency_key="k", error_code="network_error",
        error_message="Outcome unknown (no answer); re-run the job to settle it.",
    )  # fmt: skip
    outcomes[16] = RowOutcome(
        FAILED, request_id="req_x", error_code="api_error", error_message=f'{EVIL} & "quoted"'
    )
    outcomes[17] = RowOutcome(INVALID, error_code="bad_amount", error_message="Not a number.")
    return outcomes


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Path, dict[str, Any], pa.Table]:
    return make_run(tmp_path, MIXED, mixed_outcomes(), exit_code=3)


@pytest.fixture
def page(mixed) -> tuple[str, Node, dict[str, Any]]:
    _, summary, table = mixed
    html = render(summary, table)
    return html, parse(html), summary


# --- header and totals ---------------------------------------------------------------------------


def test_header_names_the_run_and_its_ledger(page) -> None:
    _, doc, summary = page
    header = doc.one("header")
    text = " ".join(header.text().split())
    assert "payouts" in text and "20261126T021407Z-abc123" in text
    assert "2026-11-26 02:14:07 UTC" in text and "2026-11-26 02:14:49 UTC" in text
    assert summary["ledger"] in text
    sha = summary["ledger_sha256"]
    short = header.one(title=sha)
    assert short.text() == sha[:12] + "…" and sha not in text
    assert "3: some outcomes are unknown: run the job again" in text
    pairs = zip(header.all("dt"), header.all("dd"), strict=True)
    fields = {k.text(): v.text() for k, v in pairs}
    assert fields["Dry run"] == "no" and fields["Run"] == "20261126T021407Z-abc123"


@pytest.mark.parametrize(
    ("outcome", "exit_code", "colour", "words"),
    [
        (None, 0, "green", "All 3 rows succeeded."),
        (
            RowOutcome(FAILED, error_code="balance_insufficient"),
            1,
            "amber",
            "2 of 3 rows succeeded",
        ),
        (RowOutcome(SKIPPED, error_code="stopped"), 1, "amber", "1 skipped"),
        (RowOutcome(UNKNOWN, error_code="api_error"), 3, "red", "1 row with an unknown outcome"),
    ],
)
def test_verdict_sentence_and_colour(tmp_path, outcome, exit_code, colour, words) -> None:
    lines = [f"a{k},acct_1A,1.00,usd,d\n" for k in range(3)]
    outcomes = [done(k) for k in range(3)]
    if outcome is not None:
        outcomes[1] = outcome
    _, summary, table = make_run(tmp_path, lines, outcomes, exit_code=exit_code)
    verdict = parse(render(summary, table)).one(id="verdict")
    assert f"v-{colour}" in verdict.attrs["class"].split()
    assert words in verdict.text()


def test_an_aborted_run_is_red_and_lists_its_invalid_rows(tmp_path) -> None:
    lines = ["a,acct_1A,1.00,usd,d\n", "b,acct_1B,-5,usd,d\n"]
    outcomes = [
        RowOutcome(SKIPPED, error_code="aborted", error_message="Not sent."),
        RowOutcome(INVALID, error_code="non_positive_amount", error_message="Zero or negative."),
    ]
    _, summary, table = make_run(tmp_path, lines, outcomes, exit_code=2)
    doc = parse(render(summary, table))
    assert "v-red" in doc.one(id="verdict").attrs["class"]
    assert "Nothing was sent: 1 invalid row." in doc.one(id="verdict").text()
    invalid = doc.one("section", id="rows-invalid").one("table").rows()
    assert invalid[1][:5] == ["3", "b", "acct_1B", "—", "non_positive_amount"]
    assert invalid[1][-1] == FIXES["non_positive_amount"]
    skipped = doc.one("section", id="skipped").one("table").rows()
    assert skipped[1][:2] == ["aborted", "1"]


def test_status_counts_and_currency_totals_match_the_summary(page) -> None:
    _, doc, summary = page
    tiles = doc.all("div", class_="tile")
    assert [t.attrs["data-status"] for t in tiles] == list(STATUSES)
    for tile in tiles:
        count = summary["counts"][tile.attrs["data-status"]]
        assert tile.one("span", class_="n").text() == f"{count:,}"
    assert summary["counts"][SKIPPED] == 0  # zeros are shown too
    rows = doc.one("table", id="currency-totals").rows()
    assert rows[0] == ["Currency", "requested", "succeeded", "failed", "unknown", "skipped"]
    assert [r[0] for r in rows[1:]] == ["JPY", "USD"]
    for row, currency in zip(rows[1:], ("jpy", "usd"), strict=True):
        totals = summary["totals"][currency]
        assert row[1:] == [amount(totals[k], currency) for k in rows[0][1:]]
    assert rows[1][1] == "6,200 JPY" and rows[1][4] == "1,200 JPY"
    assert rows[2][3] == "412.34 USD"  # 400.00 + 12.34 failed


# --- the chart -----------------------------------------------------------------------------------


def percent(rect: Node) -> float:
    assert rect.attrs["width"].endswith("%")
    return float(rect.attrs["width"][:-1])


def bars_of(doc: Node, currency: str) -> list[Node]:
    return doc.one("svg", data_currency=currency).all("g", class_="bar")


def test_chart_has_the_top_ten_accounts_and_one_bar_for_the_rest(page) -> None:
    _, doc, _ = page
    bars = bars_of(doc, "usd")
    assert len(bars) == 11
    expected = {f"acct_1U{k:02d}": (k + 1) * 10_000 for k in range(13)}
    expected["acct_1U12"] += 5_000
    expected["acct_1U05"] += 1_234
    ranked = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))
    top, rest = ranked[:10], ranked[10:]
    for bar, (account, minor) in zip(bars, top, strict=False):
        assert bar.attrs["data-others"] == "false"
        assert bar.one("text", class_="label").children[0] == account
        assert int(bar.attrs["data-requested"]) == minor
        assert bar.one("text", class_="amount").text() == amount(minor, "usd")
    others = bars[10]
    assert others.attrs["data-others"] == "true"
    assert others.one("text", class_="label").children[0] == "3 other accounts"
    assert int(others.attrs["data-requested"]) == sum(m for _, m in rest)
    assert others.one("text", class_="amount").text() == amount(sum(m for _, m in rest), "usd")

    # Widths are proportional to the amounts: the same pixels per unit for every bar.
    # Widths are percentages of the chart, the largest bar filling it.
    widths = [sum(percent(r) for r in bar.all("rect", class_="seg")) for bar in bars]
    assert widths[0] == pytest.approx(100, abs=0.002)
    for bar, width in zip(bars, widths, strict=True):
        assert width == pytest.approx(int(bar.attrs["data-requested"]) / 135_000 * 100, abs=0.002)
        assert percent(bar.one("rect", class_="track")) == 100


def test_chart_bars_are_split_by_status(page) -> None:
    _, doc, _ = page
    by_account = {b.attrs["data-account"]: b for b in bars_of(doc, "usd")}
    segments = {a: b.all("rect", class_="seg") for a, b in by_account.items()}
    split = {r.attrs["data-status"]: percent(r) for r in segments["acct_1U05"]}
    assert set(split) == {SUCCEEDED, FAILED}
    assert split[SUCCEEDED] / split[FAILED] == pytest.approx(60_000 / 1_234, rel=1e-3)
    assert [r.attrs["data-status"] for r in segments["acct_1U12"]] == [SUCCEEDED]
    jpy = bars_of(doc, "jpy")
    assert [b.attrs["data-account"] for b in jpy] == ["acct_1J00", "acct_1J01"]
    assert [r.attrs["data-status"] for r in jpy[1].all("rect", class_="seg")] == [UNKNOWN]
    assert jpy[1].one("text", class_="amount").text() == "1,200 JPY"


def test_no_chart_when_no_row_has_an_amount(tmp_path) -> None:
    outcomes = [RowOutcome(INVALID, error_code="bad_amount", error_message="x")]
    _, summary, table = make_run(tmp_path, ["a,acct_1A,abc,usd,d\n"], outcomes, exit_code=2)
    doc = parse(render(summary, table))
    assert doc.all("svg") == [] and doc.all(id="charts") == []


# --- rows that need a person ---------------------------------------------------------------------


def test_failed_unknown_and_invalid_rows_with_what_to_do(page) -> None:
    _, doc, _ = page
    failed = doc.one("section", id="rows-failed").one("table").rows()
    assert failed[0] == [
        "Row",
        "Adjustment",
        "Account",
        "Amount",
        "Error",
        "Stripe says",
        "What to do",
    ]
    assert failed[1] == [
        "5", "u3", "acct_1U03", "400.00 USD", "balance_insufficient",
        "Insufficient funds in account acct_1U03.req_bal", STRIPE_FIXES["balance_insufficient"],
    ]  # fmt: skip
    assert failed[2][:5] == ["18", EVIL, "acct_1U05", "12.34 USD", "api_error"]
    assert failed[2][5] == f'{EVIL} & "quoted"req_x' and failed[2][6] == STRIPE_FIXES["api_error"]
    unknown = doc.one("section", id="rows-unknown").one("table").rows()
    assert unknown[1][:5] == ["17", "j2", "acct_1J01", "1,200 JPY", "network_error"]
    assert unknown[1][6] == UNKNOWN_FIX
    assert UNKNOWN_FIX.lower().startswith("run the job again: it settles this row")
    invalid = doc.one("section", id="rows-invalid").one("table").rows()
    assert invalid[1] == [
        "19",
        "bad",
        "acct_1U00",
        "—",
        "bad_amount",
        "Not a number.",
        FIXES["bad_amount"],
    ]
    assert doc.all(id="skipped") == []  # nothing skipped, no section


def test_unlisted_codes_get_a_generic_next_step(tmp_path) -> None:
    outcomes = [RowOutcome(FAILED, error_code="something_new", error_message="?")]
    _, summary, table = make_run(tmp_path, ["a,acct_1A,1.00,usd,d\n"], outcomes)
    fix = parse(render(summary, table)).one("section", id="rows-failed").one("table").rows()[1][6]
    assert "request id" in fix and "run again" in fix


def test_each_table_stops_at_the_cap_and_says_how_many_more(tmp_path) -> None:
    n = ROW_CAP + 57
    lines = [f"a{k},acct_1A{k},1.00,usd,d\n" for k in range(n)] + ["z,acct_1Z,9.00,usd,d\n"]
    outcomes = [RowOutcome(FAILED, error_code="balance_insufficient")] * n + [done(0)]
    _, summary, table = make_run(tmp_path, lines, outcomes)
    section = parse(render(summary, table)).one("section", id="rows-failed")
    rows = section.one("table").rows()
    assert len(rows) == 1 + ROW_CAP
    assert rows[1][0] == "2" and rows[-1][0] == str(ROW_CAP + 1)
    assert f"({n:,})" in section.one("h2").text()
    assert section.one("p", class_="more").text() == "… and 57 more in the results file."
    assert len(bars_of(parse(render(summary, table)), "usd")) == 11


# --- safety --------------------------------------------------------------------------------------


def test_data_values_are_escaped(page, mixed) -> None:
    html, doc, summary = page
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert EVIL in doc.text()  # shown to the reader as text
    evil = dict(summary, job=f'x"{EVIL}', ledger=f"/tmp/{EVIL}.csv", run_id=EVIL)
    evil["ledger_sha256"] = f'"{EVIL}'
    html = render(evil, mixed[2], {"clean": False, "discrepancies": {EVIL: 1}, "report": EVIL})
    assert "<script" not in html.lower() and '"<' not in html
    assert parse(html).one(id="reconcile").one("table").rows()[1][0] == EVIL


def test_the_page_refers_to_nothing_outside_itself(page) -> None:
    html = page[0].lower()
    for needle in ("http", "src=", "href=", "<script", "url(", "@import", "<link", "<iframe"):
        assert needle not in html, needle
    assert html.startswith("<!doctype html>") and "<style>" in html


# --- reconciliation ------------------------------------------------------------------------------


def test_not_reconciled_yet(page) -> None:
    section = page[1].one("section", id="reconcile")
    assert " ".join(section.text().split()).endswith(
        "Not reconciled yet: run ledgerrun reconcile payouts"
    )


def test_clean_reconciliation(mixed) -> None:
    _, summary, table = mixed
    rec = {"job": "payouts", "clean": True, "succeeded_rows_checked": 15, "debits_found": 15,
           "discrepancies": {}, "ended_at": "2026-11-26T03:00:00Z"}  # fmt: skip
    section = parse(render(summary, table, rec)).one("section", id="reconcile")
    assert "v-green" in section.one("p", class_="verdict").attrs["class"]
    text = " ".join(section.text().split())
    assert "Everything agrees with Stripe" in text and "15 succeeded rows checked" in text
    assert "older than the run" not in text and section.all("table") == []


def test_dirty_reconciliation_lists_each_kind_with_what_to_do(mixed) -> None:
    _, summary, table = mixed
    rec = {"job": "payouts", "clean": False, "succeeded_rows_checked": 15, "debits_found": 17,
           "discrepancies": {"duplicate": 2, "orphan": 1}, "report": "/x/run.reconcile.csv",
           "ended_at": "2026-11-26T01:00:00Z"}  # fmt: skip
    section = parse(render(summary, table, rec)).one("section", id="reconcile")
    assert "v-red" in section.one("p", class_="verdict").attrs["class"]
    assert section.one("p", class_="verdict").text() == "3 discrepancies with Stripe."
    assert section.one("table").rows()[1:] == [
        ["duplicate", "2", rc.NEXT_STEP["duplicate"]],
        ["orphan", "1", rc.NEXT_STEP["orphan"]],
    ]
    text = " ".join(section.text().split())
    assert "run.reconcile.csv" in text and "older than the run" in text


# --- files ---------------------------------------------------------------------------------------


def test_write_report_is_atomic_and_beside_the_results(mixed) -> None:
    results, summary, table = mixed
    assert report_path(results) == results.with_name("run.results.csv.report.html")
    path = write_report(results, summary, table)
    assert path == report_path(results)
    assert path.read_text(encoding="utf-8") == render(summary, table)
    assert not [p for p in results.parent.iterdir() if p.name.endswith(".tmp")]
    footer = parse(path.read_text(encoding="utf-8")).one("footer").text()
    assert "run.results.csv" in footer and f"ledgerrun {ledgerrun.__version__}" in footer


@pytest.mark.parametrize("results_name", ["run.results.csv", "run.results.parquet"])
def test_refresh_report_reads_the_files_of_a_run(tmp_path, results_name) -> None:
    results, summary, _ = make_run(
        tmp_path, MIXED, mixed_outcomes(), exit_code=3, results_name=results_name
    )
    assert read_results(results).num_rows == len(MIXED)
    path = refresh_report(results)
    assert path == report_path(results)
    doc = parse(path.read_text(encoding="utf-8"))
    assert doc.one(id="rows-failed").one("table").rows()[2][1] == EVIL  # the "'" escape undone
    assert "Not reconciled yet" in doc.one(id="reconcile").text()
    assert path.read_text(encoding="utf-8") == render(summary, read_results(results))

    report = rc.Reconciliation("payouts", "2026-11-26", results, WHEN, checked=15, objects=16)
    report.discrepancies.append(rc.Discrepancy("orphan", "zz", "acct_1Z", "tr_9", "", "not here"))
    report.ended_at = WHEN + dt.timedelta(hours=1)
    rc_files.write_report(report)
    doc = parse(refresh_report(results).read_text(encoding="utf-8"))
    assert doc.one(id="reconcile").one("table").rows()[1][:2] == ["orphan", "1"]


def test_refresh_report_without_a_summary_does_nothing(tmp_path) -> None:
    results, _, _ = make_run(tmp_path, ["a,acct_1A,1.00,usd,d\n"], [done(0)], exit_code=0)
    summary_path(results).unlink()
    assert refresh_report(results) is None
    assert not report_path(results).exists()


def test_a_dry_run_says_so(tmp_path) -> None:
    outcomes = [RowOutcome(SKIPPED, error_code="dry_run", error_message="would be sent")]
    _, summary, table = make_run(tmp_path, ["a,acct_1A,1.00,usd,d\n"], outcomes, exit_code=0,
                                 dry_run=True)  # fmt: skip
    doc = parse(render(summary, table))
    assert "Dry run of 1 row: nothing sent." in doc.one(id="verdict").text()
    assert "yes: nothing was sent" in doc.one("header").text()
    assert doc.one(id="skipped").one("table").rows()[1][2] == "Run without --dry-run to send them."
    assert json.loads(summary_path(tmp_path / "run.results.csv").read_text())["dry_run"] is True
