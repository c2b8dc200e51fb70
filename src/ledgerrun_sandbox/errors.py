"""Stripe-shaped API errors raised inside the sandbox and rendered by the HTTP layer.

An :class:`ApiError` carries everything needed to answer: the HTTP status, the Stripe error
``type``, ``code``, ``message`` and ``param``, and whether the answer invites a retry
(``Stripe-Should-Retry: true``). The helpers below build the errors the sandbox uses more than
once, so each message is worded in one place.
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
        """The JSON body Stripe would send for this error."""
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
            }
        }


def parameter_missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def parameter_unknown(param: str) -> ApiError:
    return ApiError(
        400,
        f"Received unknown parameter: {param}",
        code="parameter_unknown",
        param=param,
    )


def parameter_invalid(param: str | None, message: str) -> ApiError:
    return ApiError(400, message, code="parameter_invalid", param=param)


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


def _short(value: object, limit: int = 80) -> str:
    """A value as text, cut short so an error message never echoes a huge input back."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
