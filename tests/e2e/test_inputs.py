"""End to end, issue 24's inputs: a key pasted into a ledger, and ledgers named in other scripts.

The real CLI in its own process against the sandbox over HTTP; what was sent is judged on the
sandbox's books.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.helpers.cli import cli, results_rows, write_job
from tests.helpers.constants import KEY, RUN_DATE, A, B
from tests.helpers.sandbox import debits, sandbox_state

# Key-shaped texts besides the key in use, built so no scanner takes this file for a real key.
LIVE = "rk_" + "live_" + "51AbCdEfGhIjKlMnOpQr7788"
OTHER = "sk_" + "test_" + "51SomeoneElsesKey00zyxw"


def test_a_key_in_a_ledger_is_never_sent_nor_written(tmp_path: Path, sandbox) -> None:
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(
        "adjustment_id,account,amount,currency,description,metadata.invoice,booked by\n"
        f"P-1,{A},1.00,usd,Plain row,INV-1,amara\n"
        f"P-2,{A},2.00,usd,key {KEY} pasted,INV-2,amara\n"  # the key in use
        f"P-3,{B},3.00,usd,Plain,{LIVE},jonas\n"  # a live restricted key, in metadata
        f"P-4,{B},4.00,usd,Plain,INV-4,see {OTHER}\n"  # another key, in a carried column
        f"P-5,{B},5.00,usd,Plain row,INV-5,li\n",
        encoding="utf-8",
    )
    job = write_job(tmp_path, sandbox.url, ledger=ledger, extra='on_invalid = "skip"')
    outputs = [
        cli("validate", job),
        cli("plan", job),
        cli("run", job, "--log-format", "json", "-v"),
        cli("status", job, "--format", "json"),
        cli("reconcile", job),
    ]
    run = outputs[2]
    assert run.returncode == 1, run.stdout + run.stderr  # the invalid rows were left out
    assert debits(sandbox_state(sandbox.url), "e2e") == {"P-1": 1, "P-5": 1}
    rows = {r["adjustment_id"]: r for r in results_rows(tmp_path / "out" / "e2e.results.csv")}
    for ident in ("P-2", "P-3", "P-4"):
        assert (rows[ident]["status"], rows[ident]["error_code"]) == (
            "invalid",
            "secret_in_ledger",
        )
    assert rows["P-2"]["description"] == "key …0042 pasted"
    assert rows["P-3"]["metadata.invoice"] == "…7788"
    assert rows["P-4"]["booked by"] == "see …zyxw"
    assert "secret_in_ledger" in outputs[0].stdout
    texts = [o.stdout + o.stderr for o in outputs]
    texts += [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()]
    texts.append(json.dumps(sandbox_state(sandbox.url)))
    ledger_text = ledger.read_text(encoding="utf-8")
    for text in texts:
        if text == ledger_text:
            continue  # the ledger itself is the user's file
        for key in (KEY, LIVE, OTHER):
            body = key.split("_", 2)[2]
            for start in range(0, len(body) - 8):
                assert body[start : start + 9] not in text


def test_two_ledgers_named_in_other_scripts_are_two_jobs(tmp_path: Path, sandbox) -> None:
    """ÄÖÜ.csv and 財務.csv once both became job 'ledger': one lock, one results file."""
    folder = tmp_path / "in"
    folder.mkdir()
    ledgers = {"ÄÖÜ": "U-1", "財務": "U-2"}
    for stem, ident in ledgers.items():
        (folder / f"{stem}.csv").write_text(
            f"adjustment_id,account,amount,currency\n{ident},{A},1.00,usd\n", encoding="utf-8"
        )
    env = {"LEDGERRUN_JOURNAL": str(tmp_path / "journal.sqlite")}
    for stem in ledgers:
        done = cli(
            "run", folder / f"{stem}.csv", "--api-base", sandbox.url, "--date", RUN_DATE, env=env
        )
        assert done.returncode == 0, done.stdout + done.stderr
    state = sandbox_state(sandbox.url)
    for stem, ident in ledgers.items():
        name = "ledger-" + hashlib.sha256(stem.encode()).hexdigest()[:8]
        (row,) = results_rows(folder / f"{name}-{RUN_DATE}.results.csv")
        assert (row["adjustment_id"], row["status"]) == (ident, "succeeded")
        assert debits(state, name) == {ident: 1}
    assert len(list(folder.glob("*.results.csv"))) == 2
