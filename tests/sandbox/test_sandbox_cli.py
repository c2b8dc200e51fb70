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
from tests.helpers.constants import KEY
from tests.helpers.sandbox import EXPRESS, base_seed, debit, error_of, make_client, sandbox_state

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
    process = _start(
        "--accounts", str(seed), "--port", "0", "--latency-ms", "1", "--api-key", KEY,
        "--limits", "off",
    )  # fmt: skip
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
        "--lock-timeout-rate", "--drop-rate", "--max-rps", "--seed", "--verbose", "--api-key",
        "--limits", "--error-mode", "--refund-settle-s", "--search-lag-s",
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
            debit(make_client(url), EXPRESS, 100)  # the usual test key is not listed
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr


def test_a_sandbox_without_any_key_does_not_start(tmp_path: Path) -> None:
    seed = tmp_path / "accounts.json"
    seed.write_text(json.dumps(base_seed()))  # no api_keys, and no --api-key
    process = _start("--accounts", str(seed), "--port", "0")
    stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 2 and "listening" not in stdout
    assert "cannot start the sandbox: " in stderr and "bad seed file" not in stderr
    assert "accept no API key" in stderr and "--api-key" in stderr and "Traceback" not in stderr


def test_a_live_key_is_not_a_key_the_sandbox_takes(tmp_path: Path) -> None:
    seed = tmp_path / "accounts.json"
    seed.write_text(json.dumps(base_seed()))
    live = "sk_" + "live_51CliLiveKey0000wxyz"  # built, so no scanner takes it for a secret
    process = _start("--accounts", str(seed), "--port", "0", "--api-key", live)
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == 2 and "not a test-mode" in stderr and "CliLiveKey" not in stderr


def test_limits_default_to_test_mode_and_answer_429_beyond_them(tmp_path: Path) -> None:
    """The command's default is Stripe's test mode: a burst beyond 25 requests a second gets
    429 rate_limit, counted in stats.rate_limited, and none of those was executed."""
    seed = tmp_path / "accounts.json"
    seed.write_text(json.dumps(base_seed()))
    process = _start("--accounts", str(seed), "--port", "0", "--api-key", KEY)
    try:
        url = _first_line(process).removeprefix("listening on ").strip()
        client = make_client(url)
        outcomes: list[str] = []

        def burst() -> None:
            for _ in range(40):
                try:
                    client.v1.balance.retrieve()
                    outcomes.append("ok")
                except stripe.RateLimitError as exc:
                    assert exc.http_status == 429 and error_of(exc).code == "rate_limit"
                    assert "Stripe-Should-Retry" not in (exc.headers or {})
                    outcomes.append("429")

        threads = [threading.Thread(target=burst) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        state = sandbox_state(url)
        assert outcomes.count("429") == state["stats"]["rate_limited"] > 0
        assert outcomes.count("ok") + outcomes.count("429") == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert "rate limits test" in stderr
