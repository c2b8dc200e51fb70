"""What an answer from Stripe means, decided once: the table that turns every ``stripe``
exception into the project's own error class (see :mod:`ledgerrun.errors`), keeping the status,
code, request id, ``Stripe-Should-Retry`` and ``Retry-After`` the client needs."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

import stripe
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError, ProxyError
from urllib3.exceptions import TimeoutError as NoAnswerInTime

from ledgerrun import errors

# --- the error table ---------------------------------------------------------------------------


class Answer(NamedTuple):
    """What a failed request came back with, reduced to what decides its fate."""

    status: int | None  # None: no answer at all
    code: str
    should_retry: bool | None
    connected: bool  # False when no connection was opened (so nothing was sent)
    account_lookup: bool  # the request was GET /v1/accounts/{id}


Rule = tuple[Callable[[Answer], bool], type[errors.StripeError]]

ERROR_TABLE: tuple[Rule, ...] = (
    (lambda a: a.status is None and not a.connected, errors.ConnectError),
    (lambda a: a.status is None, errors.NetworkError),
    (lambda a: a.status == 429 and a.code == "lock_timeout", errors.LockTimeoutError),
    (lambda a: a.status == 429, errors.RateLimitedError),
    (lambda a: a.status == 409, errors.KeyInUseError),
    (lambda a: a.code == "idempotency_error", errors.KeyConflictError),
    (lambda a: a.should_retry is True, errors.StripeServerError),
    (lambda a: (a.status or 0) >= 500 and a.should_retry is False, errors.ServerUnknownError),
    (lambda a: (a.status or 0) >= 500, errors.StripeServerError),
    (lambda a: a.account_lookup and a.status in (403, 404), errors.AccountCheckError),
    (lambda a: a.code == "account_invalid", errors.AccountCheckError),
    (lambda a: True, errors.RefusedError),
)
"""First matching rule wins. 401 never reaches the table: it stops the command."""


KEY_REFUSED = "Stripe refused the API key"  # then Stripe's own message


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return None if value is None else str(value)


def _retry_after(value: str | None, now: dt.datetime) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - now).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer


def _connected(exc: stripe.APIConnectionError) -> bool:
    """Whether the request may have left: False only when no connection was made (refused,
    unresolved, timed out connecting, or the proxy out of reach), so nothing was sent. The
    cause is the transport's urllib3 exception (:mod:`ledgerrun.stripe.transport`)."""
    return not isinstance(exc.__cause__, (ConnectTimeoutError, ProxyError))


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def _network_reason(exc: stripe.APIConnectionError) -> str:
    """The network's own words for why there was no answer ("Connection refused", "timed
    out", ...), without the SDK's advice to write to Stripe's support."""
    cause = exc.__cause__
    if cause is None:
        return "network error"
    text = str(cause)
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip().rstrip(".")
    if isinstance(cause, NoAnswerInTime) and not isinstance(cause, NewConnectionError):
        return "timed out"
    inner = cause.args[-1] if isinstance(cause, ProtocolError) and cause.args else cause
    if "RemoteDisconnected" in text or "without response" in text:
        return "the connection closed without an answer"
    if isinstance(inner, OSError) and inner.strerror:
        return str(inner.strerror)
    return f"{type(inner).__name__}: {inner}"[:200]


def translate(
    exc: stripe.StripeError, *, account_lookup: bool, now: dt.datetime
) -> errors.LedgerrunError:
    """A ``stripe`` exception as the project's own error, by :data:`ERROR_TABLE`."""
    headers = exc.headers
    flag = header(headers, "Stripe-Should-Retry")
    should_retry = None if flag is None else flag.lower() == "true"
    error = exc.error
    status = exc.http_status
    code = (error.code if error else None) or exc.code or (error.type if error else None)
    connected = True
    message = " ".join((exc.user_message or str(exc) or "").split())
    if isinstance(exc, stripe.APIConnectionError):
        status, connected = None, _connected(exc)
        code = "network_error" if connected else "connection_failed"
        message = _network_reason(exc)
    code = code or ("api_error" if status and status >= 500 else "stripe_error")
    message = message or code
    if status == 401:
        return errors.StripeAuthError(f"{KEY_REFUSED}: {message}")
    answer = Answer(status, code, should_retry, connected, account_lookup)
    kind = next(cls for matches, cls in ERROR_TABLE if matches(answer))
    if kind is errors.AccountCheckError:
        code = "account_not_found" if status == 404 else "account_inaccessible"
    if kind is errors.NetworkError:
        message = f"no answer from Stripe: {message}"
    return kind(
        message,
        code=code,
        http_status=status,
        request_id=exc.request_id,
        should_retry=should_retry,
        retry_after_s=_retry_after(header(headers, "Retry-After"), now),
    )
