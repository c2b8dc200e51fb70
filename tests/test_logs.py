"""The JSON log (one object per line, for cron) and the terminal progress line."""

from __future__ import annotations

import io
import json
from pathlib import Path

from ledgerrun.events import AccountDone, RowDone, RunEnd, RunStart, Sending
from ledgerrun.output.logs import JsonLog, TextLog, scrub
from ledgerrun.output.progress import Progress
from ledgerrun.vocab import FAILED, SUCCEEDED, UNKNOWN, RowOutcome
from tests.helpers.cli import cli, write_job
from tests.helpers.constants import KEY, A
from tests.helpers.constants import SHORT as H
from tests.helpers.fakes import FakeClock
from tests.helpers.sandbox import sandbox_state


def done(row: int, outcome: RowOutcome, account: str = A) -> RowDone:
    return RowDone(row, f"ADJ-{row}", account, 100, "1.00 USD", "usd", "debit", outcome)


def test_scrub_keeps_only_the_kind_and_last_four() -> None:
    assert scrub(f"key {KEY} used") == f"key sk_test_…{KEY[-4:]} used"
    assert scrub("rk_live_abcdefghijkl1234 x") == "rk_live_…1234 x"
    assert KEY[8:-4] not in scrub(f"key\n{KEY}\n")
    assert scrub("a\x1b[31mred\x00") == "a\\x1b[31mred\\x00"  # a ledger cannot drive a terminal
    assert scrub("postgresql://app:s3cret@db/x") == "postgresql://app:…@db/x"


def test_scrub_skips_only_lines_its_patterns_would_leave_alone() -> None:
    """A line with no key, database URL or control character is returned as it is without the
    patterns; every line, chosen at random from the characters that matter, comes out as the
    three patterns make it."""
    import random

    from ledgerrun.scrub import _patterns

    key, url, control = _patterns()

    def by_the_patterns(text: str) -> str:
        text = key.sub(lambda m: f"{m.group(1)}…{m.group(2)}", text)
        text = url.sub(r"\1…@", text)
        return control.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)

    pieces = ["sk_test_", "rk_live_", "k_", "postgres://u:p@h", "postgresql://", "ab12", " "]
    pieces += ["\t", "\n", "\x00", "\x1b", "\x7f", "\u00e9", "\u200b", "\u2028", "@", ":"]
    lines = ["".join(random.choices(pieces, k=random.randint(0, 8))) for _ in range(3000)]
    assert [scrub(line) for line in lines] == [by_the_patterns(line) for line in lines]


def test_json_log_lines_and_fields() -> None:
    stream = io.StringIO()
    log = JsonLog(stream, now=FakeClock().now)
    log(RunStart("j", "r1", "/l.csv", "ab", rows=2, dry_run=False, mode="sandbox"))
    log(done(2, RowOutcome(SUCCEEDED)))
    refused = RowOutcome(
        FAILED,
        error_code="balance_insufficient",
        request_id="req_1",
        error_message=f"refused for {KEY}",
    )
    log(done(3, refused))
    log(AccountDone(A, rows=2, counts={"succeeded": 1, "failed": 1}))
    log(RunEnd("r1", 1, {"succeeded": 1}, {}, "r.csv", "r.csv.report.html"))
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["run_start", "row_failed", "account_done", "run_end"]
    for r in records:
        assert r["job"] == "j" and r["run_id"] == "r1" and r["ts"].endswith("Z")
    failed = records[1]
    assert (failed["row"], failed["code"], failed["request_id"], failed["amount"]) == (
        3,
        "balance_insufficient",
        "req_1",
        "1.00 USD",
    )
    assert failed["level"] == "warning" and KEY not in stream.getvalue()
    assert records[2]["failed"] == 1 and records[2]["unknown"] == 0
    assert records[3]["exit_code"] == 1 and records[3]["level"] == "warning"


def test_text_log_with_verbose_names_failures_and_accounts() -> None:
    stream = io.StringIO()
    log = TextLog(stream)
    log(done(7, RowOutcome(SUCCEEDED)))
    log(done(8, RowOutcome(UNKNOWN, error_code="network_error", error_message="lost")))
    log(AccountDone(A, rows=2, counts={"succeeded": 1, "unknown": 1}))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("row 8 ADJ-8 (1.00 USD) on acct_1ConnAA000000: unknown [network")
    assert lines[1] == f"account {A} done: 2 rows (succeeded 1, unknown 1)"


def test_progress_line_counts_rates_and_busiest_accounts() -> None:
    clock = FakeClock()
    progress = Progress(io.StringIO(), clock=clock.monotonic)
    progress(Sending(rows=100, accounts={A: 60, H: 40}))
    try:
        for n in range(50):
            clock.advance(0.1)
            status = FAILED if n == 3 else SUCCEEDED
            progress(done(n + 2, RowOutcome(status), A if n < 30 else H))
        line = progress.line(width=200)
    finally:
        progress.close()
    assert line.startswith("50/100 rows [##########..........]  50%")
    assert "10.0/s" in line and "failed 1" in line and "unknown 0" in line
    assert "left 0:05" in line
    assert f"busiest {A} 30/60, {H} 20/40" in line


def test_run_with_json_logs_end_to_end(tmp_path: Path, sandbox) -> None:
    job = write_job(
        tmp_path,
        sandbox.url,
        [
            f'J-1,{A},"1.00",usd,,,INV',
            f'J-2,{H},"99999.00",usd,,,INV',
        ],
    )
    done = cli("--log-format", "json", "run", job)
    assert done.returncode == 1
    records = [json.loads(line) for line in done.stderr.splitlines()]
    sweep = [r for r in records if r["event"] == "guard_sweep"]  # the journal's first run
    assert sweep and all(r["job"] == "e2e" and r["run_id"] for r in sweep)
    assert sweep[-1]["listed"] == sweep[-1]["listings"]
    records = [r for r in records if r["event"] != "guard_sweep"]
    events = [r["event"] for r in records]
    assert events[0] == "run_start" and events[-1] == "run_end"
    assert events.count("account_done") == 2 and events.count("row_failed") == 1
    start, end = records[0], records[-1]
    assert start["rows"] == 2 and len(start["ledger_sha256"]) == 64
    assert end["exit_code"] == 1 and end["counts"]["failed"] == 1
    assert end["totals"]["usd"]["debit"]["succeeded"] == 100
    failed = next(r for r in records if r["event"] == "row_failed")
    assert failed["row"] == 3 and failed["code"] == "balance_insufficient"
    assert failed["request_id"].startswith("req_")
    assert KEY[8:] not in done.stderr + done.stdout
    assert sandbox_state(sandbox.url)["stats"]["writes_executed"] == 1


def test_errors_are_json_too_in_json_mode(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, [f"E-1,{A},1.00,usd,,,INV"])
    done = cli("--log-format", "json", "run", job, env={"STRIPE_API_KEY": ""})
    assert done.returncode == 2
    (record,) = [json.loads(line) for line in done.stderr.splitlines()]
    assert record["event"] == "error" and record["exit_code"] == 2
    assert "STRIPE_API_KEY" in record["message"]
