"""The Python API: docs/python.md's worked example runs as written, and the API behaves as the
command line does (same results for a DataFrame as for a file, nothing sent for an invalid
ledger, nothing sent twice, the same exit codes), without pandas in ``import ledgerrun``."""

from __future__ import annotations

import contextlib
import decimal
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import ledgerrun
from ledgerrun.cli import main
from ledgerrun.errors import ExitCode, LockHeldError
from ledgerrun.jobfile import load_target
from ledgerrun.output.results import read_results
from ledgerrun_sandbox import SandboxServer
from tests.helpers.cli import held_by_another_process, write_job
from tests.helpers.constants import JOBS, KEY, ROOT, RUN_DATE, SAMPLES
from tests.helpers.sandbox import balances, debits
from tests.helpers.sandbox import sandbox_state as state

DOC = ROOT / "docs" / "python.md"
A, B, D = "acct_1ConnAA000000", "acct_1ConnBA000001", "acct_1ConnDA000003"  # D: 4,689.58 USD
ROWS = [
    f"P-1,{A},12.50,usd,transfer,Listing fee,INV-1",
    f'P-2,{B},"1,000.00",usd,charge,Chargeback fee,=INV-2',
    f"P-3,{A},0.99,usd,,,",
    f"P-4,{B},7,usd,transfer,Late fee,INV-4",
]
VOLATILE = ["transfer_id", "payment_id", "stripe_request_id", "completed_at"]
PROBLEM_COLUMNS = ["row", "column", "code", "value", "message"]


@pytest.fixture(autouse=True)
def stripe_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", KEY)


@contextlib.contextmanager
def another_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SAMPLES / "accounts.json", port=0, api_keys=[KEY], limits="off") as server:
        yield server


def frame_of(rows: list[str], index: list[Any] | None = None) -> pd.DataFrame:
    """The rows as a finance engineer would load them: every cell as text, as written."""
    import csv
    import io

    header = "adjustment_id,account,amount,currency,method,description,metadata.invoice"
    records = list(csv.reader(io.StringIO("\n".join([header, *rows]))))
    return pd.DataFrame(records[1:], columns=records[0], index=index)


def cli_code(*args: object) -> int:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code


# --- the documentation -------------------------------------------------------------------------


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_worked_example_in_docs_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRIPE_API_KEY")  # the worked example sets its own, the one its seed lists
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 10
    namespace: dict[str, Any] = {"__name__": "docs_python"}
    try:
        for number, block in enumerate(blocks, start=1):
            exec(compile(block, f"{DOC.name}, python block {number}", "exec"), namespace)
    finally:
        if namespace.get("sandbox") is not None:
            namespace["sandbox"].stop()
    out = tmp_path / "out"
    assert (out / "marketplace-fees-2026-11-26.results.csv").exists()
    assert (out / "marketplace-fees-2026-11-26.results.reversals.csv").exists()
    written = "".join(p.read_text(errors="replace") for p in out.iterdir())
    assert os.environ["STRIPE_API_KEY"] == "sk_test_notebook_rehearsal"
    assert "sk_test_notebook_rehearsal" not in written


# --- behaviour ---------------------------------------------------------------------------------


def test_a_dataframe_ledger_gives_the_results_of_the_same_ledger_as_a_file(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    from_file = write_job(tmp_path / "file", sandbox.url, ROWS, name="from-file")
    by_file = ledgerrun.run(from_file, date=RUN_DATE)
    with another_sandbox() as other:
        from_frame = write_job(tmp_path / "frame", other.url, [], name="from-frame")
        by_frame = ledgerrun.run(from_frame, frame_of(ROWS), date=RUN_DATE)
    assert by_file.exit_code == by_frame.exit_code == ExitCode.OK
    assert by_frame.counts == by_file.counts == {**by_file.counts, "succeeded": 4}
    pd.testing.assert_frame_equal(
        by_frame.results.drop(columns=VOLATILE).reset_index(drop=True),
        by_file.results.drop(columns=VOLATILE),
    )
    assert list(by_frame.results["metadata.invoice"]) == ["INV-1", "=INV-2", "", "INV-4"]
    assert list(by_frame.results["amount"]) == ["12.50", "1000.00", "0.99", "7.00"]
    # .results is the results file, value for value (the CSV's formula escape undone)
    on_disk = read_results(by_file.results_path).to_pandas(types_mapper=_int64)
    pd.testing.assert_frame_equal(by_file.results, on_disk, check_dtype=False)
    assert str(by_file.results["amount_minor"].dtype) == "Int64"


def _int64(kind: Any) -> Any:
    import pyarrow as pa

    return pd.Int64Dtype() if kind == pa.int64() else None


def test_typed_columns_are_read_exactly_and_named_indexes_are_columns(tmp_path: Path) -> None:
    job = write_job(tmp_path, "http://127.0.0.1:9", [], name="typed")
    typed = pd.DataFrame(
        {
            "adjustment_id": ["T-1", "T-2", "T-3"],
            "account": [A, A, B],
            "amount": [decimal.Decimal("12.50"), 15.5, 0.1 + 0.2],
            "amount_minor": pd.array([1250, 1550, None], dtype="Int64"),
            "currency": ["usd", "usd", "usd"],
        }
    ).set_index("adjustment_id")
    checked = ledgerrun.plan(job, typed, offline=True, date=RUN_DATE)
    assert checked.problems[["row", "column", "code", "value"]].to_dict("records") == [
        {"row": 4, "column": "amount", "code": "too_many_decimals", "value": "0.30000000000000004"}
    ]
    assert list(checked.problems["index"]) == ["T-3"]
    assert checked.groups[["account", "rows", "amount", "amount_minor"]].to_dict("records") == [
        {"account": A, "rows": 2, "amount": "28.00", "amount_minor": 2800}
    ]


def test_an_invalid_dataframe_names_row_and_column_and_sends_nothing(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    job = write_job(tmp_path, sandbox.url, [], name="invalid")
    ledger = frame_of(ROWS, index=["a", "b", "c", "d"])
    ledger.loc["b", "amount"] = "12.345"
    ledger.loc["d", "account"] = "acct_nope!"
    before = state(sandbox.url)
    checked = ledgerrun.validate(job, ledger, date=RUN_DATE)
    assert checked.exit_code == ExitCode.INVALID and not checked.ok
    found = checked.problems[["row", "column", "code", "index"]].to_dict("records")
    assert found == [
        {"row": 3, "column": "amount", "code": "too_many_decimals", "index": "b"},
        {"row": 5, "column": "account", "code": "bad_account", "index": "d"},
    ]
    assert all(checked.problems["message"].str.len() > 20)
    ran = ledgerrun.run(job, ledger, date=RUN_DATE)
    assert ran.exit_code == ExitCode.INVALID
    assert dict(zip(ran.results.index, ran.results["status"], strict=True)) == {
        "a": "skipped", "b": "invalid", "c": "skipped", "d": "invalid"
    }  # fmt: skip
    after = state(sandbox.url)
    assert after["stats"]["write_requests"] == before["stats"]["write_requests"]
    assert (after["transfers"], after["charges"]) == (before["transfers"], before["charges"])
    assert balances(after) == balances(before)


def test_a_run_then_a_rerun_never_debits_twice(tmp_path: Path, sandbox: SandboxServer) -> None:
    job = write_job(tmp_path, sandbox.url, [], name="twice")
    ledger = frame_of(ROWS)
    first = ledgerrun.run(job, ledger, date=RUN_DATE)
    assert first.exit_code == ExitCode.OK and first.summary.sent_now == 4
    # each row's outcome, read back from the file the run set them aside in
    ids = list(zip(first.results["transfer_id"], first.results["payment_id"], strict=True))
    assert [(o.transfer_id or "", o.payment_id or "") for o in first.outcomes] == ids
    assert [o.status for o in first.outcomes] == ["succeeded"] * 4
    assert all(i != ("", "") for i in ids)
    after_first = state(sandbox.url)
    again = ledgerrun.run(job, ledger, date=RUN_DATE)
    assert again.exit_code == ExitCode.OK
    assert (again.summary.sent_now, again.summary.done_earlier) == (0, 4)
    assert [o.earlier for o in again.outcomes] == [True] * 4
    assert list(again.results["transfer_id"]) == list(first.results["transfer_id"])
    # the same DataFrame as another job, with a journal of its own: Stripe's books still say done
    elsewhere = ledgerrun.run(
        ledger,
        job_name="another-job",
        results=tmp_path / "elsewhere" / "results.csv",
        journal=tmp_path / "elsewhere" / "journal.sqlite",
        api_base=sandbox.url,
        date=RUN_DATE,
    )
    assert elsewhere.exit_code == ExitCode.OK and elsewhere.summary.sent_now == 0
    now = state(sandbox.url)
    assert debits(now) == {"P-1": 1, "P-2": 1, "P-3": 1, "P-4": 1}
    assert balances(now) == balances(after_first)


def test_exit_codes_are_the_command_lines(tmp_path: Path, sandbox: SandboxServer) -> None:
    bad = JOBS / "bad_adjustments.toml"
    assert ledgerrun.validate(bad, offline=True).exit_code == cli_code("validate", "--offline", bad)
    assert ledgerrun.validate(bad, offline=True).exit_code == ExitCode.INVALID
    assert ledgerrun.plan(bad, offline=True).exit_code == cli_code("plan", "--offline", bad)
    rows = [*ROWS, f"P-5,{D},4999.00,usd,transfer,Too much,INV-5"]  # more than D holds
    by_cli = write_job(tmp_path / "cli", sandbox.url, rows, name="codes")
    day = RUN_DATE.isoformat()
    cli_run = cli_code("run", by_cli, "--date", day)
    cli_reconcile = cli_code("reconcile", by_cli, "--date", day)
    with another_sandbox() as other:
        by_api = write_job(tmp_path / "api", other.url, rows, name="codes")
        api_run = ledgerrun.run(by_api, date=day)
        api_reconcile = ledgerrun.reconcile(by_api, date=day)
    assert api_run.exit_code == cli_run == ExitCode.FAILED
    assert api_run.counts["failed"] == 1
    assert api_reconcile.exit_code == cli_reconcile == ExitCode.OK
    hold = (
        "import sys; from ledgerrun.store import open_store\nopen_store(sys.argv[1]).lock('codes')"
    )
    with held_by_another_process(hold, tmp_path / "api" / "state" / "codes.sqlite"):
        with pytest.raises(LockHeldError) as raised:
            ledgerrun.run(by_api, date=day)
        assert raised.value.exit_code == ExitCode.LOCKED == cli_code("run", by_api, "--date", day)


def test_targets_and_problems_match_the_command_lines_json(tmp_path: Path) -> None:
    import json

    bad = JOBS / "bad_adjustments.toml"
    result = CliRunner().invoke(main, ["validate", "--offline", "--format", "json", str(bad)])
    expected = json.loads(result.stdout)
    as_job = ledgerrun.validate(load_target(bad, RUN_DATE), offline=True)
    assert as_job.rows == expected["rows"] and as_job.valid == expected["valid"]
    assert as_job.problems[PROBLEM_COLUMNS].to_dict("records") == expected["problems"]
    assert "index" not in as_job.problems.columns  # a file has no DataFrame labels
    bare = ledgerrun.validate(SAMPLES / "adjustments.csv", offline=True, date=RUN_DATE)
    assert (bare.exit_code, bare.rows, bare.job.name) == (ExitCode.OK, 240, "adjustments")
    assert bare.job.results == SAMPLES / "adjustments-2026-11-26.results.csv"  # as the CLI's


def test_expected_failures_raise_the_librarys_errors(tmp_path: Path) -> None:
    from ledgerrun.errors import ConfigError

    job = write_job(tmp_path, "http://127.0.0.1:9", [], name="errs")
    cases = [
        (lambda: ledgerrun.validate(tmp_path / "missing.toml"), "job file not found"),
        (lambda: ledgerrun.run(frame_of(ROWS)), "give job_name="),
        (lambda: ledgerrun.reconcile(frame_of(ROWS)), "not a DataFrame"),
        (lambda: ledgerrun.reverse(job), "exactly one of adjustments="),
        (lambda: ledgerrun.run(job, concurrency=0), "concurrency must be between"),
        (lambda: ledgerrun.plan(job, date="26/11/2026"), "YYYY-MM-DD"),
        (lambda: ledgerrun.plan(job, ledger=42), "ledger must be a path"),
        (lambda: ledgerrun.plan(load_target(job, RUN_DATE), date="2026-11-27"), "run date"),
    ]
    for call, words in cases:
        with pytest.raises(ConfigError, match=re.escape(words)) as raised:
            call()
        assert raised.value.exit_code == ExitCode.INVALID


def test_import_ledgerrun_and_the_commands_never_import_pandas() -> None:
    script = f"""
import sys
import ledgerrun
assert "pandas" not in sys.modules, "import ledgerrun imported pandas"
import ledgerrun.reconcile.check  # the subpackage of the same name as the function
assert ledgerrun.reconcile is ledgerrun.api.reconcile, ledgerrun.reconcile
assert callable(ledgerrun.validate) and "pandas" not in sys.modules
from ledgerrun.startup import skip_pandas_probe
skip_pandas_probe()
from ledgerrun.cli import main
for args in (["--help"], ["validate", "--offline", {str(SAMPLES / "adjustments.csv")!r}],
             ["plan", "--offline", {str(JOBS / "bad_adjustments.toml")!r}]):
    try:
        main(args, standalone_mode=True)
    except SystemExit:
        pass
assert "pandas" not in sys.modules, "a command imported pandas"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")
