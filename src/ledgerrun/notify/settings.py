"""The ``[notify]`` table of a job file or of ``serve.toml`` (where notifications go), and the path
of a job's ``[metrics] textfile``.

A base module (``tests/test_layout.py`` places it with ``job`` and ``jobfile``): the job file reader
and the server's configuration both check the table here, key by key, so a mistake names its key.
Secrets are never in the table, only the names of the environment variables that hold them: the
webhook's signing secret, the Slack webhook URL (itself a secret) and the SMTP password.

::

    [notify]
    webhook = "https://hooks.example.com/ledgerrun"   # a JSON POST per event, signed
    webhook_secret_env = "LEDGERRUN_WEBHOOK_SECRET"    # required with webhook
    slack_webhook_env = "LEDGERRUN_SLACK_WEBHOOK"      # the variable holding Slack's URL
    smtp = "smtp://ledgerrun@mail.example.com:587"     # or smtps://; the user (optional) in the URL
    starttls = false                                   # true: refuse to send without STARTTLS
    smtp_password_env = "LEDGERRUN_SMTP_PASSWORD"
    mail_from = "ledgerrun@example.com"
    mail_to = ["finance@example.com"]
    events = ["run_end", "reconcile_discrepancy"]      # default: every event
    web_url = "https://ledgerrun.example.com"          # links to batches in messages
    timeout_s = 5                                      # seconds per try
    attempts = 3                                       # tries per channel
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ledgerrun.errors import ConfigError

EVENTS: tuple[str, ...] = (
    "run_end",
    "reconcile_discrepancy",
    "batch_uploaded",
    "batch_approved",
    "batch_rejected",
    "batch_sent_back",
)
"""Every event a notification is sent for (the ``event`` field of its body)."""

SMTP_PORTS = {"smtp": 25, "smtps": 465}
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEXT_KEYS = (
    "webhook",
    "webhook_secret_env",
    "slack_webhook_env",
    "smtp",
    "smtp_password_env",
    "mail_from",
    "web_url",
)
KEYS = (*_TEXT_KEYS, "starttls", "mail_to", "events", "timeout_s", "attempts")


@dataclass(frozen=True)
class NotifySettings:
    """A checked ``[notify]`` table. Holds no secret: only the variables' names."""

    webhook: str | None = None
    webhook_secret_env: str | None = None
    slack_webhook_env: str | None = None
    smtp: str | None = None
    starttls: bool = False
    smtp_password_env: str | None = None
    mail_from: str | None = None
    mail_to: tuple[str, ...] = ()
    events: tuple[str, ...] = EVENTS
    web_url: str | None = None
    timeout_s: float = 5.0
    attempts: int = 3

    def wants(self, event: str) -> bool:
        return event in self.events

    @property
    def smtp_parts(self) -> SplitResult:
        return urlsplit(self.smtp or "")

    def secret_names(self) -> list[str]:
        """The environment variables this table needs set (for ``ledgerrun check``)."""
        names = [self.webhook_secret_env, self.slack_webhook_env]
        if self.smtp and self.smtp_parts.username:
            names.append(self.smtp_password_env)
        return [n for n in names if n]


def metrics_path(base: Path, template: str, job: str) -> Path:
    """``[metrics] textfile`` of a job file in folder ``base``: relative to it, ``{job}`` filled
    in, ending in ``.prom`` (node_exporter's textfile collector reads only those)."""
    if "{" in template.replace("{job}", "") or "}" in template.replace("{job}", ""):
        raise ConfigError(
            f"'metrics.textfile' may use {{job}} only (one file holds each job's last run, "
            f"whatever the date): {template!r}"
        )
    path = Path(os.path.normpath(base / template.replace("{job}", job)))
    if path.suffix != ".prom" or path.name.startswith("."):
        raise ConfigError(
            f"'metrics.textfile' must name a file ending in .prom (node_exporter's textfile "
            f"collector reads only those): {template!r}"
        )
    return path


def is_loopback(host: str | None) -> bool:
    """127.0.0.1, ::1 or localhost: a receiver on this very machine."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_notify(raw: Any, where: str = "notify") -> NotifySettings | None:
    """The ``[notify]`` table ``raw`` (None when absent), checked; ConfigError names the key
    (``where`` is the table's name in messages)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"'{where}' must be a table ([{where}])")
    for key in raw:
        if key not in KEYS:
            raise ConfigError(f"unknown key '{where}.{key}'; known keys: {', '.join(KEYS)}")
    values: dict[str, Any] = {}
    for key in _TEXT_KEYS:
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise ConfigError(f"'{where}.{key}' must be text in quotes, not {raw[key]!r}")
            values[key] = raw[key].strip()
    for key in _TEXT_KEYS:
        if key.endswith("_env") and key in values and not _ENV.fullmatch(values[key]):
            raise ConfigError(
                f"'{where}.{key}' must name an environment variable (the secret itself never "
                f"goes in a file): {values[key]!r}"
            )
    if "starttls" in raw:
        if not isinstance(raw["starttls"], bool):
            raise ConfigError(f"'{where}.starttls' must be true or false")
        values["starttls"] = raw["starttls"]
    values["mail_to"] = _list(raw, "mail_to", where)
    if "events" in raw:
        events = _list(raw, "events", where)
        unknown = [e for e in events if e not in EVENTS]
        if unknown or not events:
            raise ConfigError(
                f"'{where}.events' lists {unknown or 'nothing'}; the events are "
                + ", ".join(EVENTS)
            )
        values["events"] = events
    values.update(_numbers(raw, where))
    settings = NotifySettings(**values)
    _check_channels(settings, where)
    return settings


def _list(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"'{where}.{key}' must be a list of text in quotes, e.g. [\"...\"]")
    return tuple(v.strip() for v in value)


def _numbers(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    timeout = raw.get("timeout_s", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise ConfigError(f"'{where}.timeout_s' must be a number of seconds above 0, at most 60")
    out["timeout_s"] = float(timeout)
    attempts = raw.get("attempts", 3)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 10:
        raise ConfigError(f"'{where}.attempts' must be a whole number from 1 to 10")
    out["attempts"] = attempts
    return out


def _check_url(url: str, key: str, where: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or any(c.isspace() for c in url):
        raise ConfigError(f"'{where}.{key}' must be an https:// URL: {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname) and key != "web_url":
        raise ConfigError(
            f"'{where}.{key}' must be an https:// URL (http:// only to this machine, "
            f"127.0.0.1 or localhost): {url!r}"
        )
    return parts


def _check_channels(s: NotifySettings, where: str) -> None:
    if not (s.webhook or s.slack_webhook_env or s.smtp):
        raise ConfigError(
            f"[{where}] names no channel: set webhook (with webhook_secret_env), "
            "slack_webhook_env, or smtp (with mail_from and mail_to)"
        )
    if s.webhook:
        _check_url(s.webhook, "webhook", where)
        if not s.webhook_secret_env:
            raise ConfigError(
                f"'{where}.webhook' needs '{where}.webhook_secret_env': the environment "
                "variable holding the secret that signs each request"
            )
    if s.web_url:
        _check_url(s.web_url, "web_url", where)
    if s.smtp:
        _check_smtp(s, where)
    elif s.mail_to or s.mail_from or s.smtp_password_env or s.starttls:
        raise ConfigError(
            f"'{where}.mail_to', mail_from and the other mail keys need '{where}.smtp'"
        )


def _check_smtp(s: NotifySettings, where: str) -> None:
    try:
        parts = s.smtp_parts
        port = parts.port
    except ValueError:
        raise ConfigError(f"'{where}.smtp' has a port that is not a number: {s.smtp!r}") from None
    if parts.scheme not in SMTP_PORTS or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(
            f"'{where}.smtp' must be smtp://[user@]host[:port] or smtps://[user@]host[:port]: "
            f"{s.smtp!r}"
        )
    if parts.password is not None:
        raise ConfigError(
            f"'{where}.smtp' must not hold a password: put it in an environment variable and "
            f"name it in '{where}.smtp_password_env'"
        )
    if port == 0:
        raise ConfigError(f"'{where}.smtp' has port 0")
    if parts.username and not s.smtp_password_env:
        raise ConfigError(
            f"'{where}.smtp' names the user {parts.username!r}: name the variable holding the "
            f"password in '{where}.smtp_password_env'"
        )
    if s.starttls and parts.scheme == "smtps":
        raise ConfigError(
            f"'{where}.starttls' is for smtp://; smtps:// is encrypted from the start"
        )
    if not s.mail_from or not s.mail_to:
        raise ConfigError(f"'{where}.smtp' needs '{where}.mail_from' and '{where}.mail_to'")
    for key, address in [("mail_from", s.mail_from), *(("mail_to", a) for a in s.mail_to)]:
        if not _is_address(address):
            raise ConfigError(f"'{where}.{key}': {address!r} is not an email address")


def _is_address(text: str) -> bool:
    from email.utils import parseaddr

    if any(c in text for c in "\r\n"):
        return False
    _, address = parseaddr(text)
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain and ("." in domain.strip(".") or is_loopback(domain)))
