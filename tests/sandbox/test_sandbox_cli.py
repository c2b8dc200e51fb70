"""``ledgerrun sandbox`` as a real process: first line, one SDK call, clean signal shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import stripe
from click.testing import CliRunner

from ledgerrun.cli import main
from tests.helpers.sandbox import EXPRESS, base_seed, debit, make_client

pytestmark = pytest.mark.slow


def _start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "ledgerrun", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _first_line(process: subprocess.Popen[str], timeout: float = 15) -> str:
    assert process.stdout is not None
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not line:
        process.kill()
        pytest.fail("the sandbox printed nothing")
    return line[0]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_until_signalled_then_exits_0(tmp_path: Path, signum: int) -> None:
    seed = tmp_path / "accounts.json"
    seed.write_text(json.dumps(base_seed()))
    process = _start("--accounts", str(seed), "--port", "0", "--latency-ms", "1")
    try:
        first = _first_line(process)
        assert first.startswith("listening on http://127.0.0.1:")
        url = first.removeprefix("listening on ").strip()
        assert int(url.rsplit(":", 1)[1]) > 0
        transfer = debit(make_client(url), EXPRESS, 321)
        assert transfer.amount == 321 and transfer.id.startswith("tr_")
    finally:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_malformed_seed_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    seed = tmp_path / "accounts.json"
    broken = base_seed()
    broken["accounts"][0]["balance"] = {"usd": "lots"}
    seed.write_text(json.dumps(broken))
    process = _start("--accounts", str(seed), "--port", "0")
    stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 2
    assert "accounts[0].balance.usd must be an integer" in stderr
    assert "Traceback" not in stderr and "listening" not in stdout


def test_help_explains_every_option() -> None:
    result = CliRunner().invoke(main, ["sandbox", "--help"])
    assert result.exit_code == 0
    for option in (
        "--accounts", "--host", "--port", "--latency-ms", "--error-rate",
        "--lock-timeout-rate", "--drop-rate", "--max-rps", "--seed", "--verbose",
    ):  # fmt: skip
        assert option in result.output
    assert "idempotency" in result.output.lower()


def test_invalid_option_values_exit_2(tmp_path: Path) -> None:
    seed = tmp_path / "accounts.json"
    seed.write_text(json.dumps(base_seed()))
    result = CliRunner().invoke(main, ["sandbox", "--accounts", str(seed), "--error-rate", "2"])
    assert result.exit_code == 2 and "--error-rate" in result.output


def test_seed_fields_need_no_new_options(tmp_path: Path) -> None:
    seed = base_seed()
    seed["api_keys"] = ["sk_test_cliRehearsalKey0001"]
    seed["accounts"][0]["negative_balances"] = True
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(seed))
    process = _start("--accounts", str(path), "--port", "0")
    try:
        first = _first_line(process)
        assert first.startswith("listening on http://")
        url = first.removeprefix("listening on ").strip()
        allowed = make_client(url, key="sk_test_cliRehearsalKey0001")
        assert debit(allowed, EXPRESS, 600_000).amount == 600_000  # beyond its 500,000
        with pytest.raises(stripe.AuthenticationError):
            debit(make_client(url), EXPRESS, 1)  # the usual test key is not listed
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
