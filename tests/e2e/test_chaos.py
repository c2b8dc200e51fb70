"""The crash and fault suites, short and seeded: `make test` runs the SQLite crash suite, `make
soak` the PostgreSQL one and the faults together, and the long versions (tools/chaos.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import cli
from tests.helpers.sandbox import sandbox_state
from tests.store import pg
from tools.chaos import check_exactly_once, check_reports, crash_loop, finish, world

pytestmark = pytest.mark.slow


# rows and SIGKILLs per store: the PostgreSQL run is shorter (make soak runs the long one).
CRASH = {"sqlite": (300, 6), "postgresql": (200, 4)}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.soak)])
def journal(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """The kind of store and where it is: a SQLite path, or a fresh PostgreSQL schema's URL."""
    if request.param == "sqlite":
        yield "sqlite", "state/chaos.sqlite"
        return
    url, schema = pg.fresh_store_url()
    yield "postgresql", url
    pg.drop_schema(schema)


def test_sigkill_at_random_moments_never_doubles_or_loses_a_debit(
    tmp_path: Path, journal: tuple[str, str]
) -> None:
    kind, location = journal
    rows, kills = CRASH[kind]
    with world(tmp_path, rows, 11, "--latency-ms", "20", rate_limit=100, journal=location) as w:
        made = crash_loop(w, kills=kills, seed=11)
        assert made == kills, f"the ledger was done before the runner was killed {kills} times"
        codes = finish(w)
        assert codes[-1] == 0, codes
        check_exactly_once(w)


@pytest.mark.soak  # make test meets each fault alone (tests/e2e/test_failures.py)
def test_errors_lock_timeouts_and_drops_together_settle_in_two_runs(tmp_path: Path) -> None:
    faults = ("--error-rate", "0.1", "--error-mode", "retryable", "--lock-timeout-rate", "0.1",
              "--drop-rate", "0.1")  # fmt: skip
    with world(tmp_path, 200, 5, *faults) as w:
        first = cli("run", w.job)
        assert first.returncode in (0, 3), first.stdout + first.stderr
        check_reports(w)
        second = cli("run", w.job)
        assert second.returncode == 0, second.stdout + second.stderr
        check_reports(w)
        check_exactly_once(w)
        injected = sandbox_state(w.url)["stats"]["faults"]
        assert injected["error"] and injected["lock_timeout"] and injected["drop"], injected
