"""The crash and fault suites, short and seeded (the long versions run in `make soak`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.sandbox import sandbox_state
from tools.chaos import check_exactly_once, check_reports, cli, crash_loop, finish, world

pytestmark = pytest.mark.slow


def test_sigkill_at_random_moments_never_doubles_or_loses_a_debit(tmp_path: Path) -> None:
    with world(tmp_path, 400, 11, "--latency-ms", "20", rate_limit=100) as w:
        made = crash_loop(w, kills=8, seed=11)
        assert made == 8, "the ledger was done before the runner could be killed 8 times"
        codes = finish(w)
        assert codes[-1] == 0, codes
        check_exactly_once(w)


def test_errors_lock_timeouts_and_drops_together_settle_in_two_runs(tmp_path: Path) -> None:
    faults = ("--error-rate", "0.1", "--lock-timeout-rate", "0.1", "--drop-rate", "0.1")
    with world(tmp_path, 300, 5, *faults) as w:
        first = cli("run", w.job)
        assert first.returncode in (0, 3), first.stdout + first.stderr
        check_reports(w)
        second = cli("run", w.job)
        assert second.returncode == 0, second.stdout + second.stderr
        check_reports(w)
        check_exactly_once(w)
        injected = sandbox_state(w.url)["stats"]["faults"]
        assert injected["error"] and injected["lock_timeout"] and injected["drop"], injected
