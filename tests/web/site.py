"""A web application's folder for tests: serve.toml, a jobs folder pointing at a sandbox, users."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers.constants import HEADER, KEY

PASSWORD = "correct horse battery staple"
A, B, C = "acct_1ConnAA000000", "acct_1ConnBA000001", "acct_1ConnCA000002"
# The same ledger with and without problems; an approval job and one without.
GOOD_ROWS = [
    "W-1,acct_1ConnAA000000,10.00,usd,,Rent <b>November</b>,INV-1",
    'W-2,acct_1ConnAA000000,"1,000.50",usd,,Fees,INV-2',
    "W-3,acct_1ConnBA000001,5,usd,,Fees,INV-3",
    "W-4,acct_1ConnCA000002,7.25,usd,,Fees,INV-4",
]
BAD_ROWS = [
    "W-1,acct_1ConnAA000000,10.00,usd,,Rent <b>November</b>,INV-1",
    "W-2,acct_1ConnAA000000,ten,usd,,Fees,INV-2",
    "W-3,not-an-account,5,usd,,Fees,INV-3",
    "W-4,acct_1ConnCA000002,7.25,usd,,Fees,INV-4",
]


def ledger(rows: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


# Two approvers above 100.00 USD moved (debits plus credits), none below it.
TWO_ABOVE_100 = '[approval]\nrules = [{ above = "100.00", currency = "usd", approvers = 2 }]\n'


def make_site(
    folder: Path, sandbox_url: str, *, serve_extra: str = "", max_upload_mb: int = 1
) -> Path:
    """serve.toml, jobs/payouts.toml (approval required), jobs/fees.toml (none) and
    jobs/treasury.toml (two approvers above 100.00 USD, none below)."""
    jobs = folder / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    for name, approval, extra in (("payouts", "required", ""), ("fees", "none", ""),
                                  ("treasury", "none", TWO_ABOVE_100)):  # fmt: skip
        (jobs / f"{name}.toml").write_text(
            f'[job]\nname = "{name}"\nledger = "unused.csv"\napproval = "{approval}"\n'
            f'results = "../out/{{job}}-{{date}}.results.csv"\n\n'
            f'[stripe]\napi_base = "{sandbox_url}"\nrate_limit = 200\n'
            f'limits = "off"\nconcurrency = 4\n'
            f"timeout_s = 10\n\n{extra}",
            encoding="utf-8",
        )
    config = folder / "serve.toml"
    config.write_text(
        '[serve]\nhost = "127.0.0.1"\nport = 0\njobs = "jobs"\nstore = "state/web.sqlite"\n'
        f'uploads = "uploads"\nmax_upload_mb = {max_upload_mb}\n{serve_extra}\n',
        encoding="utf-8",
    )
    return config


def add_user(store: object, name: str, role: str, password: str = PASSWORD) -> None:
    """Straight into the store (the CLI path is tested on its own, once)."""
    from ledgerrun.store.web_model import User
    from ledgerrun.web.security import hash_password

    store.add_user(  # type: ignore[attr-defined]
        User(name, role, hash_password(password), False, dt.datetime.now(dt.UTC))
    )


def cli_add_user(config: Path, name: str, role: str, password: str = PASSWORD) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ledgerrun", "users", "add", name, "--role", role,
         "--config", str(config), "--password-stdin"],
        input=password + "\n", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def env() -> dict[str, str]:
    return {"STRIPE_API_KEY": KEY, "LEDGERRUN_SECRET_KEY": "test-secret-" + "x" * 40}


def start_server(
    config: Path, log: Path, extra_env: dict[str, str] | None = None
) -> tuple[Any, str]:
    """``ledgerrun serve`` in its own process; its URL from the first line of its output."""
    import os
    import select

    process = subprocess.Popen(
        [sys.executable, "-m", "ledgerrun", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
        env={**os.environ, **env(), **(extra_env or {})},
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 60)
    line = process.stdout.readline().strip() if ready else ""
    if not line.startswith("listening on http://"):
        process.kill()
        raise AssertionError(f"serve did not start: {line!r} {log.read_text()}")
    return process, line.removeprefix("listening on ")


def stop_server(process: Any) -> int:
    process.terminate()
    try:
        return int(process.wait(30))
    except subprocess.TimeoutExpired:
        process.kill()
        return int(process.wait(10))


def xlsx_rows(data: bytes) -> list[dict[str, str]]:
    """The rows of a workbook's first sheet, as text keyed by the header."""
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    values = [[("" if c is None else str(c)) for c in row] for row in rows]
    return [dict(zip(values[0], row, strict=False)) for row in values[1:]]
