"""The one place that talks to Stripe, through the official ``stripe`` SDK: the real
:class:`~ledgerrun.stripe.gateway.Gateway`.

Each method sends exactly one HTTP request (the SDK's own retries are off: retries live in
:mod:`ledgerrun.stripe.client`) and returns plain dataclasses. Every ``stripe`` exception is
translated here, and only here, into the project's error tree by one table
(:data:`ledgerrun.stripe.answers.ERROR_TABLE`), keeping what the client needs to decide.

Requests go through :class:`~ledgerrun.stripe.transport.PooledHTTPClient`, a small
``stripe.HTTPClient`` on urllib3's connection pool, sized to the command's concurrency:
connections are kept alive and reused across threads, and :meth:`Gateway.close` closes them all.
It costs about half the CPU of the SDK's ``RequestsClient`` per request (``benchmarks/
transport.py``, docs/benchmarks.md), which a batch of thousands of requests pays thousands of
times.

The gateway also reads Stripe's clock from each answer's ``Date`` header, so a pending attempt
can be aged by Stripe's clock as well as ours (idempotency keys expire on Stripe's clock).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import stripe

from ledgerrun import errors
from ledgerrun.stripe import facts, shapes
from ledgerrun.stripe.answers import header, translate
from ledgerrun.stripe.shapes import Account, Meta, Movement, Page, Platform, Refund, Reversal
from ledgerrun.stripe.transport import PooledHTTPClient
from ledgerrun.vocab import Method

__all__ = ["SdkGateway", "pinned_version"]


# --- the gateway -------------------------------------------------------------------------------


class SdkGateway:
    """A ``stripe.StripeClient`` for one command: key from the caller, SDK retries off, one
    timeout, one pool of keep-alive connections shared by every thread."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout_s: float = 30.0,
        pool_size: int = 10,
        now: Callable[[], dt.datetime] | None = None,
        api_version: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """``environ``: where the proxy is looked up, once (the process's environment unless
        given)."""
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self.api_version = api_version or pinned_version()
        base = (api_base or stripe.DEFAULT_API_BASE).rstrip("/")
        self._http = PooledHTTPClient(
            base, timeout_s=timeout_s, pool_size=max(2, pool_size), environ=environ
        )
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": base},
            max_network_retries=0,
            http_client=self._http,
            stripe_version=self.api_version,  # sent as Stripe-Version on every request
        )
        self._offset_lock = threading.Lock()
        self.server_offset: dt.timedelta | None = None

    def close(self) -> None:
        """Close every pooled connection; the gateway must not be used afterwards."""
        self._http.close()

    # --- reading ----------------------------------------------------------------------------

    def platform(self) -> Platform:
        acct, _ = self._call("get", "/v1/account")
        return Platform(
            id=str(acct["id"]),
            country=str(acct.get("country") or ""),
            default_currency=str(acct.get("default_currency") or ""),
        )

    def account(self, account_id: str) -> Account:
        """The connected account; AccountCheckError when it is missing or out of reach."""
        acct, _ = self._call("get", f"/v1/accounts/{_path(account_id)}", account_lookup=True)
        controller = acct.get("controller") or {}
        return Account(
            id=str(acct["id"]),
            type=acct.get("type"),
            country=acct.get("country"),
            default_currency=acct.get("default_currency"),
            losses_payments=(controller.get("losses") or {}).get("payments"),
        )

    def available(self, account_id: str | None) -> dict[str, int]:
        """Available balance per currency in minor units: an account's, or the platform's."""
        balance, _ = self._call("get", "/v1/balance", stripe_account=account_id)
        return {str(b["currency"]): int(b["amount"]) for b in balance.get("available") or []}

    def list_transfers(
        self,
        account: str | None,
        *,
        group: str | None,
        created_gte: int,
        after: str | None = None,
    ) -> Page[Movement]:
        """One page (newest first) of transfers: made by a connected account (``account``, its
        debits by transfer) or by the platform (``None``, its credits)."""
        params = _list_params(group, created_gte, after)
        page, _ = self._call("get", "/v1/transfers", params, stripe_account=account)
        if account:
            items = [shapes.debit_transfer(t, account) for t in page["data"]]
        else:
            items = [shapes.credit_transfer(t) for t in page["data"]]
        return shapes.page_of(page, items)

    def list_accounts(self, after: str | None = None) -> Page[str]:
        """One page of the platform's connected accounts' ids (newest first)."""
        params: dict[str, Any] = {"limit": facts.LIST_PAGE_MAX}
        if after:
            params["starting_after"] = after
        page, _ = self._call("get", "/v1/accounts", params)
        return shapes.page_of(page, [str(a["id"]) for a in page["data"]])

    def search_charges(self, query: str, page: str | None = None) -> Page[Movement]:
        """One page of the platform's charges matching a search ``query`` (Stripe's search
        query language), keeping the debits of connected accounts; the page's ``last_id``
        is the cursor of the next (``next_page``)."""
        params: dict[str, Any] = {"query": query, "limit": facts.LIST_PAGE_MAX}
        if page:
            params["page"] = page
        found, _ = self._call("get", "/v1/charges/search", params)
        items = [shapes.debit_charge(c) for c in found["data"] if shapes.is_account_source(c)]
        cursor = found.get("next_page")
        return Page(items, bool(found.get("has_more")) and bool(cursor), cursor)

    def get_transfer(self, transfer_id: str, account: str | None) -> Movement:
        """A transfer by id: on a connected account (a debit) or on the platform (a credit)."""
        t, meta = self._call("get", f"/v1/transfers/{_path(transfer_id)}", stripe_account=account)
        return (
            shapes.debit_transfer(t, account, meta) if account else shapes.credit_transfer(t, meta)
        )

    def get_charge(self, payment_id: str) -> Movement:
        c, meta = self._call("get", f"/v1/charges/{_path(payment_id)}")
        return shapes.debit_charge(c, meta)

    def list_reversals(
        self, transfer_id: str, account: str | None, after: str | None = None
    ) -> Page[Reversal]:
        params: dict[str, Any] = {"limit": facts.LIST_PAGE_MAX}
        if after:
            params["starting_after"] = after
        path = f"/v1/transfers/{_path(transfer_id)}/reversals"
        page, _ = self._call("get", path, params, stripe_account=account)
        return shapes.page_of(page, [shapes.reversal(r) for r in page["data"]])

    def list_refunds(self, charge: str, after: str | None = None) -> Page[Refund]:
        """One page (newest first) of the refunds of the platform's payment ``charge``."""
        params: dict[str, Any] = {"charge": charge, "limit": facts.LIST_PAGE_MAX}
        if after:
            params["starting_after"] = after
        page, _ = self._call("get", "/v1/refunds", params)
        return shapes.page_of(page, [shapes.refund(r) for r in page["data"]])

    def get_refund(self, refund_id: str) -> Refund:
        r, meta = self._call("get", f"/v1/refunds/{_path(refund_id)}")
        return shapes.refund(r, meta)

    # --- writing ----------------------------------------------------------------------------

    def debit(self, method: str, account: str, request: Mapping[str, Any], key: str) -> Movement:
        """Send one debit with its idempotency key; ``request`` holds the exact API params."""
        if method == Method.TRANSFER:
            t, meta = self._call(
                "post", "/v1/transfers", request, stripe_account=account, idempotency_key=key
            )
            return shapes.debit_transfer(t, account, meta)
        c, meta = self._call("post", "/v1/charges", request, idempotency_key=key)
        return shapes.debit_charge(c, meta)

    def credit(self, request: Mapping[str, Any], key: str) -> Movement:
        """Send one credit (a platform transfer to ``request['destination']``)."""
        t, meta = self._call("post", "/v1/transfers", request, idempotency_key=key)
        return shapes.credit_transfer(t, meta)

    def reverse(
        self, transfer_id: str, account: str | None, request: Mapping[str, Any], key: str
    ) -> Reversal:
        """Reverse all or part of a transfer, as whoever made it (``account`` for a debit)."""
        path = f"/v1/transfers/{_path(transfer_id)}/reversals"
        r, meta = self._call("post", path, request, stripe_account=account, idempotency_key=key)
        return shapes.reversal(r, meta)

    def refund(self, request: Mapping[str, Any], key: str) -> Refund:
        """Refund all or part of the platform's payment ``request['charge']`` (a debit's
        ``py_``): Stripe reverses the connected account's transfer that made it."""
        r, meta = self._call("post", "/v1/refunds", request, idempotency_key=key)
        return shapes.refund(r, meta)

    # --- the one error boundary ---------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        account_lookup: bool = False,
        stripe_account: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], Meta]:
        """Send one request; its answer as plain data, or the project's own error.

        The SDK's ``raw_request`` signs, encodes and checks the request exactly as its typed
        services do, and returns the parsed JSON without building resource objects."""
        options: dict[str, str] = {}
        if stripe_account:
            options["stripe_account"] = stripe_account
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        try:
            response = self._client.raw_request(method, path, **dict(params or {}), **options)
        except stripe.StripeError as exc:
            self._note_clock(exc.headers)
            raise translate(exc, account_lookup=account_lookup, now=self._now()) from exc
        headers = response.headers or {}
        self._note_clock(headers)
        replayed = header(headers, "Idempotent-Replayed") == "true"
        data = response.data
        if not isinstance(data, dict):
            raise errors.StripeAuthError(f"{path} did not answer with a Stripe object")
        return data, Meta(response.request_id, replayed)

    def _note_clock(self, headers: Mapping[str, str] | None) -> None:
        date = header(headers, "Date")
        if not date:
            return
        try:
            server = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            return
        with self._offset_lock:
            self.server_offset = server - self._now()


def pinned_version() -> str:
    """The API version the installed SDK pins (and sends unless told otherwise)."""
    return str(stripe.api_version)


def _list_params(group: str | None, created_gte: int, after: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": facts.LIST_PAGE_MAX, "created": {"gte": created_gte}}
    if group:
        params["transfer_group"] = group
    if after:
        params["starting_after"] = after
    return params


def _path(identifier: str) -> str:
    """An id placed in a URL path, escaped (ids come from ledgers and results files)."""
    return urllib.parse.quote(identifier, safe="")
