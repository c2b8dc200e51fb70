"""The ``/_sandbox/*`` helper endpoints: no auth, never faulted, never rate limited.

``GET /_sandbox/state`` (everything), ``POST /_sandbox/clock`` with ``advance_s`` (move the
sandbox clock on; pending refunds that come due settle), ``POST /_sandbox/balance`` with
``account``, ``currency`` and ``amount`` (top up a balance). Parameters come as a JSON object
body, a form body or a query string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ledgerrun_sandbox import refunds
from ledgerrun_sandbox.errors import invalid_request, unrecognized_url
from ledgerrun_sandbox.state import SandboxState
from ledgerrun_sandbox.wire import decode_form, decode_json_object

_CURRENCY = re.compile(r"^[a-z]{3}$")


def helper(
    state: SandboxState,
    method: str,
    path: str,
    params: Callable[[], dict[str, Any]],
    faults: Callable[[], dict[str, int]],
) -> dict[str, Any]:
    """The answer of one helper endpoint, or an ``ApiError``."""
    if method == "GET" and path == "/_sandbox/state":
        with state.lock:
            refunds.settle_due(state)
        return state.snapshot(faults())
    if method == "POST" and path == "/_sandbox/clock":
        now = _advance(state, params())
        with state.lock:
            refunds.settle_due(state)
        return {"now": now}
    if method == "POST" and path == "/_sandbox/balance":
        return _top_up(state, params())
    raise unrecognized_url(method, path)


def helper_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """A helper's params: a JSON object body, or a form body, or the query string."""
    if "json" in content_type or body.lstrip().startswith(b"{"):
        return decode_json_object(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_request(None, "The request body is not valid UTF-8.") from None
    return decode_form(text or query)


def _top_up(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/balance``: add money to one balance, from nowhere."""
    account_id = params.get("account")
    currency = params.get("currency")
    raw_amount = params.get("amount")
    if not isinstance(account_id, str) or not account_id:
        raise invalid_request("account", "account is required: a seed account id.")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise invalid_request("currency", "currency must be a lowercase code like usd.")
    if isinstance(raw_amount, bool) or not isinstance(raw_amount, int | str):
        raise invalid_request("amount", "amount must be a positive integer (minor units).")
    try:
        amount = int(raw_amount)
    except ValueError:
        raise invalid_request(
            "amount", "amount must be a positive integer (minor units)."
        ) from None
    if not 0 < amount < 10**15:
        raise invalid_request("amount", "amount must be a positive integer (minor units).")
    return state.top_up(account_id, currency, amount)


def _advance(state: SandboxState, params: dict[str, Any]) -> float:
    raw = params.get("advance_s")
    try:
        seconds = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise invalid_request(
            "advance_s", "advance_s must be a number of seconds, e.g. advance_s=86401"
        ) from None
    if not 0 <= seconds < 10**10:
        raise invalid_request("advance_s", "advance_s must be >= 0: the clock only moves on")
    return state.clock.advance(seconds)
