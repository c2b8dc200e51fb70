"""The gateway: one HTTP request to Stripe per call, as a protocol.

Everything ledgerrun asks of Stripe goes through :class:`~ledgerrun.stripe.client.Client`, which
paces, retries and watches each request; the client sends each request through a
:class:`Gateway`. The real one, :class:`~ledgerrun.stripe.sdk.SdkGateway`, speaks to Stripe (or
the sandbox) through the official SDK and translates every answer into plain dataclasses
(:mod:`ledgerrun.stripe.shapes`) or the project's own error classes (:mod:`ledgerrun.errors`).
Tests give the client an in-memory gateway instead (``tests/helpers/fakes.py``), so the real
pacing, retries and circuit breaker run in unit tests, the way httpx's tests use its mock
transport.

A gateway's contract, for each method: send one request (never retry: retries live in the
client alone), return the answer, or raise the :class:`~ledgerrun.errors.StripeError` subclass
that says what the answer means for the request (see the table in :mod:`ledgerrun.errors`).
``server_offset`` is Stripe's clock less ours, as last read from an answer's ``Date`` header
(None before any answer), so a pending attempt is aged on Stripe's clock too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from ledgerrun.stripe.shapes import Account, Movement, Page, Platform, Refund, Reversal

__all__ = ["Account", "Gateway", "Movement", "Page", "Platform", "Refund", "Reversal"]


class Gateway(Protocol):
    """One request per call; see the module docstring."""

    server_offset: dt.timedelta | None

    def close(self) -> None: ...

    # reading
    def platform(self) -> Platform: ...
    def account(self, account_id: str) -> Account: ...
    def available(self, account_id: str | None) -> dict[str, int]: ...
    def list_transfers(
        self, account: str | None, *, group: str | None, created_gte: int, after: str | None = None
    ) -> Page[Movement]: ...
    def list_accounts(self, after: str | None = None) -> Page[str]: ...
    def search_charges(self, query: str, page: str | None = None) -> Page[Movement]: ...
    def get_transfer(self, transfer_id: str, account: str | None) -> Movement: ...
    def get_charge(self, payment_id: str) -> Movement: ...
    def list_reversals(
        self, transfer_id: str, account: str | None, after: str | None = None
    ) -> Page[Reversal]: ...
    def list_refunds(self, charge: str, after: str | None = None) -> Page[Refund]: ...
    def get_refund(self, refund_id: str) -> Refund: ...

    # writing
    def debit(
        self, method: str, account: str, request: Mapping[str, Any], key: str
    ) -> Movement: ...
    def credit(self, request: Mapping[str, Any], key: str) -> Movement: ...
    def reverse(
        self, transfer_id: str, account: str | None, request: Mapping[str, Any], key: str
    ) -> Reversal: ...
    def refund(self, request: Mapping[str, Any], key: str) -> Refund: ...
