"""Who is asking, and in which API version: the ``Authorization`` and ``Stripe-Version`` headers.

A key is accepted only if the seed's ``api_keys`` or the server's own (``--api-key``) list it;
Stripe answers 401 to any key it did not issue, and so does the sandbox, showing at most the
key's kind and last four characters. ``Stripe-Version`` must be one of Stripe's published
versions (:data:`~ledgerrun_sandbox.rules.API_VERSIONS`); without it a request is answered in the
platform's default version. Stripe refuses an unknown version with a 400
``invalid_request_error`` ("Invalid Stripe API version: ..."), without code or param.
"""

from __future__ import annotations

from ledgerrun_sandbox.errors import ApiError
from ledgerrun_sandbox.rules import LIVE_KEY_PREFIXES, SEARCH_MIN_API_VERSION, version_before
from ledgerrun_sandbox.rules import is_api_version as known_version
from ledgerrun_sandbox.wire import api_key_from_authorization, key_hint


def authenticate(header: str | None, accepted: frozenset[str]) -> str:
    """The request's API key, or a 401 that shows at most the key's kind and last four."""
    key = api_key_from_authorization(header)
    if key is None:
        raise _auth_error(
            "You did not provide an API key. Send it as 'Authorization: Bearer sk_test_...' "
            "(or as the user name of HTTP basic auth)."
        )
    if key in accepted:
        return key
    invalid = f"Invalid API Key provided: {key_hint(key)}"
    if key.startswith(LIVE_KEY_PREFIXES):
        raise _auth_error(
            f"{invalid} (a live mode key: this local sandbox only accepts test mode keys)"
        )
    raise _auth_error(invalid)


def api_version(header: str | None, default: str) -> str:
    """The version a request is answered in: its ``Stripe-Version``, or the account's default."""
    if header is None or not header.strip():
        return default
    version = header.strip()
    if not known_version(version):
        raise ApiError(400, f"Invalid Stripe API version: {version[:80]}")
    return version


def check_search_version(version: str) -> None:
    """Search endpoints exist from 2020-08-27 on; Stripe refuses older versions so."""
    if version_before(version, SEARCH_MIN_API_VERSION):
        raise ApiError(
            400,
            f"Search is not supported on api version {version}. Update your API version, or "
            f"set the API Version of this request to {SEARCH_MIN_API_VERSION} or greater.",
        )


def _auth_error(message: str) -> ApiError:
    # Stripe's OpenAPI spec has no authentication_error type (api_error, card_error,
    # idempotency_error, invalid_request_error): a refused key is a 401 invalid_request_error.
    return ApiError(401, message)
