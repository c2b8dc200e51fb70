"""Accounts: the platform and its connected accounts, with their balances and their objects.

An account's ``balance`` is its available balance per currency; ``pending`` holds money on its
way in (a refund still ``pending`` that will pay this account back). Both are changed only under
the state lock. The account table itself never changes after the sandbox starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledgerrun_sandbox.errors import ApiError
from ledgerrun_sandbox.objects import JsonObject, ObjectList, balance_object, controller
from ledgerrun_sandbox.rules import PLATFORM_LOSSES, may_go_negative, region
from ledgerrun_sandbox.seed import AccountSeed


@dataclass
class Account:
    id: str
    type: str
    country: str
    default_currency: str
    access: str
    balance: dict[str, int]
    metadata: dict[str, str]
    created: int
    is_platform: bool = False
    negative_balances: bool = False
    losses_payments: str = PLATFORM_LOSSES
    pending: dict[str, int] = field(default_factory=dict)
    transfers: ObjectList = field(default_factory=ObjectList)
    charges: ObjectList = field(default_factory=lambda: ObjectList(by_metadata=True))
    refunds: ObjectList = field(default_factory=ObjectList)
    reversals: dict[str, ObjectList] = field(default_factory=dict)  # by transfer id

    @classmethod
    def from_seed(cls, seed: AccountSeed, created: int, *, is_platform: bool) -> Account:
        return cls(
            id=seed.id,
            type=seed.type,
            country=seed.country,
            default_currency=seed.default_currency,
            access=seed.access,
            balance=dict(seed.balance),
            metadata=dict(seed.metadata),
            created=created if seed.created is None else seed.created,
            is_platform=is_platform,
            negative_balances=seed.negative_balances,
            losses_payments=seed.losses_payments,
        )

    @property
    def region(self) -> str:
        return region(self.country)

    @property
    def platform_covers_losses(self) -> bool:
        """Whether the platform is responsible for this account's negative balances, which
        Stripe requires before the platform may debit it."""
        return self.losses_payments == PLATFORM_LOSSES

    def to_object(self) -> JsonObject:
        return {
            "id": self.id,
            "object": "account",
            "type": self.type,
            "country": self.country,
            "default_currency": self.default_currency,
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "created": self.created,
            "metadata": dict(self.metadata),
            "controller": controller(self.type, self.losses_payments),
        }

    def balance_object(self) -> JsonObject:
        return balance_object(self.balance, self.pending)

    def summary(self) -> dict[str, Any]:
        """How ``GET /_sandbox/state`` shows the account."""
        return {
            "id": self.id,
            "type": self.type,
            "country": self.country,
            "default_currency": self.default_currency,
            "access": self.access,
            "negative_balances": self.negative_balances,
            "losses_payments": self.losses_payments,
            "created": self.created,
            "balance": dict(self.balance),
            "pending": {c: a for c, a in self.pending.items() if a},
        }


def require_funds(payer: Account, currency: str, amount: int) -> None:
    """Refuse (``balance_insufficient``) to take ``amount`` from ``payer`` if that would leave
    its available balance below zero and its seed does not allow that."""
    available = payer.balance.get(currency, 0)
    if available < amount and not may_go_negative(payer.losses_payments, payer.negative_balances):
        raise ApiError(
            400,
            f"Insufficient funds in account {payer.id}: {amount} {currency} "
            f"requested, {available} available.",
            code="balance_insufficient",
        )


def move(source: Account, destination: Account, currency: str, amount: int) -> None:
    """Take ``amount`` from ``source``'s available balance and add it to ``destination``'s."""
    source.balance[currency] = source.balance.get(currency, 0) - amount
    destination.balance[currency] = destination.balance.get(currency, 0) + amount
