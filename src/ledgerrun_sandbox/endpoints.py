"""The ``/v1`` endpoints: routing, and for each one its validation and its work.

Validation (everything that needs only the request, the fixed account table and whether a
transfer to reverse exists) runs first, and raises 400/403/404 errors that are never saved under
an idempotency key. It returns a closure doing the work, which the API runs under the state
lock. Business errors raised by that closure (``balance_insufficient``, a currency that is not
the account's, ``transfers_not_allowed``, reversing more than is left) happen while executing,
so they *are* saved.

Reversals live under their transfer: ``/v1/transfers/{id}/reversals[/{trr}]``, reachable only
in the account that made the transfer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledgerrun_sandbox import params as p
from ledgerrun_sandbox.errors import (
    ApiError,
    account_invalid,
    invalid_request,
    resource_missing,
)
from ledgerrun_sandbox.objects import JsonObject, ObjectList
from ledgerrun_sandbox.rules import debit_maximum
from ledgerrun_sandbox.state import Account, SandboxState
from ledgerrun_sandbox.wire import Params

Work = Callable[[], JsonObject]


@dataclass(frozen=True)
class Route:
    name: str
    object_id: str | None = None
    transfer_id: str | None = None  # the transfer a reversal route is under

    @property
    def is_write(self) -> bool:
        return self.name.endswith("_create")


@dataclass(frozen=True)
class Write:
    """A validated POST: ``work`` executes it under the state lock. Every write moves money
    (a debit, a credit or a reversal), so injected drops apply to all of them alike."""

    work: Work


_COLLECTIONS = {"transfers": "transfer", "charges": "charge"}


def route(method: str, path: str) -> Route | None:
    """The endpoint a method and path name, or ``None`` (answered 404 by the API)."""
    parts = path.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "v1":
        return None
    rest = parts[1:]
    if method == "GET":
        if rest == ["account"]:
            return Route("account_self")
        if rest == ["balance"]:
            return Route("balance")
        if len(rest) == 2 and rest[0] == "accounts" and rest[1]:
            return Route("account_get", rest[1])
        if len(rest) == 1 and rest[0] in _COLLECTIONS:
            return Route(f"{_COLLECTIONS[rest[0]]}_list")
        if len(rest) == 2 and rest[0] in _COLLECTIONS and rest[1]:
            return Route(f"{_COLLECTIONS[rest[0]]}_get", rest[1])
        if _is_reversals(rest) and len(rest) == 3:
            return Route("reversal_list", transfer_id=rest[1])
        if _is_reversals(rest) and len(rest) == 4 and rest[3]:
            return Route("reversal_get", rest[3], transfer_id=rest[1])
    if method == "POST" and len(rest) == 1 and rest[0] in _COLLECTIONS:
        return Route(f"{_COLLECTIONS[rest[0]]}_create")
    if method == "POST" and _is_reversals(rest) and len(rest) == 3:
        return Route("reversal_create", transfer_id=rest[1])
    return None


def _is_reversals(rest: list[str]) -> bool:
    """``transfers/{id}/reversals[/...]``."""
    return len(rest) >= 3 and rest[0] == "transfers" and bool(rest[1]) and rest[2] == "reversals"


class Endpoints:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    # --- reads -------------------------------------------------------------------------------

    def read(self, target: Route, ctx: Account, params: Params) -> Work:
        name = target.name
        if target.transfer_id is not None:
            return self._read_reversals(target, ctx, params)
        if name.endswith("_list"):
            kind = name.removesuffix("_list")
            query = p.list_params(params, with_destination=kind == "transfer")
            return lambda: self._list(kind, ctx, query)
        p.no_params(params)
        if name == "account_self":
            return ctx.to_object
        if name == "balance":
            return ctx.balance_object
        assert target.object_id is not None
        object_id = target.object_id
        if name == "account_get":
            account = self._visible_account(ctx, object_id)
            return account.to_object
        kind = name.removesuffix("_get")
        return lambda: self._get(kind, ctx, object_id)

    def _visible_account(self, ctx: Account, account_id: str) -> Account:
        # Stripe cannot tell "no such account" from "not yours": both are 403 account_invalid.
        account = self.state.find_account(account_id)
        if account is None or account.access != "granted":
            raise account_invalid(account_id)
        if not (ctx.is_platform or ctx.id == account.id):
            raise account_invalid(account_id)
        return account

    @staticmethod
    def _objects(kind: str, ctx: Account) -> ObjectList:
        return ctx.transfers if kind == "transfer" else ctx.charges

    def _get(self, kind: str, ctx: Account, object_id: str) -> JsonObject:
        obj = self._objects(kind, ctx).get(object_id)
        if obj is None:
            raise resource_missing(kind, object_id, "id")
        return obj

    def _read_reversals(self, target: Route, ctx: Account, params: Params) -> Work:
        assert target.transfer_id is not None
        transfer_id, reversal_id = target.transfer_id, target.object_id
        state = self.state
        if reversal_id is None:
            query = p.list_params(params, filters=False)

            def listing() -> JsonObject:
                self._get("transfer", ctx, transfer_id)
                reversals = state.reversals_of(ctx, transfer_id)
                url = f"/v1/transfers/{transfer_id}/reversals"
                return _page(reversals, "transfer_reversal", url, query, lambda obj: True)

            return listing
        p.no_params(params)

        def one() -> JsonObject:
            self._get("transfer", ctx, transfer_id)
            reversal = state.reversals_of(ctx, transfer_id).get(reversal_id)
            if reversal is None:
                raise resource_missing("transfer_reversal", reversal_id, "id")
            return reversal

        return one

    def _list(self, kind: str, ctx: Account, query: p.ListParams) -> JsonObject:
        group, destination = query.transfer_group, query.destination

        def matches(obj: JsonObject) -> bool:
            if group is not None and obj["transfer_group"] != group:
                return False
            return destination is None or obj.get("destination") == destination

        return _page(self._objects(kind, ctx), kind, f"/v1/{kind}s", query, matches)

    # --- writes ------------------------------------------------------------------------------

    def write(self, target: Route, ctx: Account, params: Params) -> Write:
        if target.name == "reversal_create":
            assert target.transfer_id is not None
            return self._reversal(ctx, target.transfer_id, p.reversal_create(params))
        if target.name == "transfer_create":
            return self._transfer(ctx, p.transfer_create(params))
        return self._charge(ctx, p.charge_create(params))

    def _reversal(self, ctx: Account, transfer_id: str, query: p.ReversalParams) -> Write:
        """Only whoever made the transfer may reverse it: the connected account for a debit
        (``Stripe-Account``), the platform for a credit. Anyone else gets 404, as the transfer
        is not in their account."""
        state = self.state
        with state.lock:
            self._get("transfer", ctx, transfer_id)
        return Write(lambda: state.reverse(ctx, transfer_id, query))

    def _transfer(self, ctx: Account, query: p.CreateParams) -> Write:
        state = self.state
        platform = state.platform
        if not ctx.is_platform:
            if query.counterparty != platform.id:
                raise invalid_request(
                    "destination",
                    f"A transfer made as connected account {ctx.id} is an account debit and can "
                    f"only go to the platform ({platform.id}), not to {query.counterparty[:40]}.",
                )
            _check_debit_maximum(query)
            return Write(lambda: state.debit_by_transfer(ctx, query))
        if query.counterparty == platform.id:
            raise invalid_request("destination", "The platform cannot transfer to its own account.")
        destination = state.accounts.get(query.counterparty)
        if destination is None:
            raise resource_missing("destination", query.counterparty, "destination", status=400)
        if destination.access != "granted":
            raise account_invalid(destination.id, param="destination")
        return Write(lambda: state.credit(destination, query))

    def _charge(self, ctx: Account, query: p.CreateParams) -> Write:
        state = self.state
        if not ctx.is_platform:
            raise invalid_request(
                "source",
                "Account debits are created by the platform: send POST /v1/charges without a "
                "Stripe-Account header, with source set to the connected account.",
            )
        source_id = query.counterparty
        if not source_id.startswith("acct_"):
            raise invalid_request(
                "source",
                "The sandbox only models account debits: source must be a connected account "
                "id (acct_...), not a card or token.",
            )
        if source_id == state.platform.id:
            raise invalid_request("source", "The platform cannot debit its own account.")
        source = state.accounts.get(source_id)
        if source is None or source.access != "granted":
            raise account_invalid(source_id, param="source")
        _check_debit_maximum(query)
        return Write(lambda: state.debit_by_charge(source, query))


def _page(
    objects: ObjectList,
    kind: str,
    url: str,
    query: p.ListParams,
    matches: Callable[[JsonObject], bool],
) -> JsonObject:
    """One list page as Stripe's list object; an unknown cursor is 400 resource_missing."""
    cursor_id = query.starting_after or query.ending_before
    cursor: int | None = None
    if cursor_id is not None:
        cursor = objects.position(cursor_id)
        if cursor is None:
            param = "starting_after" if query.starting_after else "ending_before"
            raise resource_missing(kind, cursor_id, param, status=400)
    data, has_more = objects.page(query, matches, cursor)
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _check_debit_maximum(query: p.CreateParams) -> None:
    """Stripe caps one account debit at 100,000 USD: ``amount_too_large`` on ``amount``."""
    limit = debit_maximum(query.currency)
    if limit is not None and query.amount > limit:
        raise ApiError(
            400,
            f"An account debit may move at most {limit} {query.currency} (in minor units); "
            f"this one asks for {query.amount}.",
            code="amount_too_large",
            param="amount",
        )
