"""Where a notification goes: a signed webhook, a Slack incoming webhook, or email over SMTP.

Each channel's :meth:`send` delivers one notification once, or raises :class:`DeliveryError`
saying whether another try could help (a refused connection, a timeout, a 5xx, a 429: yes; a 4xx,
a refused password, a server without the STARTTLS the job requires: no). Retrying is the
notifier's job (:mod:`ledgerrun.notify.deliver`), never a channel's.

The webhook's request is signed: ``Ledgerrun-Signature: sha256=<hex>``, the HMAC-SHA256 of the
exact body bytes under the secret in the environment variable ``webhook_secret_env`` names.

No message of a :class:`DeliveryError` holds a secret: the Slack URL (a secret in itself), the
webhook secret and the SMTP password are cut out of anything a library says, and URLs are never
quoted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

import ledgerrun
from ledgerrun.notify.message import Notification
from ledgerrun.notify.settings import SMTP_PORTS, NotifySettings, is_loopback
from ledgerrun.scrub import scrub

SIGNATURE_HEADER = "Ledgerrun-Signature"
_RETRY_STATUS = frozenset({408, 425, 429})
_READ_LIMIT = 64 * 1024  # of an answer's body: enough to see it arrived, never a flood


class DeliveryError(Exception):
    """One try failed; ``retry`` says whether another could succeed."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class Channel(Protocol):
    name: str  # webhook, slack, email

    @property
    def key(self) -> str:
        """Two channels with one key are one channel (a job's and the server's [notify])."""
        ...

    def send(self, note: Notification) -> None: ...

    def secrets(self) -> Sequence[str]: ...


def sign(secret: bytes, body: bytes) -> str:
    """The ``Ledgerrun-Signature`` header's value for ``body``: ``sha256=`` and the hex HMAC."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def channels(settings: NotifySettings, env: Mapping[str, str]) -> list[Channel]:
    """The channels a ``[notify]`` table names, with their secrets read from ``env`` now."""
    found: list[Channel] = []
    timeout = settings.timeout_s
    if settings.webhook and settings.webhook_secret_env:
        secret = env.get(settings.webhook_secret_env, "")
        found.append(Webhook(settings.webhook, settings.webhook_secret_env, secret, timeout))
    if settings.slack_webhook_env:
        url = env.get(settings.slack_webhook_env, "").strip()
        found.append(Slack(settings.slack_webhook_env, url, timeout, settings.web_url))
    if settings.smtp:
        password_env = settings.smtp_password_env or ""
        found.append(Email(settings, env.get(password_env, "") if password_env else "", timeout))
    return found


# --- HTTP: the webhook and Slack ---------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: the body goes nowhere else."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> None:
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as answer:
            answer.read(_READ_LIMIT)
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DeliveryError(
            f"the receiver answered HTTP {exc.code}",
            retry=exc.code in _RETRY_STATUS or exc.code >= 500,
        ) from None
    except urllib.error.URLError as exc:
        raise DeliveryError(f"cannot reach the receiver: {exc.reason}", retry=True) from None
    except (OSError, ValueError) as exc:  # timeouts, resets, a malformed answer
        reason = str(exc) or type(exc).__name__
        raise DeliveryError(f"no answer from the receiver: {reason}", retry=True) from None
    if not 200 <= status < 300:
        raise DeliveryError(f"the receiver answered HTTP {status}", retry=status >= 500)


@dataclass
class Webhook:
    """A JSON POST of the notification's body, signed with HMAC-SHA256."""

    url: str
    secret_env: str
    secret: str
    timeout_s: float
    name: str = "webhook"

    @property
    def key(self) -> str:
        return f"webhook {self.url}"

    def secrets(self) -> Sequence[str]:
        return [self.secret] if self.secret else []

    def send(self, note: Notification) -> None:
        if not self.secret:
            raise DeliveryError(
                f"the environment variable {self.secret_env} (webhook_secret_env) is not set: "
                "nothing is sent unsigned",
                retry=False,
            )
        body = note.payload()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"ledgerrun/{ledgerrun.__version__}",
            "Ledgerrun-Event": note.event,
            "Ledgerrun-Delivery": note.id,
            SIGNATURE_HEADER: sign(self.secret.encode(), body),
        }
        _post(self.url, body, headers, self.timeout_s)


@dataclass
class Slack:
    """A message to a Slack channel through an incoming webhook (Slack's ``{"text": ...}``)."""

    url_env: str
    url: str  # a secret: whoever has it can post to the channel
    timeout_s: float
    web_url: str | None = None
    name: str = "slack"

    @property
    def key(self) -> str:
        return f"slack {self.url_env}"

    def secrets(self) -> Sequence[str]:
        return [self.url, urlsplit(self.url).path] if self.url else []

    def send(self, note: Notification) -> None:
        parts = urlsplit(self.url)
        if not self.url:
            raise DeliveryError(
                f"the environment variable {self.url_env} (slack_webhook_env) is not set",
                retry=False,
            )
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
            raise DeliveryError(
                f"{self.url_env} does not hold an https:// URL (Slack's incoming-webhook URL)",
                retry=False,
            )
        text = note.text(self.web_url)
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body = json.dumps({"text": text}, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"ledgerrun/{ledgerrun.__version__}",
        }
        _post(self.url, body, headers, self.timeout_s)


# --- email -------------------------------------------------------------------------------------


@dataclass
class Email:
    """A plain-text mail over SMTP: smtps:// (TLS from the start) or smtp:// (STARTTLS when the
    server offers it; required with ``starttls = true``). A password is sent only encrypted, or
    to a server on this machine."""

    settings: NotifySettings
    password: str
    timeout_s: float
    name: str = "email"

    @property
    def key(self) -> str:
        s = self.settings
        return f"email {s.smtp} {s.mail_from} {','.join(s.mail_to)}"

    def secrets(self) -> Sequence[str]:
        return [self.password] if self.password else []

    def message(self, note: Notification) -> EmailMessage:
        s = self.settings
        mail = EmailMessage()
        mail["Subject"] = " ".join(note.subject().split())
        mail["From"] = s.mail_from or ""
        mail["To"] = ", ".join(s.mail_to)
        mail["Date"] = formatdate(note.at.timestamp(), usegmt=True)
        mail["Message-ID"] = make_msgid("ledgerrun")
        mail["X-Ledgerrun-Event"] = note.event
        mail.set_content(note.text(s.web_url))
        mail.add_attachment(
            json.dumps(note.body(), ensure_ascii=False, indent=2).encode(),
            maintype="application",
            subtype="json",
            filename=f"ledgerrun-{note.event}.json",
        )
        return mail

    def send(self, note: Notification) -> None:
        try:
            self._send(self.message(note))
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"the mail server refused the user and password ({exc.smtp_code})", retry=False
            ) from None
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise DeliveryError(f"the mail server refused an address: {exc}", retry=False) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"the mail server answered {exc.smtp_code}", retry=400 <= exc.smtp_code < 500
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"the mail server's certificate is not trusted: {exc.verify_message}", retry=False
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"cannot reach the mail server: {exc or type(exc).__name__}", retry=True
            ) from None

    def _send(self, mail: EmailMessage) -> None:
        parts = self.settings.smtp_parts
        host = parts.hostname or ""
        port = parts.port or SMTP_PORTS[parts.scheme]
        context = ssl.create_default_context()
        server: smtplib.SMTP
        if parts.scheme == "smtps":
            server = smtplib.SMTP_SSL(host, port, timeout=self.timeout_s, context=context)
        else:
            server = smtplib.SMTP(host, port, timeout=self.timeout_s)
        with server:
            server.ehlo()
            encrypted = parts.scheme == "smtps"
            if not encrypted and server.has_extn("starttls"):
                server.starttls(context=context)
                server.ehlo()
                encrypted = True
            elif not encrypted and self.settings.starttls:
                raise DeliveryError(
                    "the mail server does not offer STARTTLS, which starttls = true requires",
                    retry=False,
                )
            if parts.username:
                if not encrypted and not is_loopback(host):
                    raise DeliveryError(
                        "the mail server offers no encryption (STARTTLS): the password is never "
                        "sent in the clear; use smtps:// or a server that offers STARTTLS",
                        retry=False,
                    )
                if not self.password:
                    raise DeliveryError(
                        f"the environment variable {self.settings.smtp_password_env} "
                        "(smtp_password_env) is not set",
                        retry=False,
                    )
                server.login(unquote(parts.username), self.password)
            server.send_message(mail)


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` without any of ``secrets`` (longest first) and scrubbed like every log line."""
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "[secret]")
    return scrub(text)
