"""The command line through click's CliRunner: exit codes, output shapes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ledgerrun.cli import main
from tests.helpers.constants import JOBS, SAMPLES


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_has_its_own_help(name: str) -> None:
    command = main.commands[name]
    assert command.help and len(command.help) > 40, f"{name} needs help text"
    code, out, _ = invoke(name, "--help")
    assert code == 0 and f"Usage: main {name}" in out
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts[0]} needs help text"


def test_help_texts_are_not_copies_of_each_other() -> None:
    helps = [c.help for c in main.commands.values()]
    assert len(set(helps)) == len(helps)


def test_validate_valid_ledger_text_and_json() -> None:
    code, out, _ = invoke("validate", "--offline", SAMPLES / "adjustments.csv")
    assert code == 0 and "240 rows, all valid" in out
    code, out, _ = invoke("validate", "--offline", "--format", "json", SAMPLES / "adjustments.csv")
    assert code == 0
    assert json.loads(out) == {"valid": True, "rows": 240, "problems": []}


def test_validate_invalid_ledger_exits_2_with_every_problem_in_json() -> None:
    code, out, _ = invoke(
        "validate", "--offline", "--format", "json", JOBS / "bad_adjustments.toml"
    )
    assert code == 2
    payload = json.loads(out)
    assert payload["valid"] is False and payload["rows"] == 23
    assert len(payload["problems"]) == 24
    assert set(payload["problems"][0]) == {"row", "column", "code", "value", "message"}


def test_validate_text_names_row_column_value_and_what_to_do() -> None:
    code, out, _ = invoke("validate", "--offline", JOBS / "bad_adjustments.toml")
    assert code == 2
    assert "row 9, column amount: '€15.00' [bad_amount]" in out
    assert "What to do:" in out


def test_max_problems_sums_up_the_rest_by_code() -> None:
    code, out, _ = invoke(
        "validate", "--offline", "--max-problems", "2", JOBS / "bad_adjustments.toml"
    )
    assert code == 2
    assert out.count("What to do:") == 2
    assert "... and 22 more; --format json lists them all" in out
    assert "  bad_amount                       3  9, 10, 11" in out  # grouped by code first


@pytest.mark.parametrize("name", sorted(p.name for p in (SAMPLES / "broken").iterdir()))
def test_malformed_files_exit_2_without_a_traceback(name: str) -> None:
    for fmt in ("text", "json"):
        code, out, err = invoke("validate", "--offline", "--format", fmt, SAMPLES / "broken" / name)
        assert code == 2
        assert "Traceback" not in out + err
        assert "row " in out or '"row"' in out


def test_ledger_option_replaces_the_jobs_ledger() -> None:
    code, out, _ = invoke(
        "validate", "--offline", JOBS / "demo.toml", "--ledger", SAMPLES / "bad_adjustments.csv"
    )
    assert code == 2 and "bad_adjustments.csv" in out


@pytest.fixture
def demo_job(tmp_path: Path) -> Path:
    """jobs/demo.toml with its results and journal moved into tmp_path (never the real state/)."""
    text = (JOBS / "demo.toml").read_text()
    text = text.replace('"../data_samples/', f'"{SAMPLES.as_posix()}/')
    text = text.replace('"../out/', '"out/').replace('"../state/', '"state/')
    path = tmp_path / "demo.toml"
    path.write_text(text)
    return path


def test_plan_offline_json_shape(demo_job: Path) -> None:
    code, out, _ = invoke("plan", "--offline", "--format", "json", demo_job)
    assert code == 0
    payload = json.loads(out)
    assert set(payload) == {
        *("valid", "groups", "totals", "credit_totals", "net", "problems", "control_total"),
        "consent_checked",
    }
    assert payload["control_total"] is None
    assert payload["credit_totals"] == {"usd": 789_879}  # the demo's 6 credits
    assert payload["valid"] is True and payload["problems"] == []
    assert len(payload["groups"]) == 30
    for group in payload["groups"]:
        assert set(group) == {
            *("account", "currency", "direction", "rows", "amount_minor", "done", "todo"),
        }
        assert group["done"] == 0 and group["todo"] == group["rows"]
    assert sum(g["rows"] for g in payload["groups"]) == 240
    for key, direction in (("totals", "debit"), ("credit_totals", "credit")):
        for currency, total in payload[key].items():
            assert total == sum(
                g["amount_minor"]
                for g in payload["groups"]
                if g["currency"] == currency and g["direction"] == direction
            )


def test_plan_text_shows_groups_and_totals(demo_job: Path) -> None:
    code, out, _ = invoke("plan", "--offline", demo_job)
    assert code == 0
    assert "30 groups, 240 rows to send." in out
    assert "Debits:  262,096.10 USD" in out
    assert "Credits: 7,898.79 USD" in out
    assert "Net:     254,197.31 USD" in out
    assert "Consent: checked against consents.csv." in out
    assert "USD" in out and "EUR" not in out  # a US platform's accounts hold USD


def test_plan_of_an_invalid_ledger_exits_2_and_plans_the_valid_rows() -> None:
    code, out, _ = invoke("plan", "--offline", "--format", "json", JOBS / "bad_adjustments.toml")
    assert code == 2
    payload = json.loads(out)
    assert payload["valid"] is False
    assert [g["rows"] for g in payload["groups"]] == [1]


@pytest.mark.parametrize(
    ("job", "needle"),
    [
        ('[job]\nledger = "x.csv"\n', "'job.name' is required"),
        ('[job]\nname = "x"\nledger = "x.csv"\nspeed = 3\n', "unknown key 'job.speed'"),
    ],
)
def test_bad_job_file_exits_2_with_the_key_named(tmp_path: Path, job: str, needle: str) -> None:
    path = tmp_path / "j.toml"
    path.write_text(job)
    code, _, err = invoke("validate", "--offline", path)
    assert code == 2 and needle in err and "Traceback" not in err


def test_bad_date_option_is_a_usage_error() -> None:
    code, _, err = invoke("validate", "--offline", "--date", "26/11/2026", JOBS / "demo.toml")
    assert code == 2 and "YYYY-MM-DD" in err


def test_module_entry_point_runs(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ledgerrun", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("ledgerrun, version ")


def test_the_version_shown_is_the_version_installed() -> None:
    import importlib.metadata

    import ledgerrun

    installed = importlib.metadata.version("ledgerrun")
    assert ledgerrun.__version__ == installed
    assert invoke("--version")[1].strip() == f"ledgerrun, version {installed}"
    assert f"## {installed} (" in (Path(__file__).parents[1] / "CHANGELOG.md").read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["--log-format", "json", "validate", "--bogus", "x.csv"],
        ["validate", str(JOBS / "demo.toml"), "--date", "2026-13-01", "--log-format=json"],
        ["--log-format", "json", "plan", "--format", "yaml", str(JOBS / "demo.toml")],
    ],
)
def test_usage_errors_are_json_lines_with_json_logs(args: list[str]) -> None:
    from tests.helpers.cli import cli

    done = cli(*args)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    record = json.loads(lines[0])
    assert record["event"] == "error" and record["exit_code"] == 2 and record["message"]


def test_usage_errors_are_plain_text_otherwise() -> None:
    from tests.helpers.cli import cli

    done = cli("validate", "--bogus", "x.csv")
    assert done.returncode == 2 and "No such option '--bogus'" in done.stderr
    assert "Usage: ledgerrun validate" in done.stderr and "Traceback" not in done.stderr


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in sorted(group.commands.items()):
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, (*prefix, name)))
    return paths


@pytest.mark.parametrize("path", _command_paths(main), ids=" ".join)
def test_every_command_takes_the_global_options_after_it(path: tuple[str, ...]) -> None:
    """SPEC 4: `ledgerrun COMMAND --log-format json -v` as well as before the command."""
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    names = {opt for p in command.params for opt in getattr(p, "opts", [])}
    assert {"--log-format", "-v"} <= names, f"{' '.join(path)} lacks a global option"
    code, out, err = invoke(*path, "--log-format", "json", "-v", "--help")
    assert code == 0 and "Usage:" in out, err


def test_the_sandbox_writes_only_json_on_stderr_with_json_logs(tmp_path: Path) -> None:
    """Its start line, and with -v its request log, are JSON objects like every other line."""
    import subprocess
    import sys
    import urllib.request

    from tests.helpers.constants import KEY, SAMPLE_ACCOUNTS

    command = [sys.executable, "-m", "ledgerrun", "sandbox", "--accounts", str(SAMPLE_ACCOUNTS)]
    proc = subprocess.Popen(
        [*command, "--port", "0", "-v", "--log-format", "json", "--api-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        request = urllib.request.Request(url + "/v1/account")
        request.add_header("Authorization", f"Bearer {KEY}")
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    records = [json.loads(line) for line in err.splitlines()]  # every line, or this fails
    events = [r["event"] for r in records]
    assert events[0] == "notice" and "connected account(s)" in records[0]["message"]
    assert any(r["event"] == "log" and "/v1/account" in r["message"] for r in records), events
