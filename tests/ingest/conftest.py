"""Helpers for the ingest tests: validate a ledger written on the spot, under an optional job."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ledgerrun.ingest.validate import Validation, check
from ledgerrun.jobfile import load_target
from tests.helpers.constants import RUN_DATE

Validate = Callable[..., Validation]


@pytest.fixture
def validated(write) -> Validate:
    """``validated(text, name="l.csv", job="")``: the ledger's validation; ``job`` is TOML put
    under the job's own [job] table (then further tables may follow)."""

    def run(text: str | bytes, name: str = "l.csv", job: str | None = None) -> Validation:
        path: Path = write(name, text)
        if job is None:
            return check(load_target(path, RUN_DATE))
        job_path = write("j.toml", f'[job]\nname = "t"\nledger = "{path.name}"\n{job}\n')
        return check(load_target(job_path, RUN_DATE))

    return run


def found(v: Validation) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.code) for p in v.problems]
