"""Stripe-shaped objects (accounts, transfers, payments, reversals, balances) and object lists.

Objects are plain dicts in the exact JSON shape the API returns. A dict is never changed once
handed out: when an object changes (a reversal updates its transfer and payment) the state puts
a new dict in its place (:meth:`ObjectList.replace`). So the same dict can be shared by the
state, a list page and a saved idempotent answer without copying, and a replayed answer shows
the object as it was when first answered, as Stripe's replays do.
"""

from __future__ import annotations

import bisect
import itertools
import random
import string
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ledgerrun_sandbox.params import ListParams

JsonObject = dict[str, Any]

_ALPHABET = string.digits + string.ascii_letters


class IdFactory:
    """Stripe-looking ids (``tr_1...`` + 24 characters): a sequence number, then random noise.

    The sequence number makes every id unique; the noise makes ids of different runs differ.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._counter = itertools.count(1)
        self._rng = random.Random(seed)

    def new(self, prefix: str) -> str:
        n = next(self._counter)
        digits = ""
        while n:
            n, r = divmod(n, 62)
            digits = _ALPHABET[r] + digits
        noise = "".join(self._rng.choices(_ALPHABET, k=15))
        return f"{prefix}_1{digits.rjust(8, '0')}{noise}"


def controller(account_type: str, losses_payments: str) -> JsonObject:
    """Who controls an account and, in ``losses.payments``, who covers negative balances."""
    if account_type == "standard":
        return {
            "type": "account",
            "fees": {"payer": "account"},
            "losses": {"payments": "stripe"},
            "requirement_collection": "stripe",
            "stripe_dashboard": {"type": "full"},
        }
    return {
        "type": "application",
        "is_controller": True,
        "fees": {"payer": "application"},
        "losses": {"payments": losses_payments},
        "requirement_collection": "stripe" if account_type == "express" else "application",
        "stripe_dashboard": {"type": "express" if account_type == "express" else "none"},
    }


def balance_object(available: dict[str, int], pending: dict[str, int]) -> JsonObject:
    currencies = sorted(set(available) | set(pending))

    def amounts(balance: dict[str, int]) -> list[JsonObject]:
        return [
            {
                "amount": balance.get(c, 0),
                "currency": c,
                "source_types": {"card": balance.get(c, 0)},
            }
            for c in currencies
        ]

    return {
        "object": "balance",
        "available": amounts(available),
        "pending": amounts(pending),
        "livemode": False,
    }


def transfer_object(
    *,
    transfer_id: str,
    created: int,
    amount: int,
    currency: str,
    destination: str,
    destination_payment: str,
    balance_transaction: str,
    description: str | None,
    metadata: dict[str, str],
    transfer_group: str | None,
) -> JsonObject:
    return {
        "id": transfer_id,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": balance_transaction,
        "created": created,
        "currency": currency,
        "description": description,
        "destination": destination,
        "destination_payment": destination_payment,
        "livemode": False,
        "metadata": metadata,
        "reversals": embedded_reversals(transfer_id, []),
        "reversed": False,
        "source_transaction": None,
        "source_type": "card",
        "transfer_group": transfer_group,
    }


EMBEDDED_REVERSALS = 10
"""How many of its most recent reversals a transfer object carries (Stripe's default)."""


def embedded_reversals(transfer_id: str, newest_first: list[JsonObject]) -> JsonObject:
    """The ``reversals`` list object inside a transfer: its latest reversals, newest first."""
    return {
        "object": "list",
        "data": newest_first[:EMBEDDED_REVERSALS],
        "has_more": len(newest_first) > EMBEDDED_REVERSALS,
        "url": f"/v1/transfers/{transfer_id}/reversals",
    }


def reversal_object(
    *,
    reversal_id: str,
    created: int,
    amount: int,
    currency: str,
    transfer_id: str,
    balance_transaction: str,
    destination_payment_refund: str,
    metadata: dict[str, str],
) -> JsonObject:
    """A transfer reversal (``trr_``): money sent back from a transfer's destination."""
    return {
        "id": reversal_id,
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "created": created,
        "currency": currency,
        "destination_payment_refund": destination_payment_refund,
        "metadata": metadata,
        "source_refund": None,
        "transfer": transfer_id,
    }


_NO_BILLING_DETAILS: JsonObject = {
    "address": dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state")),
    "email": None,
    "name": None,
    "phone": None,
    "tax_id": None,
}


def payment_object(
    *,
    payment_id: str,
    created: int,
    amount: int,
    currency: str,
    source_account: str,
    source_transfer: str,
    balance_transaction: str,
    description: str | None,
    metadata: dict[str, str],
    transfer_group: str | None,
) -> JsonObject:
    """A Payment (``py_``): a charge whose source is another Stripe account."""
    return {
        "id": payment_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "balance_transaction": balance_transaction,
        "billing_details": _NO_BILLING_DETAILS,
        "captured": True,
        "created": created,
        "currency": currency,
        "description": description,
        "disputed": False,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": metadata,
        "paid": True,
        "payment_intent": None,
        "payment_method_details": {"stripe_account": {}, "type": "stripe_account"},
        "refunded": False,
        "source": {"id": source_account, "object": "account"},
        "source_transfer": source_transfer,
        "status": "succeeded",
        "transfer_group": transfer_group,
    }


class ObjectList:
    """The objects of one kind in one account, oldest first, with Stripe-style paging.

    ``created`` never decreases along the list (the sandbox clock only moves forward and objects
    are appended under the state lock), so list order is creation order and a ``created``
    bound lets a scan stop early.
    """

    def __init__(self, by_metadata: bool = False) -> None:
        self._items: list[JsonObject] = []
        self._index: dict[str, int] = {}
        # Where each metadata pair is held (positions, ascending), for the lists Stripe's search
        # reads: a search by metadata then costs what it finds, not the whole list, as an
        # indexed search does at Stripe. A pair an object no longer holds may stay listed: the
        # search still checks each candidate.
        self._by_metadata: dict[tuple[str, str], list[int]] | None = {} if by_metadata else None

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[JsonObject]:
        return iter(self._items)

    def append(self, obj: JsonObject) -> None:
        # Item first, then index: a reader without the lock never finds an id it cannot fetch.
        self._items.append(obj)
        self._index[obj["id"]] = len(self._items) - 1
        self._note_metadata(obj, len(self._items) - 1)

    def replace(self, obj: JsonObject) -> None:
        """Put a new version of an object where the old one was (same id, same position)."""
        pos = self._index[obj["id"]]
        self._items[pos] = obj
        self._note_metadata(obj, pos)

    def _note_metadata(self, obj: JsonObject, pos: int) -> None:
        if self._by_metadata is None:
            return
        for pair in (obj.get("metadata") or {}).items():
            held = self._by_metadata.setdefault(pair, [])
            if not held or held[-1] < pos:
                held.append(pos)
            elif held[bisect.bisect_left(held, pos)] != pos:
                bisect.insort(held, pos)

    def holding(self, key: str, value: str) -> Sequence[int] | None:
        """The positions of the objects that may hold ``key: value`` in their metadata
        (ascending), or None when this list keeps no such index."""
        if self._by_metadata is None:
            return None
        return self._by_metadata.get((key, value), [])

    def newest_first(self) -> list[JsonObject]:
        return self._items[::-1]

    def get(self, object_id: str) -> JsonObject | None:
        pos = self._index.get(object_id)
        return None if pos is None else self._items[pos]

    def position(self, object_id: str) -> int | None:
        return self._index.get(object_id)

    def page(
        self,
        query: ListParams,
        matches: Callable[[JsonObject], bool],
        cursor: int | None,
        floor: int = 0,
        among: Sequence[int] | None = None,
    ) -> tuple[list[JsonObject], bool]:
        """One page, newest first, and whether more objects lie beyond it.

        ``cursor`` is the position of ``starting_after`` or ``ending_before`` (whichever is set);
        objects below position ``floor`` are never listed (a capped listing). ``among``, when
        given, holds the only positions that may match (ascending; see :meth:`holding`).
        """
        low, high = query.created_min, query.created_max
        want = query.limit + 1
        found: list[JsonObject] = []
        order: Sequence[int] = range(len(self._items)) if among is None else among
        if query.ending_before is not None and cursor is not None:
            first = bisect.bisect_left(order, max(cursor + 1, floor))
            for i in itertools.islice(order, first, None):
                obj = self._items[i]
                if high is not None and obj["created"] > high:
                    break
                if (low is None or obj["created"] >= low) and matches(obj):
                    found.append(obj)
                    if len(found) == want:
                        break
            has_more = len(found) > query.limit
            return found[: query.limit][::-1], has_more
        start = len(self._items) - 1 if cursor is None else cursor - 1
        for n in range(bisect.bisect_right(order, start) - 1, -1, -1):
            i = order[n]
            if i < floor:
                break
            obj = self._items[i]
            if low is not None and obj["created"] < low:
                break
            if (high is None or obj["created"] <= high) and matches(obj):
                found.append(obj)
                if len(found) == want:
                    break
        return found[: query.limit], len(found) > query.limit

    def floor_of_newest(self, matches: Callable[[JsonObject], bool], count: int) -> int:
        """The position of the ``count``-th newest object that ``matches`` (0 if fewer match):
        a listing capped to the newest ``count`` such objects lists none below it."""
        seen = 0
        for i in range(len(self._items) - 1, -1, -1):
            if matches(self._items[i]):
                seen += 1
                if seen == count:
                    return i
        return 0
