"""The ``/v1`` endpoints: for each one its validation and its work.

Validation (everything that needs only the request, the fixed account table and whether an
object to reverse or refund exists) runs first, and raises 400/403/404 errors that are never
saved under an idempotency key. It returns a closure doing the work, which the API runs under
the state lock. Business errors raised by that closure (``balance_insufficient``, a currency that
is not the account's, ``transfers_not_allowed``, reversing or refunding more than is left)
happen while executing, so they *are* saved.

Reversals live under their transfer: ``/v1/transfers/{id}/reversals[/{trr}]``, reachable only
in the account that made the transfer. Refunds (:mod:`.refunds`) live in the account holding the
payment they refund; charge search is in :mod:`.search`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledgerrun_sandbox import params as p
from ledgerrun_sandbox import refunds, search
from ledgerrun_sandbox.accounts import Account
from ledgerrun_sandbox.errors import (
    ApiError,
    account_invalid,
    invalid_request,
    money,
    resource_missing,
)
from ledgerrun_sandbox.objects import JsonObject, ObjectList
from ledgerrun_sandbox.routes import Route
from ledgerrun_sandbox.rules import CHARGE_LIST_GROUP_CAP, charge_minimum, debit_maximum
from ledgerrun_sandbox.state import SandboxState
from ledgerrun_sandbox.wire import Params

Work = Callable[[], JsonObject]

_CREATED = frozenset({"created"})
_FILTERS = {
    "transfer": _CREATED | {"transfer_group", "destination"},
    "charge": _CREATED | {"transfer_group"},
    "refund": _CREATED | {"charge"},
}


@dataclass(frozen=True)
class Write:
    """A validated POST: ``work`` executes it under the state lock. Every write moves money
    (a debit, a credit, a reversal or a refund), so injected drops apply to all of them alike."""

    work: Work


class Endpoints:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    # --- reads -------------------------------------------------------------------------------

    def read(self, target: Route, ctx: Account, params: Params) -> Work:
        name = target.name
        if target.transfer_id is not None:
            return self._read_reversals(target, ctx, params)
        if name == "charge_search":
            found = search.search_params(params)
            return lambda: self._search(ctx, found, p.expands(params))
        if name == "account_list":
            listing = p.list_params(params, _CREATED)
            accounts = self.state.connected if ctx.is_platform else ObjectList()
            return lambda: _page(accounts, "account", "/v1/accounts", listing, _everything)
        if name.endswith("_list"):
            kind = name.removesuffix("_list")
            query = p.list_params(params, _FILTERS[kind])
            return lambda: self._list(kind, ctx, query, p.expands(params))
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
        expand = p.expands(params)
        return lambda: self._shown(kind, ctx, self._get(kind, ctx, object_id), expand, "refunds")

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
        return {"transfer": ctx.transfers, "charge": ctx.charges, "refund": ctx.refunds}[kind]

    def _get(self, kind: str, ctx: Account, object_id: str) -> JsonObject:
        obj = self._objects(kind, ctx).get(object_id)
        if obj is None:
            raise resource_missing(kind, object_id, "id")
        return obj

    @staticmethod
    def _shown(
        kind: str, ctx: Account, obj: JsonObject, expand: frozenset[str], field: str
    ) -> JsonObject:
        """A charge as asked for: with its ``refunds`` list when ``expand`` names it (Stripe
        leaves it out otherwise)."""
        if kind != "charge" or field not in expand:
            return obj
        return {**obj, "refunds": refunds.embedded(ctx, obj)}

    def _read_reversals(self, target: Route, ctx: Account, params: Params) -> Work:
        assert target.transfer_id is not None
        transfer_id, reversal_id = target.transfer_id, target.object_id
        state = self.state
        if reversal_id is None:
            query = p.list_params(params)

            def listing() -> JsonObject:
                self._get("transfer", ctx, transfer_id)
                reversals = state.reversals_of(ctx, transfer_id)
                url = f"/v1/transfers/{transfer_id}/reversals"
                return _page(reversals, "transfer_reversal", url, query, _everything)

            return listing
        p.no_params(params)

        def one() -> JsonObject:
            self._get("transfer", ctx, transfer_id)
            reversal = state.reversals_of(ctx, transfer_id).get(reversal_id)
            if reversal is None:
                raise resource_missing("transfer_reversal", reversal_id, "id")
            return reversal

        return one

    def _list(
        self, kind: str, ctx: Account, query: p.ListParams, expand: frozenset[str]
    ) -> JsonObject:
        group, destination, charge = query.transfer_group, query.destination, query.charge

        def matches(obj: JsonObject) -> bool:
            if group is not None and obj["transfer_group"] != group:
                return False
            if charge is not None and obj["charge"] != charge:
                return False
            return destination is None or obj.get("destination") == destination

        objects = self._objects(kind, ctx)
        floor = 0
        if kind == "charge" and group is not None:
            # Stripe: "Only return charges for this transfer group, limited to 100." The
            # newest 100 of the group are all any page of this listing ever shows.
            floor = objects.floor_of_newest(matches, CHARGE_LIST_GROUP_CAP)
        page = _page(objects, kind, f"/v1/{kind}s", query, matches, floor)
        if kind == "charge" and "data.refunds" in expand:
            page["data"] = [self._shown(kind, ctx, c, expand, "data.refunds") for c in page["data"]]
        return page

    def _search(
        self, ctx: Account, query: search.SearchParams, expand: frozenset[str]
    ) -> JsonObject:
        now = self.state.clock.now()
        ready = self.state.searchable_at

        def visible(charge: JsonObject) -> bool:
            return ready.get(charge["id"], 0.0) <= now

        result = search.search(ctx, query, visible)
        if "data.refunds" in expand:
            result["data"] = [
                self._shown("charge", ctx, c, expand, "data.refunds") for c in result["data"]
            ]
        return result

    # --- writes ------------------------------------------------------------------------------

    def write(self, target: Route, ctx: Account, params: Params) -> Write:
        if target.name == "reversal_create":
            assert target.transfer_id is not None
            return self._reversal(ctx, target.transfer_id, p.reversal_create(params))
        if target.name == "transfer_create":
            return self._transfer(ctx, p.transfer_create(params))
        if target.name == "refund_create":
            return self._refund(ctx, refunds.refund_create(params))
        return self._charge(ctx, p.charge_create(params))

    def _reversal(self, ctx: Account, transfer_id: str, query: p.ReversalParams) -> Write:
        """Only whoever made the transfer may reverse it: the connected account for a debit
        (``Stripe-Account``), the platform for a credit. Anyone else gets 404, as the transfer
        is not in their account."""
        state = self.state
        with state.lock:
            self._get("transfer", ctx, transfer_id)
        return Write(lambda: state.reverse(ctx, transfer_id, query))

    def _refund(self, ctx: Account, query: refunds.RefundParams) -> Write:
        """A refund of a payment this account holds (for a debit, the platform's ``py_``)."""
        state = self.state
        with state.lock:
            if ctx.charges.get(query.charge) is None:
                raise resource_missing("charge", query.charge, "charge", status=400)
        return Write(lambda: refunds.create(state, ctx, query))

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
        _check_charge_minimum(query)
        _check_debit_maximum(query)
        return Write(lambda: state.debit_by_charge(source, query))


def _everything(obj: JsonObject) -> bool:
    return True


def _page(
    objects: ObjectList,
    kind: str,
    url: str,
    query: p.ListParams,
    matches: Callable[[JsonObject], bool],
    floor: int = 0,
) -> JsonObject:
    """One list page as Stripe's list object; an unknown cursor is 400 resource_missing."""
    cursor_id = query.starting_after or query.ending_before
    cursor: int | None = None
    if cursor_id is not None:
        cursor = objects.position(cursor_id)
        if cursor is None:
            param = "starting_after" if query.starting_after else "ending_before"
            raise resource_missing(kind, cursor_id, param, status=400)
    data, has_more = objects.page(query, matches, cursor, floor)
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _check_debit_maximum(query: p.CreateParams) -> None:
    """Stripe caps one account debit at 100,000 USD or its equivalent (a conservative
    ceiling per currency, :data:`~ledgerrun_sandbox.rules.DEBIT_MAXIMUM`): ``amount_too_large``
    on ``amount``."""
    limit = debit_maximum(query.currency)
    if limit is not None and query.amount > limit:
        raise ApiError(
            400,
            f"An account debit may move at most {limit} {query.currency} (in minor units; "
            f"100,000 USD or its equivalent); this one asks for {query.amount}.",
            code="amount_too_large",
            param="amount",
        )


def _check_charge_minimum(query: p.CreateParams) -> None:
    """Stripe's minimum charge amount ("0.50 USD or equivalent"): ``amount_too_small``."""
    least = charge_minimum(query.currency)
    if least is not None and query.amount < least:
        raise ApiError(
            400,
            f"Amount must be at least {money(least, query.currency)}",
            code="amount_too_small",
            param="amount",
        )
