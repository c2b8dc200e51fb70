"""--wait-for-ledger's wait, on a fake clock: it looks every second until the file is there and
has stopped growing, or the time is up; and which missing ledger is "not arrived yet"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ledgerrun.errors import ConfigError, ExitCode
from ledgerrun.ingest.read import LedgerNotArrivedError, require_ledger, wait_for_ledger
from ledgerrun.jobfile import load_job_file
from tests.helpers.fakes import FakeClock

DAY = dt.date(2026, 11, 26)


def job_file(folder: Path, ledger: str | None) -> Path:
    path = folder / "nightly.toml"
    line = f'ledger = "{ledger}"\n' if ledger is not None else ""
    path.write_text(f'[job]\nname = "nightly"\n{line}', encoding="utf-8")
    return path


class Dropping(FakeClock):
    """A clock on whose sleeps a file is written bit by bit, as a slow copy writes it."""

    def __init__(self, path: Path, after: int, parts: list[str]) -> None:
        super().__init__()
        self.path, self.after, self.parts = path, after, parts

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if len(self.slept) > self.after and self.parts:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(self.parts.pop(0))


def test_it_waits_for_the_file_and_for_it_to_stop_growing(tmp_path: Path) -> None:
    job = load_job_file(job_file(tmp_path, "inbox/{date}.csv"), DAY)
    assert job.ledger is not None
    job.ledger.parent.mkdir()
    clock = Dropping(job.ledger, after=3, parts=["adjustment_id,", "account\n", "A-1,acct_1\n"])
    said: list[Path] = []
    assert wait_for_ledger(job, 600, clock, waiting=said.append)
    assert said == [job.ledger]
    # appeared after the 4th look, grew on the 5th and 6th, unchanged on the 7th
    assert len(clock.slept) == 7 and all(s == 1.0 for s in clock.slept)
    assert job.ledger.read_text() == "adjustment_id,account\nA-1,acct_1\n"


def test_it_gives_up_when_the_time_is_up(tmp_path: Path) -> None:
    job = load_job_file(job_file(tmp_path, "inbox/{date}.csv"), DAY)
    clock = FakeClock()
    assert not wait_for_ledger(job, 90, clock)
    assert sum(clock.slept) == 90
    with pytest.raises(LedgerNotArrivedError) as caught:
        require_ledger(job)
    assert caught.value.exit_code == ExitCode.INCOMPLETE
    assert "the ledger for 2026-11-26 has not arrived yet" in str(caught.value)


def test_a_file_already_there_needs_no_wait(tmp_path: Path) -> None:
    (tmp_path / "ledger.csv").write_text("adjustment_id\n", encoding="utf-8")
    job = load_job_file(job_file(tmp_path, "ledger.csv"), DAY)
    clock = FakeClock()
    assert wait_for_ledger(job, 600, clock, waiting=lambda path: pytest.fail("said it waits"))
    assert clock.slept == []


def test_only_a_dated_path_is_not_arrived_yet(tmp_path: Path) -> None:
    fixed = load_job_file(job_file(tmp_path, "inbox/today.csv"), DAY)
    assert not fixed.ledger_dated
    assert require_ledger(fixed) == fixed.ledger  # missing, but left to the reader: exit 2
    dated = load_job_file(job_file(tmp_path, "inbox/{job}-{date}.csv"), DAY)
    assert dated.ledger_dated
    given = dated.replace(ledger=tmp_path / "elsewhere.csv")  # --ledger: a fixed path
    assert not given.ledger_dated and require_ledger(given) == tmp_path / "elsewhere.csv"


def test_a_job_without_a_ledger_says_so_when_one_is_needed(tmp_path: Path) -> None:
    job = load_job_file(job_file(tmp_path, None), DAY)
    assert job.ledger is None
    assert not wait_for_ledger(job, 60, FakeClock())
    with pytest.raises(ConfigError, match="names no ledger"):
        require_ledger(job)
