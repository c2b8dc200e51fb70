"""Constants and helpers the tests import (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
JOBS = ROOT / "jobs"
RUN_DATE = dt.date(2026, 11, 26)

# A test key shaped like a real one: tests grep every output and file for it.
KEY = "sk_test_51e2eSECRETkeyNEVERprinted0042"
PLATFORM = "acct_1PlatformAAAAAAA"
HEADER = "adjustment_id,account,amount,currency,method,description,metadata.invoice"


def cli(
    *args: object, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in its own process, with the test key in its environment."""
    full_env = {**os.environ, "STRIPE_API_KEY": KEY, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ledgerrun", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/_sandbox/state") as response:
        result: dict[str, Any] = json.load(response)
        return result


def advance_clock(url: str, seconds: float) -> None:
    request = urllib.request.Request(
        url + "/_sandbox/clock", data=f"advance_s={seconds}".encode(), method="POST"
    )
    urllib.request.urlopen(request).close()


def debits(snapshot: dict[str, Any], job: str | None = None) -> Counter[str]:
    """How many debits the sandbox holds per adjustment id (of one job, or of any)."""
    found: Counter[str] = Counter()
    for obj in [*snapshot["transfers"], *snapshot["charges"]]:
        meta = obj.get("metadata") or {}
        if "ledgerrun_adjustment_id" in meta and job in (None, meta.get("ledgerrun_job")):
            found[meta["ledgerrun_adjustment_id"]] += 1
    return found


def balances(snapshot: dict[str, Any]) -> dict[str, dict[str, int]]:
    out = {snapshot["platform"]["id"]: snapshot["platform"]["balance"]}
    out.update({a["id"]: a["balance"] for a in snapshot["accounts"]})
    return out


def write_job(
    folder: Path,
    url: str,
    rows: list[str] | None = None,
    *,
    name: str = "e2e",
    ledger: Path | None = None,
    extra: str = "",
    stripe: str = "",
    concurrency: int = 4,
) -> Path:
    """A ledger (header plus ``rows``) and a job file pointing at the sandbox ``url``."""
    folder.mkdir(parents=True, exist_ok=True)
    if ledger is None:
        ledger = folder / "ledger.csv"
        ledger.write_text("\n".join([HEADER, *(rows or [])]) + "\n", encoding="utf-8")
    job = folder / f"{name}.toml"
    job.write_text(
        f'[job]\nname = "{name}"\nledger = "{ledger.as_posix()}"\n'
        f'results = "out/{{job}}.results.csv"\njournal = "state/{{job}}.sqlite"\n{extra}\n'
        f'[stripe]\napi_base = "{url}"\nrate_limit = 200\nconcurrency = {concurrency}\n'
        f"timeout_s = 10\n"
        f"{stripe}\n",
        encoding="utf-8",
    )
    return job


def results_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@contextlib.contextmanager
def held_by_another_process(code: str, path: Path) -> Iterator[None]:
    """Run ``code`` (which holds something on ``path``, given as ``sys.argv[1]``, then prints
    'ready' and sleeps) in its own process for the duration of the block."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code + "\nprint('ready', flush=True)\nimport time; time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield
    finally:
        holder.kill()
        holder.wait()


def prepared_of(validation: Any, job: Any = None) -> Any:
    """A validation as the later stages take it (offline: nothing from a store or Stripe)."""
    from ledgerrun.jobfile import load_target
    from ledgerrun.send.prepare import Prepared

    job = job or load_target(validation.ledger.path, RUN_DATE)
    return Prepared(
        job,
        validation,
        [str(k) for k in validation.adjustment_key.to_pylist()],
        [str(d) for d in validation.direction.to_pylist()],
    )


def plan_of(validation: Any) -> Any:
    from ledgerrun.send.plan import build_plan

    return build_plan(prepared_of(validation))


def results_of(validation: Any, outcomes: list[Any]) -> Any:
    from ledgerrun.send.table import results_table

    return results_table(prepared_of(validation), outcomes)
