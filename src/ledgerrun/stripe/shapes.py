"""Stripe's objects as ledgerrun reads them: named tuples, and the functions that build them
from the JSON Stripe sends. A debit by transfer lives on the connected account, a debit by
charge on the platform (its ``source_transfer`` is the account's ``tr_``), a credit is the
platform's transfer to the account.

Named tuples, made faster than dataclasses at start-up (docs/architecture.md says when a record
is one); a copy with one field changed is ``_replace``."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Generic, NamedTuple, TypeVar

from ledgerrun.metadata_keys import META_ACCOUNT, META_ADJUSTMENT
from ledgerrun.vocab import Direction, Method

NO_METADATA: Mapping[str, str] = MappingProxyType({})


class Platform(NamedTuple):
    id: str
    country: str
    default_currency: str


class Account(NamedTuple):
    id: str
    type: str | None
    country: str | None
    default_currency: str | None
    losses_payments: str | None  # controller.losses.payments: "application" or "stripe"


class Movement(NamedTuple):
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
    metadata: Mapping[str, str] = NO_METADATA
    amount_reversed: int = 0
    request_id: str | None = None
    replayed: bool = False

    @property
    def object_id(self) -> str:
        """The object ledgerrun created (the one holding its metadata)."""
        if self.method == Method.CHARGE:
            return self.payment_id or ""
        return self.transfer_id


class Reversal(NamedTuple):
    id: str
    transfer_id: str
    amount: int
    currency: str
    created: int
    metadata: Mapping[str, str] = NO_METADATA
    request_id: str | None = None


class Refund(NamedTuple):
    """A refund of the platform's payment (``py_``): how a debit is undone. Stripe reverses the
    connected account's transfer and names that reversal (``source_transfer_reversal``). It may
    be ``pending`` and succeed (or fail) later."""

    id: str
    charge: str
    amount: int
    currency: str
    status: str  # pending, requires_action, succeeded, failed or canceled
    created: int
    source_transfer_reversal: str | None = None
    metadata: Mapping[str, str] = NO_METADATA
    request_id: str | None = None


T = TypeVar("T")


class Page(NamedTuple, Generic[T]):
    items: list[T]
    has_more: bool
    last_id: str | None


class Meta(NamedTuple):
    request_id: str | None = None
    replayed: bool = False


def page_of(page: dict[str, Any], items: list[T]) -> Page[T]:
    data = page.get("data") or []
    last = str(data[-1]["id"]) if data else None
    return Page(items, bool(page.get("has_more")), last)


def id_of(value: Any) -> str | None:
    """An id field, whether Stripe sent the id or the expanded object."""
    if value is None:
        return None
    return str(value if isinstance(value, str) else value["id"])


def metadata_of(obj: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}


def is_account_source(charge: dict[str, Any]) -> bool:
    """Whether a platform charge is a debit of a connected account: it was made from another
    Stripe account's transfer (``source_transfer``) and says so (ledgerrun's metadata, or the
    payment method ``stripe_account``). Never by ``source`` alone: Stripe calls that field legacy
    and will remove it."""
    if not id_of(charge.get("source_transfer")):
        return False
    details = charge.get("payment_method_details") or {}
    return META_ADJUSTMENT in metadata_of(charge) or details.get("type") == "stripe_account"


def charge_account(c: dict[str, Any]) -> str:
    """The connected account a debit by charge came from: as ledgerrun wrote it in the
    metadata, else the legacy ``source`` while Stripe still sends it ("" when neither says)."""
    written = metadata_of(c).get(META_ACCOUNT)
    if written:
        return written
    source = c.get("source")
    source_id = id_of(source) if isinstance(source, str | dict) else None
    return source_id if source_id and source_id.startswith("acct_") else ""


def debit_transfer(t: dict[str, Any], account: str, meta: Meta | None = None) -> Movement:
    """A transfer made by a connected account (``account``) to the platform: a debit."""
    return _transfer(t, Direction.DEBIT, Method.TRANSFER, account, meta or Meta())


def credit_transfer(t: dict[str, Any], meta: Meta | None = None) -> Movement:
    """A transfer made by the platform to a connected account (its destination): a credit."""
    account = id_of(t.get("destination")) or ""
    return _transfer(t, Direction.CREDIT, "", account, meta or Meta())


def _transfer(
    t: dict[str, Any], direction: Direction, method: str, account: str, meta: Meta
) -> Movement:
    return Movement(
        direction=direction,
        method=method,
        transfer_id=str(t["id"]),
        payment_id=id_of(t.get("destination_payment")),
        account=account,
        amount=int(t["amount"]),
        currency=str(t["currency"]),
        created=int(t.get("created") or 0),
        transfer_group=t.get("transfer_group"),
        metadata=metadata_of(t),
        amount_reversed=int(t.get("amount_reversed") or 0),
        request_id=meta.request_id,
        replayed=meta.replayed,
    )


def debit_charge(c: dict[str, Any], meta: Meta | None = None) -> Movement:
    meta = meta or Meta()
    return Movement(
        direction=Direction.DEBIT,
        method=Method.CHARGE,
        transfer_id=id_of(c.get("source_transfer")) or "",
        payment_id=str(c["id"]),
        account=charge_account(c),
        amount=int(c["amount"]),
        currency=str(c["currency"]),
        created=int(c.get("created") or 0),
        transfer_group=c.get("transfer_group"),
        metadata=metadata_of(c),
        request_id=meta.request_id,
        replayed=meta.replayed,
    )


def reversal(r: dict[str, Any], meta: Meta | None = None) -> Reversal:
    meta = meta or Meta()
    return Reversal(
        id=str(r["id"]),
        transfer_id=id_of(r.get("transfer")) or "",
        amount=int(r["amount"]),
        currency=str(r["currency"]),
        created=int(r.get("created") or 0),
        metadata=metadata_of(r),
        request_id=meta.request_id,
    )


def refund(r: dict[str, Any], meta: Meta | None = None) -> Refund:
    meta = meta or Meta()
    return Refund(
        id=str(r["id"]),
        charge=id_of(r.get("charge")) or "",
        amount=int(r["amount"]),
        currency=str(r["currency"]),
        status=str(r.get("status") or ""),
        created=int(r.get("created") or 0),
        source_transfer_reversal=id_of(r.get("source_transfer_reversal")),
        metadata=metadata_of(r),
        request_id=meta.request_id,
    )
