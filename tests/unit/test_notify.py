"""Notifications (ledgerrun.notify): the [notify] table, the signed body, the retries with an
injected sleep, and each channel delivering to a real receiver on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from ledgerrun.errors import ConfigError
from ledgerrun.notify.channels import DeliveryError, sign
from ledgerrun.notify.deliver import Notifier
from ledgerrun.notify.message import Notification
from ledgerrun.notify.settings import NotifySettings, read_notify
from tests.helpers.receivers import HttpReceiver, MailReceiver

AT = dt.datetime(2026, 11, 26, 2, 15, 7, tzinfo=dt.UTC)
SECRET = "whsec-unit-test-secret"


def note(event: str = "run_end", **fields: Any) -> Notification:
    values: dict[str, Any] = {
        "job": "nightly",
        "at": AT,
        "run_date": "2026-11-26",
        "run_id": "20261126T021500Z-abc123",
        "exit_code": 1,
        "counts": {"succeeded": 239, "failed": 1},
        "totals": {"usd": {"debit": {"requested": 1500, "succeeded": 1000, "failed": 500}}},
        "results": "/srv/out/nightly.results.csv",
        "by": "ana@host",
    }
    values.update(fields)
    return Notification(event=event, **values)


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, event: str, level: str, fields: Mapping[str, Any]) -> None:
        self.lines.append((event, level, dict(fields)))


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


# --- the table ------------------------------------------------------------------------------------


def test_a_full_table_reads() -> None:
    settings = read_notify(
        {
            "webhook": "https://hooks.example.com/x",
            "webhook_secret_env": "HOOK_SECRET",
            "slack_webhook_env": "SLACK_URL",
            "smtp": "smtp://ledgerrun@mail.example.com:587",
            "smtp_password_env": "SMTP_PASSWORD",
            "starttls": True,
            "mail_from": "Ledgerrun <ledgerrun@example.com>",
            "mail_to": ["finance@example.com"],
            "events": ["run_end"],
            "web_url": "https://ledgerrun.example.com",
            "attempts": 2,
            "timeout_s": 3,
        }
    )
    assert (
        settings is not None and settings.wants("run_end") and not settings.wants("batch_approved")
    )
    assert settings.secret_names() == ["HOOK_SECRET", "SLACK_URL", "SMTP_PASSWORD"]
    assert read_notify(None) is None


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ({}, "names no channel"),
        ({"webhook": "https://h.example.com/x"}, "needs 'notify.webhook_secret_env'"),
        ({"webhook": "http://h.example.com/x", "webhook_secret_env": "S"}, "https://"),
        ({"webhook": "https://h/x", "webhook_secret_env": "no spaces"}, "environment variable"),
        ({"smtp": "smtp://u:pw@mail.example.com", "mail_from": "a@b.co", "mail_to": ["c@d.co"]},
         "must not hold a password"),
        ({"smtp": "smtp://u@mail.example.com", "mail_from": "a@b.co", "mail_to": ["c@d.co"]},
         "smtp_password_env"),
        ({"smtp": "smtps://mail.example.com", "starttls": True, "mail_from": "a@b.co",
          "mail_to": ["c@d.co"]}, "starttls"),
        ({"smtp": "imap://mail.example.com", "mail_from": "a@b.co", "mail_to": ["c@d.co"]},
         "smtp://"),
        ({"smtp": "smtp://mail.example.com", "mail_from": "a@b.co"}, "mail_to"),
        ({"smtp": "smtp://mail.example.com", "mail_from": "a@b.co", "mail_to": ["nobody"]},
         "not an email address"),
        ({"slack_webhook_env": "S", "mail_to": ["c@d.co"]}, "need 'notify.smtp'"),
        ({"slack_webhook_env": "S", "events": ["run_ended"]}, "lists ['run_ended']"),
        ({"slack_webhook_env": "S", "attempts": 0}, "attempts"),
        ({"slack_webhook_env": "S", "secret": "x"}, "unknown key 'notify.secret'"),
    ],
)  # fmt: skip
def test_a_wrong_table_names_its_key(table: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_notify(table)
    assert says in str(caught.value)


# --- the body -------------------------------------------------------------------------------------


def test_the_body_has_the_fields_that_apply_with_units_in_the_names() -> None:
    body = json.loads(note().payload())
    assert list(body) == [
        "event", "id", "job", "run_date", "run_id", "exit_code", "counts", "totals", "results",
        "by", "at",
    ]  # fmt: skip
    assert body["totals"] == {
        "usd": {"debit": {"requested_minor": 1500, "succeeded_minor": 1000, "failed_minor": 500}}
    }
    assert body["at"] == "2026-11-26T02:15:07Z"
    batch = json.loads(note("batch_approved", run_id=None, exit_code=None, counts=None,
                            totals=None, results=None, batch={"id": "b1"}).payload())  # fmt: skip
    assert "exit_code" not in batch and "counts" not in batch and batch["batch"] == {"id": "b1"}


def test_the_text_for_people_reads_as_finance_would_say_it() -> None:
    text = note().text()
    assert text.splitlines()[0] == (
        "ledgerrun job nightly, run date 2026-11-26: the run ended with exit 1, 239 succeeded, "
        "1 failed"
    )
    assert "Debits in USD: 10.00 USD succeeded of 15.00 USD" in text
    batch = note(
        "batch_uploaded", batch={"id": "b7", "file": "nov.xlsx", "rows": 1200, "uploaded_by": "tom"}
    ).text("https://lr.example.com/")
    assert "batch b7 needs approval" in batch and "nov.xlsx (1,200 rows)" in batch
    assert "Open: https://lr.example.com/batches/b7" in batch


def test_the_signature_is_the_hmac_of_the_exact_body() -> None:
    body = note().payload()
    assert sign(SECRET.encode(), body) == (
        "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    )


# --- retries --------------------------------------------------------------------------------------


class Flaky:
    """A channel failing ``failures`` times, then delivering."""

    name = "webhook"
    key = "flaky"

    def __init__(self, failures: int, retry: bool = True, message: str = "connection refused"):
        self.failures, self.retry, self.message = failures, retry, message
        self.tries = 0

    def send(self, note: Notification) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise DeliveryError(self.message, retry=self.retry)

    def secrets(self) -> Sequence[str]:
        return ["s3cr3t-value"]


def notifier(log: Log, sleeps: list[float]) -> Notifier:
    return Notifier([], log=log, sleep=sleeps.append)


def test_a_failed_try_is_tried_again_with_growing_pauses() -> None:
    log, sleeps = Log(), list[float]()
    channel = Flaky(2)
    assert notifier(log, sleeps).deliver(channel, note(), attempts=3)
    assert channel.tries == 3 and sleeps == [1.0, 2.0]
    assert log.lines == [
        ("notify_sent", "info", {"channel": "webhook", "notification": "run_end", "attempts": 3})
    ]


def test_after_the_last_try_the_failure_is_logged_without_its_secrets() -> None:
    log, sleeps = Log(), list[float]()
    channel = Flaky(5, message="refused at https://x/s3cr3t-value with sk_test_abcdefgh1234")
    assert not notifier(log, sleeps).deliver(channel, note(), attempts=3)
    ((event, level, fields),) = log.lines
    assert (event, level, fields["attempts"]) == ("notify_failed", "warning", 3)
    assert "s3cr3t-value" not in fields["message"] and "[secret]" in fields["message"]
    assert "abcdefgh" not in fields["message"]


def test_a_refusal_that_another_try_cannot_mend_is_not_tried_again() -> None:
    log, sleeps = Log(), list[float]()
    channel = Flaky(5, retry=False, message="HTTP 404")
    assert not notifier(log, sleeps).deliver(channel, note(), attempts=3)
    assert channel.tries == 1 and sleeps == [] and log.lines[0][2]["attempts"] == 1


def test_a_bug_in_a_channel_is_logged_never_raised() -> None:
    class Broken(Flaky):
        def send(self, note: Notification) -> None:
            raise RuntimeError("boom")

    log = Log()
    assert not notifier(log, []).deliver(Broken(0), note(), attempts=3)
    assert log.lines[0][2]["message"] == "RuntimeError: boom"


# --- each channel, to a real receiver -------------------------------------------------------------


def test_the_webhook_posts_the_signed_body_once_per_channel(http: HttpReceiver) -> None:
    table = read_notify({"webhook": http.url + "/in", "webhook_secret_env": "HOOK"})
    log = Log()
    # The server's table and the job's name one webhook: it is told once.
    tell = Notifier([table, table], env={"HOOK": SECRET}, log=log)
    sent = note()
    tell.send(sent)
    assert tell.wait(30)
    (request,) = http.requests
    assert request.body == sent.payload()
    assert request.headers["ledgerrun-signature"] == sign(SECRET.encode(), sent.payload())
    assert request.headers["ledgerrun-delivery"] == sent.id
    assert [line[0] for line in log.lines] == ["notify_sent"]


def test_a_5xx_is_tried_again_a_4xx_is_not(http: HttpReceiver) -> None:
    table = read_notify({"webhook": http.url + "/in", "webhook_secret_env": "HOOK"})
    assert table is not None
    for status, tries in ((503, 3), (401, 1)):
        http.requests.clear()
        http.status = status
        log, sleeps = Log(), list[float]()
        tell = Notifier([table], env={"HOOK": SECRET}, log=log, sleep=sleeps.append)
        tell.send(note())
        assert tell.wait(30)
        assert len(http.requests) == tries
        assert log.lines[0][2]["message"] == f"the receiver answered HTTP {status}"


def test_an_unset_secret_sends_nothing_unsigned(http: HttpReceiver) -> None:
    log = Log()
    tell = Notifier([read_notify({"webhook": http.url, "webhook_secret_env": "HOOK"})], env={},
                    log=log)  # fmt: skip
    tell.send(note())
    assert tell.wait(30)
    assert http.requests == []
    assert "HOOK" in log.lines[0][2]["message"] and log.lines[0][2]["attempts"] == 1


def test_slack_gets_its_message_format(http: HttpReceiver) -> None:
    url = http.url + "/services/T1/B2/tokenSECRET"
    tell = Notifier([read_notify({"slack_webhook_env": "SLACK"})], env={"SLACK": url}, log=Log())
    tell.send(note(results="/srv/out/<a&b>.csv"))
    assert tell.wait(30)
    (request,) = http.requests
    body = json.loads(request.body)
    assert list(body) == ["text"]
    assert body["text"].startswith("ledgerrun job nightly, run date 2026-11-26: the run ended")
    assert "/srv/out/&lt;a&amp;b&gt;.csv" in body["text"]  # Slack's escapes


def test_only_the_events_a_table_asks_for_are_sent(http: HttpReceiver) -> None:
    table = read_notify({"slack_webhook_env": "SLACK", "events": ["batch_uploaded"]})
    tell = Notifier([table], env={"SLACK": http.url + "/s"}, log=Log())
    tell.send(note("run_end"))
    tell.send(note("batch_uploaded", batch={"id": "b1"}))
    assert tell.wait(30)
    assert ["batch b1 needs approval" in json.loads(r.body)["text"] for r in http.requests] == [
        True
    ]


def mail_table(url: str, **more: Any) -> NotifySettings:
    table = read_notify(
        {"smtp": url, "mail_from": "ledgerrun@example.com", "mail_to": ["fin@example.com"], **more}
    )
    assert table is not None
    return table


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_logs_in_with_the_password_from_the_environment() -> None:
    """(Without TLS, which the receiver lacks: a password goes unencrypted only to 127.0.0.1.)"""
    mail = MailReceiver(auth=("ledgerrun", "pw-from-env")).start()
    try:
        user_url = mail.url.replace("smtp://", "smtp://ledgerrun@")
        log = Log()
        tell = Notifier([mail_table(user_url, smtp_password_env="SMTP_PW")],
                        env={"SMTP_PW": "pw-from-env"}, log=log)  # fmt: skip
        tell.send(note())
        assert tell.wait(30)
        ((_, recipients, message),) = mail.wait_for(1)
        assert mail.logins == ["ledgerrun"] and recipients == ["fin@example.com"]
        assert message["X-Ledgerrun-Event"] == "run_end"
        assert [line[0] for line in log.lines] == ["notify_sent"]

        log = Log()
        wrong = Notifier([mail_table(user_url, smtp_password_env="SMTP_PW")],
                         env={"SMTP_PW": "not-it"}, log=log)  # fmt: skip
        wrong.send(note())
        assert wrong.wait(30)
        ((event, _, fields),) = log.lines
        assert event == "notify_failed" and fields["attempts"] == 1
        assert "refused the user and password" in fields["message"]
        assert "not-it" not in fields["message"]
    finally:
        mail.stop()


def test_starttls_required_and_not_offered_is_refused_without_sending() -> None:
    mail = MailReceiver().start()
    try:
        log = Log()
        tell = Notifier([mail_table(mail.url, starttls=True)], env={}, log=log)
        tell.send(note())
        assert tell.wait(30)
        assert mail.mails == []
        assert "does not offer STARTTLS" in log.lines[0][2]["message"]
    finally:
        mail.stop()


# --- docs/notifications.md ------------------------------------------------------------------------


def doc_blocks(lang: str) -> list[str]:
    from tests.docs_support import DOCS, fenced_blocks

    text = (DOCS / "notifications.md").read_text(encoding="utf-8")
    return ["\n".join(b.lines) for b in fenced_blocks(text) if b.lang == lang]


def test_the_docs_way_to_verify_a_signature_works_on_what_is_sent() -> None:
    (code,) = doc_blocks("python")
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/notifications.md", "exec"), namespace)
    verify = namespace["verify"]
    fresh = note(at=dt.datetime.now(dt.UTC))
    body = fresh.payload()
    assert verify(body, sign(SECRET.encode(), body), SECRET)["run_id"] == fresh.run_id
    with pytest.raises(ValueError, match="not signed"):
        verify(body.replace(b'"exit_code":1', b'"exit_code":0'), sign(SECRET.encode(), body),
               SECRET)  # fmt: skip
    with pytest.raises(ValueError, match="not signed"):
        verify(body, sign(b"another secret", body), SECRET)
    old = note().payload()  # at 2026-11-26T02:15:07Z
    with pytest.raises(ValueError, match="replay"):
        verify(old, sign(SECRET.encode(), old), SECRET, max_age_s=60)


def test_the_docs_settings_and_body_are_what_the_code_reads_and_writes() -> None:
    import tomllib

    (table,) = doc_blocks("toml")
    settings = read_notify(tomllib.loads(table)["notify"])
    assert settings is not None and settings.mail_to == (
        "finance@example.com", "treasury@example.com",
    )  # fmt: skip
    (body,) = doc_blocks("json")
    shown = json.loads(body)
    assert list(shown) == list(json.loads(note(id=shown["id"]).payload()))
    assert set(shown["totals"]["usd"]["debit"]) == {
        f"{s}_minor" for s in ("requested", "succeeded", "failed", "unknown", "skipped")
    }
