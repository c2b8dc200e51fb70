"""The one place that talks to Stripe, through the official ``stripe`` SDK.

Each method sends exactly one HTTP request (the SDK's own retries are off: retries live in
:mod:`ledgerrun.stripe.client`) and returns plain dataclasses. Every ``stripe`` exception is
translated here, and only here, into the project's error tree by one table (:data:`ERROR_TABLE`),
keeping the status, code, request id, ``Stripe-Should-Retry`` and ``Retry-After`` the client
needs.

Requests go through the SDK's own ``RequestsClient`` on one shared ``requests.Session`` whose
connection pool is sized to the command's concurrency: connections are kept alive and reused
across threads, and :meth:`Gateway.close` closes them all. (Version 1 ran its own
``http.client`` transport to save CPU per request; at Stripe's rates of 25 to 100 requests per
second the difference is a few percent of one core, measured in docs/benchmarks.md, so the
well-kept client wins.)

The gateway also reads Stripe's clock from each answer's ``Date`` header, so a pending attempt
can be aged by Stripe's clock as well as ours (idempotency keys expire on Stripe's clock).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import requests
import stripe
from requests.adapters import HTTPAdapter

from ledgerrun import errors
from ledgerrun.stripe import facts
from ledgerrun.vocab import Direction, Method


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
    losses_payments: str | None  # controller.losses.payments: "application" or "stripe"


@dataclass(frozen=True)
class Movement:
    """One ledgerrun money movement as Stripe reports it (a debit or a credit).

    ``transfer_id`` is the ``tr_`` (on the account for a debit, on the platform for a credit)
    and ``payment_id`` the ``py_`` it produced on the other side. ``account`` is always the
    connected account."""

    direction: Direction
    method: str  # "transfer" or "charge" for debits, "" for credits
    transfer_id: str
    payment_id: str | None
    account: str
    amount: int
    currency: str
    created: int
    transfer_group: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    amount_reversed: int = 0
    request_id: str | None = None
    replayed: bool = False

    @property
    def object_id(self) -> str:
        """The object ledgerrun created (the one holding its metadata)."""
        if self.method == Method.CHARGE:
            return self.payment_id or ""
        return self.transfer_id


@dataclass(frozen=True)
class Reversal:
    id: str
    transfer_id: str
    amount: int
    currency: str
    created: int
    metadata: dict[str, str] = field(default_factory=dict)
    request_id: str | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool
    last_id: str | None


@dataclass(frozen=True)
class _Meta:
    request_id: str | None = None
    replayed: bool = False


# --- the error table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
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


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
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
    """Whether the request may have left: False only when the connection itself failed."""
    cause = exc.__cause__
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(cause, requests.exceptions.ConnectionError):
        reason = cause.args[0] if cause.args else None
        inner = getattr(reason, "reason", reason)
        text = f"{type(inner).__name__} {inner}"
        return not any(
            word in text
            for word in ("NewConnectionError", "Connection refused", "NameResolution", "Errno -")
        )
    return True


def translate(
    exc: stripe.StripeError, *, account_lookup: bool, now: dt.datetime
) -> errors.LedgerrunError:
    """A ``stripe`` exception as the project's own error, by :data:`ERROR_TABLE`."""
    headers = exc.headers
    flag = _header(headers, "Stripe-Should-Retry")
    should_retry = None if flag is None else flag.lower() == "true"
    error = exc.error
    status = exc.http_status
    code = (error.code if error else None) or exc.code or (error.type if error else None)
    connected = True
    if isinstance(exc, stripe.APIConnectionError):
        status, connected = None, _connected(exc)
        code = "network_error" if connected else "connection_failed"
    code = code or ("api_error" if status and status >= 500 else "stripe_error")
    message = " ".join((exc.user_message or str(exc) or code).split())
    if status == 401:
        return errors.StripeAuthError(f"Stripe refused the API key: {message}")
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
        retry_after_s=_retry_after(_header(headers, "Retry-After"), now),
    )


# --- the gateway -------------------------------------------------------------------------------


class Gateway:
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
    ) -> None:
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        addresses: dict[str, str] = {"api": api_base.rstrip("/")} if api_base else {}
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(2, pool_size))
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=addresses,  # type: ignore[arg-type]
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout_s, session=self._session),
        )
        self._offset_lock = threading.Lock()
        self.server_offset: dt.timedelta | None = None

    def close(self) -> None:
        """Close every pooled connection; the gateway must not be used afterwards."""
        self._session.close()

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
            items = [_debit_transfer(t, account) for t in page["data"]]
        else:
            items = [_credit_transfer(t) for t in page["data"]]
        return _page(page, items)

    def list_charges(
        self, *, group: str | None, created_gte: int, after: str | None = None
    ) -> Page[Movement]:
        """One page (newest first) of the platform's charges from connected accounts (debits by
        charge); charges from cards and other sources are left out."""
        page, _ = self._call("get", "/v1/charges", _list_params(group, created_gte, after))
        items = [_debit_charge(c) for c in page["data"] if _is_account_source(c)]
        return _page(page, items)

    def get_transfer(self, transfer_id: str, account: str | None) -> Movement:
        """A transfer by id: on a connected account (a debit) or on the platform (a credit)."""
        t, meta = self._call("get", f"/v1/transfers/{_path(transfer_id)}", stripe_account=account)
        return _debit_transfer(t, account, meta) if account else _credit_transfer(t, meta)

    def get_charge(self, payment_id: str) -> Movement:
        c, meta = self._call("get", f"/v1/charges/{_path(payment_id)}")
        return _debit_charge(c, meta)

    def list_reversals(
        self, transfer_id: str, account: str | None, after: str | None = None
    ) -> Page[Reversal]:
        params: dict[str, Any] = {"limit": facts.LIST_PAGE_MAX}
        if after:
            params["starting_after"] = after
        path = f"/v1/transfers/{_path(transfer_id)}/reversals"
        page, _ = self._call("get", path, params, stripe_account=account)
        return _page(page, [_reversal(r) for r in page["data"]])

    # --- writing ----------------------------------------------------------------------------

    def debit(self, method: str, account: str, request: Mapping[str, Any], key: str) -> Movement:
        """Send one debit with its idempotency key; ``request`` holds the exact API params."""
        if method == Method.TRANSFER:
            t, meta = self._call(
                "post", "/v1/transfers", request, stripe_account=account, idempotency_key=key
            )
            return _debit_transfer(t, account, meta)
        c, meta = self._call("post", "/v1/charges", request, idempotency_key=key)
        return _debit_charge(c, meta)

    def credit(self, request: Mapping[str, Any], key: str) -> Movement:
        """Send one credit (a platform transfer to ``request['destination']``)."""
        t, meta = self._call("post", "/v1/transfers", request, idempotency_key=key)
        return _credit_transfer(t, meta)

    def reverse(
        self, transfer_id: str, account: str | None, request: Mapping[str, Any], key: str
    ) -> Reversal:
        """Reverse all or part of a transfer, as whoever made it (``account`` for a debit)."""
        path = f"/v1/transfers/{_path(transfer_id)}/reversals"
        r, meta = self._call("post", path, request, stripe_account=account, idempotency_key=key)
        return _reversal(r, meta)

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
    ) -> tuple[dict[str, Any], _Meta]:
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
        replayed = _header(headers, "Idempotent-Replayed") == "true"
        data = response.data
        if not isinstance(data, dict):
            raise errors.StripeAuthError(f"{path} did not answer with a Stripe object")
        return data, _Meta(response.request_id, replayed)

    def _note_clock(self, headers: Mapping[str, str] | None) -> None:
        date = _header(headers, "Date")
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


# --- shapes ------------------------------------------------------------------------------------


def _list_params(group: str | None, created_gte: int, after: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": facts.LIST_PAGE_MAX, "created": {"gte": created_gte}}
    if group:
        params["transfer_group"] = group
    if after:
        params["starting_after"] = after
    return params


def _page(page: dict[str, Any], items: list[T]) -> Page[T]:
    data = page.get("data") or []
    last = str(data[-1]["id"]) if data else None
    return Page(items, bool(page.get("has_more")), last)


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


def _is_account_source(charge: dict[str, Any]) -> bool:
    source = charge.get("source")
    source_id = _id(source) if isinstance(source, str | dict) else None
    return bool(source_id and source_id.startswith("acct_"))


def _debit_transfer(t: dict[str, Any], account: str, meta: _Meta | None = None) -> Movement:
    meta = meta or _Meta()
    return Movement(
        direction=Direction.DEBIT,
        method=Method.TRANSFER,
        transfer_id=str(t["id"]),
        payment_id=_id(t.get("destination_payment")),
        account=account,
        amount=int(t["amount"]),
        currency=str(t["currency"]),
        created=int(t.get("created") or 0),
        transfer_group=t.get("transfer_group"),
        metadata=_meta(t),
        amount_reversed=int(t.get("amount_reversed") or 0),
        request_id=meta.request_id,
        replayed=meta.replayed,
    )


def _credit_transfer(t: dict[str, Any], meta: _Meta | None = None) -> Movement:
    meta = meta or _Meta()
    return Movement(
        direction=Direction.CREDIT,
        method="",
        transfer_id=str(t["id"]),
        payment_id=_id(t.get("destination_payment")),
        account=_id(t.get("destination")) or "",
        amount=int(t["amount"]),
        currency=str(t["currency"]),
        created=int(t.get("created") or 0),
        transfer_group=t.get("transfer_group"),
        metadata=_meta(t),
        amount_reversed=int(t.get("amount_reversed") or 0),
        request_id=meta.request_id,
        replayed=meta.replayed,
    )


def _debit_charge(c: dict[str, Any], meta: _Meta | None = None) -> Movement:
    meta = meta or _Meta()
    source = c.get("source")
    return Movement(
        direction=Direction.DEBIT,
        method=Method.CHARGE,
        transfer_id=_id(c.get("source_transfer")) or "",
        payment_id=str(c["id"]),
        account=(_id(source) if isinstance(source, str | dict) else None) or "",
        amount=int(c["amount"]),
        currency=str(c["currency"]),
        created=int(c.get("created") or 0),
        transfer_group=c.get("transfer_group"),
        metadata=_meta(c),
        request_id=meta.request_id,
        replayed=meta.replayed,
    )


def _reversal(r: dict[str, Any], meta: _Meta | None = None) -> Reversal:
    meta = meta or _Meta()
    return Reversal(
        id=str(r["id"]),
        transfer_id=_id(r.get("transfer")) or "",
        amount=int(r["amount"]),
        currency=str(r["currency"]),
        created=int(r.get("created") or 0),
        metadata=_meta(r),
        request_id=meta.request_id,
    )
