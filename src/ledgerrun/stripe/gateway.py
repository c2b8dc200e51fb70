"""The one place that talks to Stripe, through the official ``stripe`` SDK.

Each method sends exactly one HTTP request (the SDK's own retries are off: retries live in the
runner, under :mod:`ledgerrun.stripe.policy`) and returns plain dataclasses. Every ``stripe``
exception is translated here, and only here, into the project's error tree
(:mod:`ledgerrun.errors`), keeping the status, code, request id and ``Stripe-Should-Retry``
header the retry policy needs.

The gateway also reads Stripe's clock from each answer's ``Date`` header, so the runner can age a
pending attempt by Stripe's clock as well as its own (idempotency keys expire on Stripe's clock).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe

from ledgerrun import errors
from ledgerrun.stripe.policy import Verdict, classify
from ledgerrun.stripe.transport import KeepAliveTransport

LIVE_PREFIXES = ("sk_live_", "rk_live_")


def redact(api_key: str) -> str:
    """What may be shown of a key: its kind and last four characters."""
    kind = api_key.split("_", 2)
    prefix = "_".join(kind[:2]) + "_" if len(kind) == 3 else ""
    return f"{prefix}…{api_key[-4:]}" if len(api_key) > 8 else "…"


@dataclass(frozen=True)
class Platform:
    id: str
    country: str
    default_currency: str


@dataclass(frozen=True)
class Account:
    id: str
    type: str | None
    country: str | None
    default_currency: str | None
    negative_balances: str | None  # controller.losses.payments: "application" or "stripe"


@dataclass(frozen=True)
class Debit:
    """One debit as Stripe reports it: the account's Transfer and the platform's Payment."""

    method: str
    transfer_id: str
    payment_id: str | None
    account: str
    amount: int
    currency: str
    created: int
    transfer_group: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    request_id: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class Page:
    debits: list[Debit]
    has_more: bool
    last_id: str | None


class Gateway:
    """A StripeClient for one run: key from the caller, SDK retries off, one timeout."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout_s: float = 30.0,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        addresses: dict[str, str] = {"api": api_base.rstrip("/")} if api_base else {}
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=addresses,  # type: ignore[arg-type]
            max_network_retries=0,
            http_client=KeepAliveTransport(timeout_s),
        )
        self._offset_lock = threading.Lock()
        self.server_offset: dt.timedelta | None = None

    # --- reading ----------------------------------------------------------------------------

    def platform(self) -> Platform:
        acct, _ = self._call("get", "/v1/account")
        return Platform(
            id=acct["id"],
            country=str(acct.get("country") or ""),
            default_currency=str(acct.get("default_currency") or ""),
        )

    def account(self, account_id: str) -> Account:
        """The connected account; AccountCheckError when it is missing or out of reach."""
        acct, _ = self._call("get", f"/v1/accounts/{_path(account_id)}", account=True)
        controller = acct.get("controller") or {}
        return Account(
            id=acct["id"],
            type=acct.get("type"),
            country=acct.get("country"),
            default_currency=acct.get("default_currency"),
            negative_balances=(controller.get("losses") or {}).get("payments"),
        )

    def available(self, account_id: str) -> dict[str, int]:
        """The account's available balance per currency, in minor units."""
        balance, _ = self._call("get", "/v1/balance", account=True, stripe_account=account_id)
        return {str(b["currency"]): int(b["amount"]) for b in balance.get("available") or []}

    def list_debits(
        self,
        method: str,
        account: str | None,
        transfer_group: str,
        created_gte: int,
        starting_after: str | None = None,
    ) -> Page:
        """One page (newest first) of the debits of ``transfer_group`` created at or after
        ``created_gte``: the account's transfers, or the platform's charges from that account
        (from every account when ``account`` is None; transfers always need one)."""
        params: dict[str, Any] = {
            "limit": 100,
            "transfer_group": transfer_group,
            "created": {"gte": created_gte},
        }
        if starting_after:
            params["starting_after"] = starting_after
        if method == "transfer":
            if account is None:
                raise ValueError("transfers are listed per connected account")
            page, _ = self._call("get", "/v1/transfers", params, stripe_account=account)
            debits = [_from_transfer(t, account) for t in page["data"]]
        else:
            page, _ = self._call("get", "/v1/charges", params)
            debits = [d for d in map(_from_charge, page["data"]) if account in (None, d.account)]
        last = page["data"][-1]["id"] if page["data"] else None
        return Page(debits, bool(page.get("has_more")), last)

    def transfer(self, account: str, transfer_id: str) -> Debit:
        t, meta = self._call("get", f"/v1/transfers/{_path(transfer_id)}", stripe_account=account)
        return _from_transfer(t, account, meta)

    def payment(self, payment_id: str) -> Debit:
        c, meta = self._call("get", f"/v1/charges/{_path(payment_id)}")
        return _from_charge(c, meta)

    # --- writing ----------------------------------------------------------------------------

    def debit(self, method: str, account: str, request: Mapping[str, Any], key: str) -> Debit:
        """Send one debit with its idempotency key; ``request`` holds the exact API params."""
        if method == "transfer":
            t, meta = self._call(
                "post", "/v1/transfers", request, stripe_account=account, idempotency_key=key
            )
            return _from_transfer(t, account, meta)
        c, meta = self._call("post", "/v1/charges", request, idempotency_key=key)
        return _from_charge(c, meta)

    # --- the one error boundary ---------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        account: bool = False,
        **options: str,
    ) -> tuple[dict[str, Any], _Meta]:
        """Send one request; its answer as plain data, or the project's own error.

        The SDK's ``raw_request`` signs, encodes and checks the request exactly as its typed
        services do, and returns the parsed JSON without building resource objects (which cost
        a third of a request's CPU, only to be turned back into plain data here).
        """
        try:
            response = self._client.raw_request(method, path, **dict(params or {}), **options)
        except stripe.StripeError as exc:
            self._note_clock(exc.headers)
            raise _translate(exc, account=account) from exc
        headers = response.headers or {}
        self._note_clock(headers)
        replayed = headers.get("idempotent-replayed") == "true"
        return response.data, _Meta(response.request_id, replayed)

    def _note_clock(self, headers: Mapping[str, str] | None) -> None:
        date = (headers or {}).get("date") or (headers or {}).get("Date")
        if not date:
            return
        try:
            server = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        with self._offset_lock:
            self.server_offset = server - self._now()


def _translate(exc: stripe.StripeError, *, account: bool) -> errors.LedgerrunError:
    """A ``stripe`` exception as the project's own error, by what the answer means."""
    status = exc.http_status
    headers = exc.headers or {}
    flag = headers.get("stripe-should-retry") or headers.get("Stripe-Should-Retry")
    should_retry = None if flag is None else flag == "true"
    error = exc.error
    code = (error.code if error else None) or exc.code or (error.type if error else None)
    if isinstance(exc, stripe.APIConnectionError):
        status, code = None, "network_error"
    code = code or ("api_error" if status and status >= 500 else "stripe_error")
    message = (exc.user_message or str(exc) or code).strip()
    info: dict[str, Any] = {
        "code": code,
        "http_status": status,
        "request_id": exc.request_id,
        "should_retry": should_retry,
    }
    verdict = classify(status, code, should_retry)
    if verdict is Verdict.FATAL:
        return errors.StripeFatalError(f"Stripe refused the API key: {message}", **info)
    if verdict is Verdict.RETRY:
        if status is None:
            return errors.NetworkError(f"no answer from Stripe: {message}", **info)
        if code == "lock_timeout":
            return errors.LockTimeoutError(message, **info)
        if status == 429:
            return errors.RateLimitedError(message, **info)
        if status == 409:
            return errors.KeyInUseError(message, **info)
        return errors.StripeServerError(message, **info)
    if verdict is Verdict.UNKNOWN:
        if code == "idempotency_error":
            return errors.KeyConflictError(message, **info)
        return errors.StripeServerError(message, **info)
    if account and status == 404:
        return errors.AccountCheckError(message, **{**info, "code": "account_not_found"})
    if (account and status == 403) or code == "account_invalid":
        return errors.AccountCheckError(message, **{**info, "code": "account_inaccessible"})
    return errors.DebitRefusedError(message, **info)


@dataclass(frozen=True)
class _Meta:
    request_id: str | None = None
    replayed: bool = False


def _path(identifier: str) -> str:
    """An id placed in a URL path, escaped (ids come from ledgers and results files)."""
    return urllib.parse.quote(identifier, safe="")


def _id(value: Any) -> str | None:
    """An id field, whether Stripe sent the id or the expanded object."""
    if value is None:
        return None
    return str(value if isinstance(value, str) else value["id"])


def _meta(obj: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}


def _from_transfer(t: dict[str, Any], account: str, meta: _Meta | None = None) -> Debit:
    meta = meta or _Meta()
    return Debit(
        method="transfer",
        transfer_id=t["id"],
        payment_id=_id(t.get("destination_payment")),
        account=account,
        amount=int(t["amount"]),
        currency=str(t["currency"]),
        created=int(t.get("created") or 0),
        transfer_group=t.get("transfer_group"),
        metadata=_meta(t),
        request_id=meta.request_id,
        replayed=meta.replayed,
    )


def _from_charge(c: dict[str, Any], meta: _Meta | None = None) -> Debit:
    meta = meta or _Meta()
    return Debit(
        method="charge",
        transfer_id=_id(c.get("source_transfer")) or "",
        payment_id=c["id"],
        account=_id(c.get("source")) or "",
        amount=int(c["amount"]),
        currency=str(c["currency"]),
        created=int(c.get("created") or 0),
        transfer_group=c.get("transfer_group"),
        metadata=_meta(c),
        request_id=meta.request_id,
        replayed=meta.replayed,
    )
