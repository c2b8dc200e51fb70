"""`ledgerrun check TARGET`: the real command against the sandbox, one line per part of a set-up,
and its exit code (0 ready, 2 wrong set-up, 3 Stripe or the store out of reach, 4 lock held)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers.cli import cli, held_by_another_process, write_job
from tests.helpers.constants import KEY, SAMPLES, A

ROWS = [f'C-1,{A},"10.00",usd,,Check,INV-1']
CONSENT = f'\n[consent]\nregistry = "{(SAMPLES / "consents.csv").as_posix()}"\n'


def checked(job: Path, *args: object, env: dict[str, str] | None = None) -> tuple[int, Any]:
    done = cli("check", job, "--format", "json", *args, env=env)
    report = json.loads(done.stdout)
    assert report["exit_code"] == done.returncode, done.stdout + done.stderr
    return done.returncode, {line["check"]: line for line in report["checks"]}


def test_a_good_set_up_passes_every_check(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS, extra=CONSENT)
    done = cli("check", job)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [
        [name, "ok"]
        for name in ("job", "ledger", "key", "stripe", "store", "outputs", "consent", "lock")
    ]
    assert lines[-1] == "All 8 checks passed."
    assert f"{sandbox.url} accepts the key: platform acct_1PlatformAAAAAAA" in done.stdout
    assert KEY not in done.stdout + done.stderr and KEY[-4:] in done.stdout
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())
    # After a run the store exists: it opens, and the lock is free again.
    assert cli("run", job).returncode == 0
    code, lines_after = checked(job)
    assert code == 0 and lines_after["store"]["message"].endswith("opens, schema current, writable")
    assert lines_after["lock"]["message"] == "free"


def test_a_malformed_key_is_wrong_and_stripe_is_not_asked(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS)
    code, lines = checked(job, env={"STRIPE_API_KEY": "sk_test_pasted with a space"})
    assert code == 2
    assert lines["key"]["status"] == "wrong" and "whitespace" in lines["key"]["message"]
    assert lines["stripe"]["status"] == "skipped"
    code, lines = checked(job, env={"STRIPE_API_KEY": "pk_test_publishable0000000"})
    assert code == 2 and "sk_test_" in lines["key"]["message"]


def test_stripe_out_of_reach_is_exit_3(tmp_path: Path, make_sandbox) -> None:
    gone = make_sandbox()
    url = gone.url
    gone.stop()
    job = write_job(tmp_path, url, ROWS)
    code, lines = checked(job)
    assert code == 3
    assert lines["stripe"]["status"] == "unreachable" and url in lines["stripe"]["message"]
    assert {line["status"] for line in lines.values()} == {"ok", "unreachable", "note"}


def test_a_store_out_of_reach_is_exit_3(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS)
    code, lines = checked(job, "--journal", "postgresql://ledgerrun@127.0.0.1:1/ledgerrun")
    assert code == 3 and lines["store"]["status"] == "unreachable"
    assert lines["lock"]["status"] == "skipped"


def test_an_output_folder_that_cannot_be_made_is_wrong(tmp_path: Path, sandbox) -> None:
    (tmp_path / "out").write_text("a file where the results folder should be")
    job = write_job(tmp_path, sandbox.url, ROWS)
    code, lines = checked(job)
    assert code == 2
    assert lines["outputs"]["status"] == "wrong" and "is a file" in lines["outputs"]["message"]
    assert lines["stripe"]["status"] == "ok"  # every other check still ran


def test_a_missing_consent_registry_is_wrong(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS, extra='\n[consent]\nregistry = "nowhere.csv"\n')
    code, lines = checked(job)
    assert code == 2 and lines["consent"]["status"] == "wrong"
    assert "nowhere.csv" in lines["consent"]["message"]
    assert "[consent] registry" in lines["consent"]["message"]


def test_a_held_lock_says_who_holds_it(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS)
    journal = tmp_path / "state" / "e2e.sqlite"
    code = "import sys\nfrom ledgerrun.store import open_store\nopen_store(sys.argv[1]).lock('e2e')"
    with held_by_another_process(code, journal):
        status, lines = checked(job)
        text = cli("check", job)
    assert status == 4 and lines["lock"]["status"] == "held"
    assert "pid" in lines["lock"]["message"] and "host" in lines["lock"]["message"]
    assert text.returncode == 4 and "a run of the job is going on" in text.stdout
    assert checked(job)[0] == 0  # free again once the holder is gone


def test_a_job_file_that_does_not_read_is_the_only_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[job]\nname = "Bad Name"\nledger = "x.csv"\n')
    code, lines = checked(bad)
    assert code == 2 and list(lines) == ["job"] and "job.name" in lines["job"]["message"]


def test_notification_secrets_and_the_metrics_file_are_checked_too(tmp_path: Path, sandbox) -> None:
    (tmp_path / "metrics").write_text("a file where the metrics folder should be")
    extra = (
        '\n[notify]\nslack_webhook_env = "NO_SUCH_SLACK_URL"\n'
        '\n[metrics]\ntextfile = "metrics/{job}.prom"\n'
    )
    job = write_job(tmp_path, sandbox.url, ROWS, extra=extra)
    code, lines = checked(job)
    assert code == 2
    assert (
        lines["notify"]["status"] == "wrong" and "NO_SUCH_SLACK_URL" in lines["notify"]["message"]
    )
    assert lines["metrics"]["status"] == "wrong"
    code, lines = checked(job, env={"NO_SUCH_SLACK_URL": "https://hooks.example.com/x"})
    assert lines["notify"]["status"] == "ok" and lines["metrics"]["status"] == "wrong"


# --- a PostgreSQL store ---------------------------------------------------------------------------


def test_a_postgresql_store_is_checked_its_lock_and_its_rights(
    tmp_path: Path, sandbox, pg_url: str
) -> None:
    import subprocess
    import sys
    import uuid

    from tests.store import pg

    job = write_job(tmp_path, sandbox.url, ROWS)
    code, lines = checked(job, "--journal", pg_url)
    assert code == 0, lines
    assert lines["store"]["message"].endswith("opens, schema current, writable")
    assert cli("run", job, "--journal", pg_url).returncode == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom ledgerrun.store import open_store\n"
         "store = open_store(sys.argv[1])\nstore.lock('e2e')\nprint('ready', flush=True)\n"
         "time.sleep(60)",
         pg_url],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        code, lines = checked(job, "--journal", pg_url)
        assert code == 4 and lines["lock"]["status"] == "held"
    finally:
        holder.kill()
        holder.wait()
    # A role that may read the store but not write it.
    role = f"reader_{uuid.uuid4().hex[:8]}"
    schema = pg_url.rsplit("search_path%3D", 1)[1]
    with pg.admin() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    reader = pg_url.replace("://postgres@", f"://{role}@", 1)
    assert reader != pg_url
    code, lines = checked(job, "--journal", reader)
    assert code == 2 and lines["store"]["status"] == "wrong"
    assert "may not write" in lines["store"]["message"]
