"""Talking to a running sandbox: its state, clock and balances over HTTP, the official SDK
client pointed at it, and the seed the sandbox's own tests start from.

Tests send ``/v1`` requests through the ``stripe`` SDK; plain HTTP (urllib) is used for the
``/_sandbox/*`` helper endpoints, and by :func:`raw` where a test must see the exact bytes of an
answer (which fields a body leaves out, which headers it carries).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

import stripe

from ledgerrun_sandbox import SandboxServer
from tests.helpers.constants import KEY, PLATFORM

ServerFactory = Callable[..., SandboxServer]

# --- the sandbox tests' own seed (see base_seed) --------------------------------------------

EXPRESS = "acct_1ExpressUS00001"  # usd 500_000
CUSTOM = "acct_1CustomUS000001"  # usd 200_000
STANDARD = "acct_1StandardUS0001"  # usd 300_000, Stripe covers its losses
REVOKED = "acct_1RevokedUS00001"  # usd 100_000, access revoked
CANADA = "acct_1ExpressCA00001"  # cad 100_000, another region
EMPTY = "acct_1ExpressEmpty01"  # usd 0
STRIPE_LIABLE = "acct_1ExpressStripe1"  # usd 100_000, Express but Stripe covers its losses
UNKNOWN = "acct_1NotConnected001"


def base_seed() -> dict[str, Any]:
    """A small seed with one account of each kind the sandbox tells apart (a fresh copy)."""
    return {
        "platform": {
            "id": PLATFORM,
            "country": "US",
            "default_currency": "usd",
            "balance": {"usd": 1_000_000},
        },
        "accounts": [
            {"id": EXPRESS, "type": "express", "country": "US", "default_currency": "usd",
             "balance": {"usd": 500_000}},
            {"id": CUSTOM, "type": "custom", "country": "US", "default_currency": "usd",
             "balance": {"usd": 200_000}},
            {"id": STANDARD, "type": "standard", "country": "US", "default_currency": "usd",
             "balance": {"usd": 300_000}},
            {"id": REVOKED, "country": "US", "default_currency": "usd",
             "balance": {"usd": 100_000}, "access": "revoked"},
            {"id": CANADA, "country": "CA", "default_currency": "cad",
             "balance": {"cad": 100_000}},
            {"id": EMPTY, "country": "US", "default_currency": "usd"},
            {"id": STRIPE_LIABLE, "type": "express", "country": "US", "default_currency": "usd",
             "balance": {"usd": 100_000}, "losses_payments": "stripe"},
        ],
    }  # fmt: skip


# --- the helper endpoints ---------------------------------------------------------------------


def sandbox_state(url: str) -> dict[str, Any]:
    """GET /_sandbox/state: everything the sandbox holds (its books), as JSON."""
    with urllib.request.urlopen(url + "/_sandbox/state", timeout=10) as response:
        data: dict[str, Any] = json.load(response)
        return data


def advance_clock(url: str, seconds: float) -> float:
    """POST /_sandbox/clock: move the sandbox's clock on; returns its new time."""
    body = f"advance_s={seconds}".encode()
    request = urllib.request.Request(url + "/_sandbox/clock", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        now: float = json.load(response)["now"]
        return now


def top_up(url: str, account: str, amount: int, currency: str = "usd") -> dict[str, Any]:
    """POST /_sandbox/balance: add ``amount`` to an account's (or the platform's) balance."""
    body = urllib.parse.urlencode({"account": account, "currency": currency, "amount": amount})
    request = urllib.request.Request(url + "/_sandbox/balance", data=body.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        data: dict[str, Any] = json.load(response)
        return data


# --- reading the books ------------------------------------------------------------------------


def debits(snapshot: dict[str, Any], job: str | None = None) -> Counter[str]:
    """How many ledgerrun objects (debits and credits) the sandbox holds per adjustment id, of
    one job or of any."""
    found: Counter[str] = Counter()
    for obj in [*snapshot["transfers"], *snapshot["charges"]]:
        meta = obj.get("metadata") or {}
        if "ledgerrun_adjustment_id" in meta and job in (None, meta.get("ledgerrun_job")):
            found[meta["ledgerrun_adjustment_id"]] += 1
    return found


def balances(snapshot: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Every balance (the platform's and each account's), per currency."""
    out = {snapshot["platform"]["id"]: snapshot["platform"]["balance"]}
    out.update({a["id"]: a["balance"] for a in snapshot["accounts"]})
    return out


def balance_of(state: dict[str, Any], account_id: str, currency: str = "usd") -> int:
    if state["platform"]["id"] == account_id:
        return int(state["platform"]["balance"].get(currency, 0))
    for account in state["accounts"]:
        if account["id"] == account_id:
            return int(account["balance"].get(currency, 0))
    raise KeyError(account_id)


# --- the API, through the SDK or raw ----------------------------------------------------------


def make_client(url: str, key: str = KEY, **kwargs: Any) -> stripe.StripeClient:
    """The official SDK pointed at the sandbox, with its own retries off."""
    return stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0, **kwargs)


def raw(
    url: str,
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    key: str | None = KEY,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """One request without the SDK: status, headers (lower-case names) and the JSON body."""
    body = urllib.parse.urlencode(params or {}).encode() if method == "POST" else None
    query = "" if method == "POST" or not params else "?" + urllib.parse.urlencode(params)
    sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url + path + query, data=body, headers=sent, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, got, data = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, got, data = exc.code, exc.headers, exc.read()
    return status, {k.lower(): v for k, v in got.items()}, json.loads(data)


def debit(
    client: stripe.StripeClient,
    account: str = EXPRESS,
    amount: int = 1000,
    key: str | None = None,
    **extra: Any,
) -> stripe.Transfer:
    """A transfer debit: POST /v1/transfers as ``account`` to the platform."""
    params: dict[str, Any] = {"amount": amount, "currency": "usd", "destination": PLATFORM}
    params.update(extra)
    options: dict[str, Any] = {"stripe_account": account}
    if key is not None:
        options["idempotency_key"] = key
    return client.v1.transfers.create(params, options)  # type: ignore[arg-type]


def charge_debit(
    client: stripe.StripeClient,
    account: str = EXPRESS,
    amount: int = 1000,
    key: str | None = None,
    **extra: Any,
) -> stripe.Charge:
    """A charge debit: POST /v1/charges on the platform with source=account."""
    params: dict[str, Any] = {"amount": amount, "currency": "usd", "source": account}
    params.update(extra)
    options: dict[str, Any] = {}
    if key is not None:
        options["idempotency_key"] = key
    return client.v1.charges.create(params, options)  # type: ignore[arg-type]


# --- what the SDK types as optional, as the sandbox always answers it -------------------------


def id_of(field: str | stripe.StripeObject | None) -> str:
    """An expandable field (``destination_payment``, ``source_transfer``...) as Stripe answers
    it unless asked to expand it: the object's id."""
    assert isinstance(field, str), f"not an id: {field!r}"
    return field


def error_of(refusal: stripe.StripeError) -> stripe.ErrorObject:
    """A refusal's error object (the ``error`` of its JSON body), which every refusal has."""
    assert refusal.error is not None, f"no error object in {refusal!r}"
    return refusal.error


def headers_of(refusal: stripe.StripeError) -> dict[str, str]:
    """The HTTP headers a refusal came with."""
    assert refusal.headers is not None, f"no headers in {refusal!r}"
    return refusal.headers


def response_of(obj: stripe.StripeObject) -> stripe.StripeResponse:
    """The HTTP answer an object came in (its headers, its request id)."""
    assert obj.last_response is not None, f"no HTTP answer behind {obj!r}"
    return obj.last_response
