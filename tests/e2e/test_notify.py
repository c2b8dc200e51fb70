"""End to end: a real `ledgerrun run` (and `reconcile`) with `[notify]` and `[metrics]`, against
the sandbox, delivering to a real HTTP receiver (the webhook, and Slack's stand-in) and a real
SMTP server, both on 127.0.0.1.

The command waits for its deliveries before it exits, so when the process has ended every
notification it was going to send has arrived (or been logged as failed): nothing here sleeps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.cli import cli, write_job
from tests.helpers.constants import KEY, PLATFORM, SHORT, A, B
from tests.helpers.receivers import HttpReceiver, MailReceiver, Request, receivers
from tests.helpers.sandbox import make_client

SECRET = "whsec-test-0123456789abcdef"  # the webhook's signing secret
SLACK_PATH = "/services/T0000/B0000/slackSECRETtoken42"
SMTP_PASSWORD = "smtp-PASSWORD-never-shown"
ROWS = [
    'N-1,{A},"10.00",usd,,Adjustment N-1,INV-1',
    'N-2,{B},"2.50",usd,,Adjustment N-2,INV-2',
]


def rows(*extra: str) -> list[str]:
    return [r.format(A=A, B=B) for r in ROWS] + list(extra)


def notify_table(http: HttpReceiver, mail: MailReceiver, *, more: str = "") -> str:
    return (
        "\n[notify]\n"
        f'webhook = "{http.url}/hooks/ledgerrun"\n'
        'webhook_secret_env = "LEDGERRUN_WEBHOOK_SECRET"\n'
        'slack_webhook_env = "LEDGERRUN_SLACK_URL"\n'
        f'smtp = "{mail.url}"\n'
        'mail_from = "ledgerrun@example.com"\n'
        'mail_to = ["finance@example.com", "ops@example.com"]\n'
        f"{more}"
        "\n[metrics]\n"
        'textfile = "metrics/{job}.prom"\n'
    )


def secrets_env(http: HttpReceiver) -> dict[str, str]:
    return {
        "LEDGERRUN_WEBHOOK_SECRET": SECRET,
        "LEDGERRUN_SLACK_URL": http.url + SLACK_PATH,
        "LEDGERRUN_SMTP_PASSWORD": SMTP_PASSWORD,
    }


def signed_body(request: Request) -> dict[str, object]:
    """The body, once its signature is checked as a receiver would check it."""
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["ledgerrun-signature"], expected)
    body: dict[str, object] = json.loads(request.body)
    return body


def by_path(requests: list[Request], path: str) -> list[Request]:
    return [r for r in requests if r.path == path]


def gauges(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def no_secret_anywhere(folder: Path, *outputs: str) -> None:
    secrets = (SECRET, SLACK_PATH, SMTP_PASSWORD, KEY)
    for text in outputs:
        assert not any(s in text for s in secrets), text
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), path


def test_a_run_tells_the_webhook_slack_and_email_and_writes_its_gauges(
    tmp_path: Path, sandbox
) -> None:
    short = f'N-3,{SHORT},"99999.00",usd,,Too much,INV-3'  # fails: the balance is short
    with receivers() as (http, mail):
        job = write_job(tmp_path, sandbox.url, rows(short), extra=notify_table(http, mail))
        done = cli("run", job, env=secrets_env(http))
        assert done.returncode == 1, done.stdout + done.stderr
        summary = json.loads((tmp_path / "out" / "e2e.results.csv.summary.json").read_text())

        (hook,) = by_path(http.wait_for(2), "/hooks/ledgerrun")
        body = signed_body(hook)
        assert hook.headers["content-type"].startswith("application/json")
        assert hook.headers["ledgerrun-event"] == "run_end"
        assert body["event"] == "run_end" and body["job"] == "e2e"
        assert body["exit_code"] == 1 and body["run_id"] == summary["run_id"]
        assert body["run_date"] == summary["run_date"]
        assert body["counts"] == summary["counts"]
        assert body["counts"]["succeeded"] == 2 and body["counts"]["failed"] == 1  # type: ignore[index]
        usd = body["totals"]["usd"]["debit"]  # type: ignore[index]
        assert usd["succeeded_minor"] == 1250 and usd["failed_minor"] == 9_999_900
        assert usd["requested_minor"] == 1250 + 9_999_900
        assert body["results"] == str(tmp_path / "out" / "e2e.results.csv")
        assert str(body["at"]).endswith("Z") and "@" in str(body["by"])

        (slack,) = by_path(http.requests, SLACK_PATH)
        text = json.loads(slack.body)["text"]
        assert "job e2e" in text and "exit 1" in text and "2 succeeded, 1 failed" in text
        assert "12.50 USD succeeded of 100,011.50 USD" in text

        ((sender, recipients, message),) = mail.wait_for(1)
        assert sender == "ledgerrun@example.com"
        assert recipients == ["finance@example.com", "ops@example.com"]
        assert "job e2e" in message["Subject"] and "exit 1" in message["Subject"]
        assert "2 succeeded, 1 failed" in message.get_body(("plain",)).get_content()
        (attached,) = list(message.iter_attachments())
        assert json.loads(attached.get_content())["run_id"] == summary["run_id"]

        metrics = gauges(tmp_path / "metrics" / "e2e.prom")
        assert metrics[("ledgerrun_rows", (("job", "e2e"), ("status", "succeeded")))] == 2
        assert metrics[("ledgerrun_rows", (("job", "e2e"), ("status", "failed")))] == 1
        assert metrics[("ledgerrun_last_run_exit_code", (("job", "e2e"),))] == 1
        key = (("currency", "usd"), ("direction", "debit"), ("job", "e2e"), ("status", "failed"))
        assert metrics[("ledgerrun_amount_minor", key)] == 9_999_900
        assert ("ledgerrun_last_success_timestamp_seconds", (("job", "e2e"),)) not in metrics
    no_secret_anywhere(tmp_path, done.stdout, done.stderr)


def test_with_every_receiver_down_the_exit_code_is_the_runs_own(tmp_path: Path, sandbox) -> None:
    with receivers() as (http, mail):
        table = notify_table(http, mail, more="attempts = 2\ntimeout_s = 2\n")
    # Both are stopped now: nothing listens on their ports any more.
    job = write_job(tmp_path, sandbox.url, rows(), extra=table)
    done = cli("--log-format", "json", "run", job, env=secrets_env(http))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    failed = {line["channel"]: line for line in lines if line["event"] == "notify_failed"}
    assert set(failed) == {"webhook", "slack", "email"}, lines
    for line in failed.values():
        assert line["notification"] == "run_end" and line["attempts"] == 2
        assert line["job"] == "e2e" and line["level"] == "warning"
    assert [line["exit_code"] for line in lines if line["event"] == "run_end"] == [0]
    metrics = gauges(tmp_path / "metrics" / "e2e.prom")
    assert metrics[("ledgerrun_last_run_exit_code", (("job", "e2e"),))] == 0
    assert ("ledgerrun_last_success_timestamp_seconds", (("job", "e2e"),)) in metrics
    no_secret_anywhere(tmp_path, done.stdout, done.stderr)


def test_a_run_that_cannot_start_is_told_and_counted_a_dry_run_is_not(
    tmp_path: Path, sandbox
) -> None:
    with receivers() as (http, mail):
        job = write_job(tmp_path, sandbox.url, rows(), extra=notify_table(http, mail))
        dry = cli("run", job, "--dry-run", env=secrets_env(http))
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert http.requests == [] and mail.mails == []  # the command has waited for them
        assert not (tmp_path / "metrics").exists()

        missing = cli("run", job, "--ledger", tmp_path / "absent.csv", env=secrets_env(http))
        assert missing.returncode == 2, missing.stdout + missing.stderr
        (hook,) = by_path(http.wait_for(2), "/hooks/ledgerrun")
        body = signed_body(hook)
        assert body["event"] == "run_end" and body["exit_code"] == 2
        assert "absent.csv" in str(body["message"]) and "run_id" not in body
        assert "exit 2" in mail.wait_for(1)[0][2]["Subject"]
        metrics = gauges(tmp_path / "metrics" / "e2e.prom")
        assert metrics[("ledgerrun_last_run_exit_code", (("job", "e2e"),))] == 2
        assert metrics[("ledgerrun_rows", (("job", "e2e"), ("status", "succeeded")))] == 0


def test_reconcile_tells_of_discrepancies_and_only_of_them(tmp_path: Path, sandbox) -> None:
    with receivers() as (http, mail):
        table = notify_table(http, mail, more='events = ["reconcile_discrepancy"]\n')
        job = write_job(tmp_path, sandbox.url, rows(), extra=table)
        assert cli("run", job, env=secrets_env(http)).returncode == 0
        clean = cli("reconcile", job, env=secrets_env(http))
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert http.requests == [] and mail.mails == []  # run_end is not among the events
        make_client(sandbox.url).v1.transfers.create(
            {
                "amount": 500,
                "currency": "usd",
                "destination": PLATFORM,
                "transfer_group": "e2e",
                "metadata": {"ledgerrun_job": "e2e", "ledgerrun_adjustment_id": "N-1"},
            },
            {"stripe_account": A},
        )
        dirty = cli("reconcile", job, env=secrets_env(http))
        assert dirty.returncode == 1, dirty.stdout + dirty.stderr
        (hook,) = by_path(http.wait_for(2), "/hooks/ledgerrun")
        body = signed_body(hook)
        assert body["event"] == "reconcile_discrepancy" and body["exit_code"] == 1
        assert body["discrepancies"] == {"duplicate": 1}
        assert "1 discrepancy" in mail.wait_for(1)[0][2]["Subject"]


def test_the_python_api_writes_the_gauges_and_tells_as_the_command_does(
    tmp_path: Path, sandbox, monkeypatch
) -> None:
    import ledgerrun

    monkeypatch.setenv("STRIPE_API_KEY", KEY)
    with receivers() as (http, mail):
        for name, value in secrets_env(http).items():
            monkeypatch.setenv(name, value)
        job = write_job(tmp_path, sandbox.url, rows(), extra=notify_table(http, mail))
        dry = ledgerrun.run(job, dry_run=True)
        assert int(dry.exit_code) == 0 and not (tmp_path / "metrics").exists()
        done = ledgerrun.run(job)
        assert int(done.exit_code) == 0
        bodies = [signed_body(r) for r in by_path(http.wait_for(2), "/hooks/ledgerrun")]
        assert [(b["event"], b["exit_code"]) for b in bodies] == [("run_end", 0)]
        assert mail.wait_for(1)[0][2]["X-Ledgerrun-Event"] == "run_end"
        metrics = gauges(tmp_path / "metrics" / "e2e.prom")
        assert metrics[("ledgerrun_rows", (("job", "e2e"), ("status", "succeeded")))] == 2
