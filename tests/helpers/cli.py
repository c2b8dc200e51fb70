"""The real command line, in its own process, and the files it reads and writes."""

from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.helpers.constants import HEADER, KEY

# The installed executable, as users run it; ``python -m
# ledgerrun`` where the package is not installed with its entry point.
_EXECUTABLE = Path(sys.executable).with_name("ledgerrun")
COMMAND = [str(_EXECUTABLE)] if _EXECUTABLE.exists() else [sys.executable, "-m", "ledgerrun"]


def cli(
    *args: object, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in its own process, with the test key in its environment."""
    full_env = {**os.environ, "STRIPE_API_KEY": KEY, **(env or {})}
    return subprocess.run(
        [*COMMAND, *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def start_cli(
    *args: object, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[str]:
    """Start the real command line in its own process (with the test key) and return at once:
    for tests that signal, kill or race it. ``popen`` goes to :class:`subprocess.Popen`
    (output is discarded unless ``stdout``/``stderr`` say otherwise)."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(
        [*COMMAND, *map(str, args)],
        env={**os.environ, "STRIPE_API_KEY": KEY, **(env or {})},
        text=True,
        **popen,
    )


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
        f'[stripe]\napi_base = "{url}"\nrate_limit = 200\n'
        f'limits = "off"\nconcurrency = {concurrency}\n'
        f"timeout_s = 10\n"
        f"{stripe}\n",
        encoding="utf-8",
    )
    return job


def results_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def rejected_rows(results: Path) -> list[dict[str, str]]:
    """The rows of the one refused run beside ``results`` (``<stem>.rejected-<run id>.csv``)."""
    (path,) = sorted(results.parent.glob(f"{results.with_suffix('').name}.rejected-*.csv"))
    return results_rows(path)


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
