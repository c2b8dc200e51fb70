"""Stripe-shaped API errors raised inside the sandbox and rendered by the HTTP layer.

An :class:`ApiError` carries everything needed to answer: the HTTP status, the Stripe error
``type``, ``code``, ``message`` and ``param``, and whether the answer invites a retry
(``Stripe-Should-Retry: true``). The helpers below build the errors the sandbox uses more than
once, so each message is worded in one place.

Like Stripe, an error body leaves out what it does not have: no ``"code": null``, no
``"param": null``. Every ``code`` used here is one of Stripe's own (the ``ErrorCode`` list of
stripe-go's ``error.go``, generated from Stripe's OpenAPI spec). Where Stripe reports a problem
without a code (a malformed value, metadata over its limits, a currency the account does not
settle in), the sandbox sends ``type`` and ``param`` and no code, as Stripe does.
"""

from __future__ import annotations

from typing import Any

INVALID_REQUEST = "invalid_request_error"


class ApiError(Exception):
    """An error answer from the sandbox API, in Stripe's ``{"error": {...}}`` shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
        should_retry: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.should_retry = should_retry

    def payload(self) -> dict[str, Any]:
        """The JSON body Stripe would send for this error (absent fields left out)."""
        body: dict[str, Any] = {"type": self.type}
        if self.code is not None:
            body["code"] = self.code
            body["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        body["message"] = self.message
        if self.param is not None:
            body["param"] = self.param
        return {"error": body}


def parameter_missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def parameter_unknown(param: str) -> ApiError:
    return ApiError(
        400,
        f"Received unknown parameter: {param}",
        code="parameter_unknown",
        param=param,
    )


def invalid_request(param: str | None, message: str) -> ApiError:
    """A value Stripe refuses without an error code: ``invalid_request_error`` and ``param``.

    Stripe has no ``parameter_invalid`` code; bad currencies, metadata over its limits, a
    malformed body and the like come back as a plain ``invalid_request_error`` naming the
    parameter (e.g. stripe/stripe-php#246 for metadata)."""
    return ApiError(400, message, param=param)


def parameters_exclusive(first: str, second: str) -> ApiError:
    return ApiError(
        400,
        f"You may only specify one of these parameters: {first}, {second}.",
        code="parameters_exclusive",
        param=second,
    )


def invalid_integer(param: str, value: object) -> ApiError:
    return ApiError(
        400,
        f"Invalid integer: {_short(value)}",
        code="parameter_invalid_integer",
        param=param,
    )


def resource_missing(kind: str, object_id: str, param: str, *, status: int = 404) -> ApiError:
    return ApiError(
        status,
        f"No such {kind}: '{_short(object_id)}'",
        code="resource_missing",
        param=param,
    )


def account_invalid(account_id: str, *, param: str | None = None) -> ApiError:
    return ApiError(
        403,
        f"The provided key does not have access to account '{_short(account_id)}' (or that "
        "account does not exist). Application access may have been revoked.",
        code="account_invalid",
        param=param,
    )


def transfers_not_allowed(message: str) -> ApiError:
    return ApiError(400, message, code="transfers_not_allowed")


def unrecognized_url(method: str, path: str) -> ApiError:
    return ApiError(
        404,
        f"Unrecognized request URL ({method}: {_short(path)}). The sandbox models only the "
        "Connect account-debit endpoints; see `ledgerrun sandbox --help`.",
    )


_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}
_ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())


def money(amount: int, currency: str) -> str:
    """Minor units as Stripe's messages show them: ``$0.50 usd``, ``¥50 jpy``, ``15.00 czk``."""
    if currency in _ZERO_DECIMAL:
        text = f"{amount:,}"
    else:
        whole, cents = divmod(amount, 100)
        text = f"{whole:,}.{cents:02d}"
    return f"{_SYMBOLS.get(currency, '')}{text} {currency}"


def _short(value: object, limit: int = 80) -> str:
    """A value as text, cut short so an error message never echoes a huge input back."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
