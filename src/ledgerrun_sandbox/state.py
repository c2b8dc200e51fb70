"""The sandbox's memory: accounts, balances, transfers, payments, idempotency keys, counters.

One lock (``SandboxState.lock``) guards all of it. The API holds it only for short, CPU-only
sections (never while sleeping for injected latency). A debit checks the balance and moves the
money inside one such section, so parallel debits of one account can never overdraw it (unless
its seed allows negative balances).

Money only moves between two accounts of the seed, never in or out, so the sum of all balances
(available and pending) per currency is constant (a property the soak test checks), except for
``POST /_sandbox/balance`` top-ups, whose running total per currency ``stats.topped_up``
reports: the sum of all balances is always the seed's sum plus ``topped_up``.

Refunds live in :mod:`ledgerrun_sandbox.refunds`; they move money with :meth:`reverse_transfer`,
as the transfer reversal that every refund of a payment from another Stripe account makes.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ledgerrun_sandbox.accounts import Account, move, require_funds
from ledgerrun_sandbox.clock import SandboxClock
from ledgerrun_sandbox.errors import (
    ApiError,
    account_invalid,
    resource_missing,
    transfers_not_allowed,
)
from ledgerrun_sandbox.idempotency import IdempotencyStore
from ledgerrun_sandbox.objects import (
    IdFactory,
    JsonObject,
    ObjectList,
    embedded_reversals,
    payment_object,
    reversal_object,
    transfer_object,
)
from ledgerrun_sandbox.params import CreateParams, ReversalParams
from ledgerrun_sandbox.rules import DEFAULT_API_VERSION, debits_available
from ledgerrun_sandbox.seed import KeysError, Seed, key_problem


@dataclass
class Stats:
    requests: int = 0
    write_requests: int = 0
    writes_executed: int = 0
    writes_refused: int = 0
    idempotent_replays: int = 0
    rate_limited: int = 0  # 429 rate_limit answers (the --limits buckets and --max-rps)
    topped_up: dict[str, int] = field(default_factory=dict)  # per currency, /_sandbox/balance
    api_versions: Counter[str] = field(default_factory=Counter)  # requests per Stripe-Version
    operations: Counter[str] = field(default_factory=Counter)  # requests per endpoint, routed

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "topped_up": dict(self.topped_up),
            "api_versions": dict(self.api_versions),
            "operations": dict(self.operations),
        }


@dataclass(frozen=True)
class PendingRefund:
    """A refund still ``pending``: ``owner`` holds it; it pays ``paid`` at sandbox time ``due``."""

    owner: Account
    refund_id: str
    paid: Account
    due: float


class SandboxState:
    def __init__(
        self,
        seed: Seed,
        clock: SandboxClock | None = None,
        id_seed: int | None = None,
        *,
        api_keys: frozenset[str] | set[str] | list[str] = frozenset(),
        refund_settle_s: float = 0.0,
        search_lag_s: float = 0.0,
    ) -> None:
        for key in api_keys:
            problem = key_problem(key)
            if problem is not None:
                raise KeysError(f"an API key given to the sandbox {problem}")
        self.api_keys = seed.api_keys | frozenset(api_keys)
        if not self.api_keys:
            raise KeysError(
                "the sandbox would accept no API key, and Stripe accepts only the keys it "
                "issued: list them in the seed's api_keys or give them with --api-key "
                "(api_keys=[...] in Python)"
            )
        if not (refund_settle_s >= 0 and search_lag_s >= 0):
            raise ValueError("refund_settle_s and search_lag_s must be >= 0 seconds")
        self.refund_settle_s = refund_settle_s
        self.search_lag_s = search_lag_s
        self.lock = threading.Lock()
        self.clock = clock or SandboxClock()
        self.ids = IdFactory(id_seed)
        self.idempotency = IdempotencyStore()
        self.stats = Stats()
        self.api_version = seed.platform.api_version or DEFAULT_API_VERSION
        created = int(self.clock.now())
        self.platform = Account.from_seed(seed.platform, created, is_platform=True)
        self.accounts = {
            a.id: Account.from_seed(a, created, is_platform=False) for a in seed.accounts
        }
        self.connected = ObjectList()  # GET /v1/accounts: oldest first, objects built once
        order = sorted(self.accounts.values(), key=lambda a: a.created)  # stable: seed order
        for account in order:
            if account.access == "granted":
                self.connected.append(account.to_object())
        self.searchable_at: dict[str, float] = {}  # charge id -> sandbox time it shows in search
        self.pending_refunds: list[PendingRefund] = []  # oldest first (refunds.settle_due)

    # --- look-ups (no lock needed: the account table never changes after start) -------------

    def context(self, stripe_account: str | None) -> Account:
        """The account a request acts as: the platform, or a connected account it may use."""
        if not stripe_account or stripe_account == self.platform.id:
            return self.platform
        account = self.accounts.get(stripe_account)
        if account is None or account.access != "granted":
            raise account_invalid(stripe_account)
        return account

    def find_account(self, account_id: str) -> Account | None:
        if account_id == self.platform.id:
            return self.platform
        return self.accounts.get(account_id)

    # --- money movement (caller holds ``lock``) ------------------------------------------------

    def debit_by_transfer(self, account: Account, params: CreateParams) -> JsonObject:
        """``POST /v1/transfers`` as ``account`` to the platform: returns the ``tr_``."""
        self._check_debit(account, params)
        transfer, _ = self._move(account, self.platform, params, primary="transfer")
        return transfer

    def debit_by_charge(self, account: Account, params: CreateParams) -> JsonObject:
        """``POST /v1/charges`` on the platform with ``source=account``: returns the ``py_``."""
        self._check_debit(account, params)
        _, payment = self._move(account, self.platform, params, primary="payment")
        return payment

    def credit(self, account: Account, params: CreateParams) -> JsonObject:
        """``POST /v1/transfers`` from the platform to ``account``: returns the ``tr_``.

        The transfer lives on the platform; its ``destination_payment`` (``py_``) on the
        account. Standard accounts may receive credits; region, currency and the platform's
        available balance are checked as for a debit."""
        self._check_route(self.platform, account)
        self._check_currency(account, params)
        require_funds(self.platform, params.currency, params.amount)
        transfer, _ = self._move(self.platform, account, params, primary="transfer")
        return transfer

    def _check_debit(self, account: Account, params: CreateParams) -> None:
        if not account.platform_covers_losses:
            kind = "a Standard account" if account.type == "standard" else "an account"
            raise transfers_not_allowed(
                f"Account {account.id} is {kind} whose negative balances Stripe, not your "
                "platform, is responsible for (controller.losses.payments is stripe), so the "
                "platform cannot debit it."
            )
        self._check_route(account, self.platform)
        if not debits_available(self.platform.country, account.country):
            raise transfers_not_allowed(
                f"Account debits are not available to a platform in {self.platform.country} "
                f"for accounts in {account.country}."
            )
        self._check_currency(account, params)
        require_funds(account, params.currency, params.amount)

    def _check_route(self, source: Account, destination: Account) -> None:
        if source.region != destination.region:
            raise transfers_not_allowed(
                f"Funds cannot move between {source.id} ({source.country}) and "
                f"{destination.id} ({destination.country}): they are in different regions "
                f"({source.region} and {destination.region})."
            )

    @staticmethod
    def _check_currency(account: Account, params: CreateParams) -> None:
        if params.currency != account.default_currency:
            # Stripe's account-debit docs require the account's default currency but name no
            # error code for it, and stripe-go's ErrorCode list has no currency mismatch code:
            # a plain invalid_request_error on param "currency".
            raise ApiError(
                400,
                f"The currency {params.currency} is not the default currency of account "
                f"{account.id} ({account.default_currency}); debits and transfers must be in "
                "the account's default currency.",
                param="currency",
            )

    def _move(
        self, source: Account, destination: Account, params: CreateParams, *, primary: str
    ) -> tuple[JsonObject, JsonObject]:
        move(source, destination, params.currency, params.amount)
        now = self.clock.now()
        created = int(now)
        transfer_id, payment_id = self.ids.new("tr"), self.ids.new("py")
        on_transfer = primary == "transfer"
        transfer = transfer_object(
            transfer_id=transfer_id,
            created=created,
            amount=params.amount,
            currency=params.currency,
            destination=destination.id,
            destination_payment=payment_id,
            balance_transaction=self.ids.new("txn"),
            description=params.description if on_transfer else None,
            metadata=dict(params.metadata) if on_transfer else {},
            transfer_group=params.transfer_group if on_transfer else None,
        )
        payment = payment_object(
            payment_id=payment_id,
            created=created,
            amount=params.amount,
            currency=params.currency,
            source_account=source.id,
            source_transfer=transfer_id,
            balance_transaction=self.ids.new("txn"),
            description=None if on_transfer else params.description,
            metadata={} if on_transfer else dict(params.metadata),
            transfer_group=None if on_transfer else params.transfer_group,
        )
        source.transfers.append(transfer)
        destination.charges.append(payment)
        self.searchable_at[payment_id] = now + self.search_lag_s
        return transfer, payment

    def reverse(self, owner: Account, transfer_id: str, params: ReversalParams) -> JsonObject:
        """``POST /v1/transfers/{id}/reversals`` as ``owner`` (who made the transfer): sends
        money back from the transfer's destination to ``owner``; returns the ``trr_``."""
        transfer = owner.transfers.get(transfer_id)
        if transfer is None:  # validated before; kept for type safety
            raise resource_missing("transfer", transfer_id, "id")
        remaining = transfer["amount"] - transfer["amount_reversed"]
        if remaining <= 0:
            # Stripe has no code for this (stripe/stripe-ruby#1058 asks for one): plain
            # invalid_request_error, "The transfer ... is already fully reversed".
            raise ApiError(400, f"The transfer {transfer_id} is already fully reversed.")
        amount = remaining if params.amount is None else params.amount
        if amount > remaining:
            # Stripe documents this refusal ("more money than is left on a transfer") but no
            # code for it; the sandbox names the param, like its other coded-less refusals.
            raise ApiError(
                400,
                f"Amount ({amount}) is greater than what is left to reverse on transfer "
                f"{transfer_id} ({remaining}).",
                param="amount",
            )
        return self.reverse_transfer(
            owner, transfer, amount, params.metadata, refund_id=self.ids.new("pyr")
        )

    def reverse_transfer(
        self,
        owner: Account,
        transfer: JsonObject,
        amount: int,
        metadata: dict[str, str],
        *,
        refund_id: str,
        pending: bool = False,
    ) -> JsonObject:
        """Move ``amount`` back from ``transfer``'s destination to ``owner`` (to its pending
        balance when ``pending``), record the ``trr_`` and update the transfer and the payment
        it created; ``refund_id`` is the refund of that payment (a ``pyr_``, or the ``re_``
        whose refund made this reversal). The caller checked what is left."""
        transfer_id, currency = transfer["id"], transfer["currency"]
        payer = self.find_account(transfer["destination"])
        if payer is None:  # cannot happen: transfers only go to seed accounts
            raise resource_missing("account", transfer["destination"], "destination")
        require_funds(payer, currency, amount)
        payer.balance[currency] = payer.balance.get(currency, 0) - amount
        into = owner.pending if pending else owner.balance
        into[currency] = into.get(currency, 0) + amount
        reversal = reversal_object(
            reversal_id=self.ids.new("trr"),
            created=int(self.clock.now()),
            amount=amount,
            currency=currency,
            transfer_id=transfer_id,
            balance_transaction=self.ids.new("txn"),
            destination_payment_refund=refund_id,
            metadata=dict(metadata),
        )
        history = owner.reversals.setdefault(transfer_id, ObjectList())
        history.append(reversal)
        reversed_now = transfer["amount_reversed"] + amount
        owner.transfers.replace(
            {
                **transfer,
                "amount_reversed": reversed_now,
                "reversed": reversed_now == transfer["amount"],
                "reversals": embedded_reversals(transfer_id, history.newest_first()),
            }
        )
        payment = payer.charges.get(transfer["destination_payment"])
        if payment is not None:
            refunded = payment["amount_refunded"] + amount
            payer.charges.replace(
                {**payment, "amount_refunded": refunded, "refunded": refunded == payment["amount"]}
            )
        return reversal

    def reversals_of(self, owner: Account, transfer_id: str) -> ObjectList:
        return owner.reversals.get(transfer_id) or ObjectList()

    def top_up(self, account_id: str, currency: str, amount: int) -> dict[str, Any]:
        """``POST /_sandbox/balance``: add ``amount`` to a balance from outside the books (the
        one way money enters the sandbox; ``stats.topped_up`` keeps the running total)."""
        account = self.find_account(account_id)
        if account is None:
            raise resource_missing("account", account_id, "account", status=400)
        with self.lock:
            account.balance[currency] = account.balance.get(currency, 0) + amount
            self.stats.topped_up[currency] = self.stats.topped_up.get(currency, 0) + amount
            return {
                "account": account.id,
                "currency": currency,
                "amount": amount,
                "balance": dict(account.balance),
            }

    # --- inspection ----------------------------------------------------------------------------

    def everyone(self) -> tuple[Account, ...]:
        return (self.platform, *self.accounts.values())

    def totals(self) -> dict[str, int]:
        """Sum of balances (available and pending) per currency over every account."""
        with self.lock:
            out: dict[str, int] = {}
            for account in self.everyone():
                for balance in (account.balance, account.pending):
                    for currency, amount in balance.items():
                        out[currency] = out.get(currency, 0) + amount
            return out

    def snapshot(self, faults: dict[str, int]) -> dict[str, Any]:
        """Everything, as the ``GET /_sandbox/state`` body (the caller settled what was due)."""
        with self.lock:
            everyone = self.everyone()
            return {
                "now": self.clock.now(),
                "api_version": self.api_version,
                "platform": self.platform.summary(),
                "accounts": [a.summary() for a in self.accounts.values()],
                "transfers": [
                    dict(t, account=a.id, reversals=_all_reversals(a, t))
                    for a in everyone
                    for t in a.transfers
                ],
                "charges": [dict(c, account=a.id) for a in everyone for c in a.charges],
                "refunds": [dict(r, account=a.id) for a in everyone for r in a.refunds],
                "idempotency_keys": len(self.idempotency),
                "stats": {**self.stats.as_dict(), "faults": faults},
            }


def _all_reversals(owner: Account, transfer: JsonObject) -> JsonObject:
    """A transfer's reversals list for the state dump: every reversal, newest first."""
    history = owner.reversals.get(transfer["id"])
    everything = history.newest_first() if history is not None else []
    return {**embedded_reversals(transfer["id"], everything), "data": everything, "has_more": False}
