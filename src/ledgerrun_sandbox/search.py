"""``GET /v1/charges/search``: the part of Stripe's search query language the sandbox models.

A query is one or more clauses joined by ``AND``:

* ``metadata['key']:'value'`` (or with double quotes; ``\\'`` and ``\\"`` escape a quote):
  the charge's metadata holds exactly that value under that key;
* ``created>N``, ``created>=N``, ``created<N``, ``created<=N`` (unix seconds).

Anything else is a 400, worded as Stripe words it: a query that does not parse, or a field
Stripe does not search on. Fields Stripe searches on but the sandbox does not model (``amount``,
``status``, ...) and ``OR`` are refused too, saying so. Results come newest first, ``limit`` (1
to 100, default 10) at a time, in Stripe's ``search_result`` list with ``next_page`` as the
cursor of the next call's ``page``; ``total_count`` only when asked for with
``expand[]=total_count``. As on Stripe, a new charge shows in search results only after a lag
(``search_lag_s``, default 0; Stripe: usually under a minute).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ledgerrun_sandbox import params as p
from ledgerrun_sandbox.accounts import Account
from ledgerrun_sandbox.errors import ApiError, invalid_request, parameter_missing
from ledgerrun_sandbox.objects import JsonObject, ObjectList
from ledgerrun_sandbox.params import ListParams
from ledgerrun_sandbox.wire import Params

URL = "/v1/charges/search"
_PARAMS = frozenset({"query", "limit", "page", "expand"})
_UNPARSABLE = (
    'We were unable to parse your search query. Try using the format `metadata["key"]:"value"` '
    'to query for metadata or key:"value" to query for other fields.'
)
_STRIPE_FIELDS = frozenset(
    "amount billing_details.address.postal_code billing_details.email created currency customer "
    "disputed metadata payment_intent payment_method_details.card.brand "
    "payment_method_details.card.exp_month payment_method_details.card.exp_year "
    "payment_method_details.card.fingerprint payment_method_details.card.last4 refunded status "
    "transfer_group".split()
)
_METADATA = re.compile(
    r"""metadata\[(?P<q1>['"])(?P<key>(?:\\.|(?!(?P=q1)).)*)(?P=q1)\]"""
    r""":(?P<q2>['"])(?P<value>(?:\\.|(?!(?P=q2)).)*)(?P=q2)"""
)
_CREATED = re.compile(r"created(?P<op>>=|<=|>|<)(?P<value>-?[0-9]+)")
_FIELD = re.compile(r"(?P<field>[A-Za-z_][A-Za-z0-9_.]*)\s*(?:\[|:|>|<|=|~)")
_ESCAPE = re.compile(r"\\(.)")


@dataclass
class Query:
    """A parsed query: metadata that must match, and bounds on ``created`` (inclusive)."""

    metadata: dict[str, str] = field(default_factory=dict)
    created_min: int | None = None
    created_max: int | None = None
    impossible: bool = False  # the same metadata key asked with two values

    def matches(self, charge: JsonObject) -> bool:
        held = charge.get("metadata") or {}
        return not self.impossible and all(held.get(k) == v for k, v in self.metadata.items())


@dataclass(frozen=True)
class SearchParams:
    query: Query
    limit: int
    after: str | None  # the id the previous page ended with
    total_count: bool


def search_params(params: Params) -> SearchParams:
    p.only(params, _PARAMS)
    if "query" not in params:
        raise parameter_missing("query")
    text = p.required_string(params["query"], "query")
    limit = p.limit_param(params)
    after = None
    page = p.optional_string(params.get("page"), "page")
    if page is not None:
        after = _read_page(page)
    return SearchParams(parse(text), limit, after, "total_count" in p.expands(params))


def parse(text: str) -> Query:
    """Parse a query of the modeled subset, or raise the 400 Stripe (or the sandbox) gives."""
    query = Query()
    clauses = re.split(r"\s+AND\s+", text.strip())
    if any(re.search(r"\s+OR\s+", clause) for clause in clauses):
        raise _refuse("The sandbox does not model OR in search queries; use AND, or two searches.")
    for clause in clauses:
        clause = clause.strip()
        found = _METADATA.fullmatch(clause)
        if found:
            key = _ESCAPE.sub(r"\1", found["key"])
            value = _ESCAPE.sub(r"\1", found["value"])
            if query.metadata.get(key, value) != value:
                query.impossible = True
            query.metadata[key] = value
            continue
        bound = _CREATED.fullmatch(clause)
        if bound:
            _bound(query, bound["op"], int(bound["value"]))
            continue
        named = _FIELD.match(clause)
        if named is None or named["field"] in ("metadata", "created"):
            raise _refuse(_UNPARSABLE)  # nothing a field, or a modeled field written wrong
        name = named["field"]
        if name not in _STRIPE_FIELDS:
            raise _refuse(
                f"Field `{name}` is an unsupported search field for resource `charges`. See "
                "http://stripe.com/docs/search#query-fields-for-charges for a list of supported "
                "fields."
            )
        raise _refuse(
            f"The sandbox models search on metadata and created only, not on `{name}` "
            "(Stripe supports it)."
        )
    return query


def _bound(query: Query, op: str, value: int) -> None:
    if op in (">", ">="):
        low = value + 1 if op == ">" else value
        query.created_min = low if query.created_min is None else max(query.created_min, low)
    else:
        high = value - 1 if op == "<" else value
        query.created_max = high if query.created_max is None else min(query.created_max, high)


def search(
    owner: Account, query: SearchParams, visible: Callable[[JsonObject], bool]
) -> JsonObject:
    """One page of ``owner``'s charges matching the query (and ``visible``: past the lag)."""
    charges = owner.charges
    cursor = None
    if query.after is not None:
        cursor = charges.position(query.after)
        if cursor is None:
            raise invalid_request("page", "Invalid page: it does not come from a previous search.")
    listing = ListParams(
        limit=query.limit,
        starting_after=query.after,
        created_min=query.query.created_min,
        created_max=query.query.created_max,
    )

    def matches(charge: JsonObject) -> bool:
        return visible(charge) and query.query.matches(charge)

    among = _candidates(charges, query.query)
    data, has_more = charges.page(listing, matches, cursor, among=among)
    result: JsonObject = {
        "object": "search_result",
        "data": data,
        "has_more": has_more,
        "next_page": _write_page(data[-1]["id"]) if has_more and data else None,
        "url": URL,
    }
    if query.total_count:
        everything = ListParams(
            limit=10_000,
            created_min=query.query.created_min,
            created_max=query.query.created_max,
        )
        result["total_count"] = len(charges.page(everything, matches, None, among=among)[0])
    return result


def _candidates(charges: ObjectList, query: Query) -> Sequence[int] | None:
    """The positions that may match a query naming metadata (the fewest of its pairs'), or
    None: every charge may."""
    held = [charges.holding(k, v) for k, v in query.metadata.items()]
    known = [h for h in held if h is not None]
    return min(known, key=len) if known else None


def _write_page(last_id: str) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def _read_page(token: str) -> str:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("after:") or len(text) <= len("after:"):
        raise invalid_request("page", "Invalid page: it does not come from a previous search.")
    return text.removeprefix("after:")


def _refuse(message: str) -> ApiError:
    return invalid_request("query", message)
