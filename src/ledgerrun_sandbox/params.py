"""Checking request parameters: the validation step that never touches account state.

Each function takes the decoded params of one endpoint and returns a typed value, or raises a
400 :class:`~ledgerrun_sandbox.errors.ApiError`. Failures here are *validation failures*: they
are never saved under an idempotency key. The order of checks is fixed (unknown parameters,
then missing ones, then each value) so a request with several faults always gets the same
answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ledgerrun_sandbox import rules
from ledgerrun_sandbox.errors import (
    ApiError,
    invalid_integer,
    invalid_request,
    parameter_missing,
    parameter_unknown,
    parameters_exclusive,
)
from ledgerrun_sandbox.wire import Params

MAX_AMOUNT = rules.AMOUNT_MAX
MAX_METADATA_KEYS = rules.METADATA_MAX_KEYS
MAX_METADATA_KEY = rules.METADATA_KEY_MAX_CHARS
MAX_METADATA_VALUE = rules.METADATA_VALUE_MAX_CHARS
MAX_LIST_LIMIT = rules.LIST_PAGE_MAX
DEFAULT_LIST_LIMIT = rules.LIST_PAGE_DEFAULT

_INTEGER = re.compile(r"^-?[0-9]+$")
_CURRENCY = re.compile(r"^[a-z]{3}$")
_COMMON = frozenset({"expand"})
_CREATE_COMMON = _COMMON | {"amount", "currency", "description", "metadata", "transfer_group"}
_LIST_PAGING = _COMMON | {"limit", "starting_after", "ending_before"}
_REVERSAL_CREATE = _COMMON | {"amount", "metadata", "description", "refund_application_fee"}


@dataclass(frozen=True)
class CreateParams:
    """A transfer or charge creation. ``counterparty`` is ``destination`` or ``source``."""

    amount: int
    currency: str
    counterparty: str
    description: str | None
    metadata: dict[str, str]
    transfer_group: str | None


@dataclass(frozen=True)
class ListParams:
    limit: int = DEFAULT_LIST_LIMIT
    starting_after: str | None = None
    ending_before: str | None = None
    created_min: int | None = None  # inclusive bounds, after turning gt/lt into gte/lte
    created_max: int | None = None
    transfer_group: str | None = None
    destination: str | None = None
    charge: str | None = None


def transfer_create(params: Params) -> CreateParams:
    return _create(params, "destination", rules.DESCRIPTION_MAX_CHARS_TRANSFER)


def charge_create(params: Params) -> CreateParams:
    return _create(params, "source", rules.DESCRIPTION_MAX_CHARS_CHARGE)


def _create(params: Params, counterparty: str, description_limit: int) -> CreateParams:
    only(params, _CREATE_COMMON | {counterparty})
    for name in ("amount", "currency", counterparty):
        if name not in params:
            raise parameter_missing(name)
    value = amount(params["amount"])
    currency = required_string(params["currency"], "currency").lower()
    if not _CURRENCY.match(currency):
        raise invalid_request("currency", f"Invalid currency: {currency[:20]}.")
    party = required_string(params[counterparty], counterparty)
    return CreateParams(
        amount=value,
        currency=currency,
        counterparty=party,
        description=description(params.get("description"), description_limit),
        metadata=metadata(params.get("metadata")),
        transfer_group=optional_string(params.get("transfer_group"), "transfer_group"),
    )


@dataclass(frozen=True)
class ReversalParams:
    """A reversal: ``amount`` ``None`` means all that is left of the transfer."""

    amount: int | None
    description: str | None
    metadata: dict[str, str]


def reversal_create(params: Params) -> ReversalParams:
    """``POST /v1/transfers/{id}/reversals``. ``refund_application_fee`` is checked, then
    ignored: the sandbox has no application fees."""
    only(params, _REVERSAL_CREATE)
    value = None
    if "amount" in params:
        value = amount(params["amount"])
    boolean(params.get("refund_application_fee"), "refund_application_fee")
    return ReversalParams(
        amount=value,
        description=description(params.get("description"), rules.DESCRIPTION_MAX_CHARS_TRANSFER),
        metadata=metadata(params.get("metadata")),
    )


def list_params(params: Params, filters: frozenset[str] | set[str] = frozenset()) -> ListParams:
    """A list's paging params, plus the filters this list takes (some of ``created``,
    ``transfer_group``, ``destination``, ``charge``)."""
    only(params, _LIST_PAGING | filters)
    limit = limit_param(params)
    starting_after = optional_string(params.get("starting_after"), "starting_after")
    ending_before = optional_string(params.get("ending_before"), "ending_before")
    if starting_after and ending_before:
        raise parameters_exclusive("starting_after", "ending_before")
    low, high = _created(params.get("created"))
    return ListParams(
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        created_min=low,
        created_max=high,
        transfer_group=optional_string(params.get("transfer_group"), "transfer_group"),
        destination=optional_string(params.get("destination"), "destination"),
        charge=optional_string(params.get("charge"), "charge"),
    )


def limit_param(params: Params) -> int:
    """``limit``: 1 to 100, 10 when not given."""
    if "limit" not in params:
        return DEFAULT_LIST_LIMIT
    limit = _integer(params["limit"], "limit")
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise invalid_request(
            "limit", f"limit must be between 1 and {MAX_LIST_LIMIT}; got {limit}."
        )
    return limit


def boolean(value: Any, param: str) -> bool | None:
    """A form boolean (``true``/``false``), or ``None`` when absent."""
    if value is None:
        return None
    if value not in ("true", "false"):
        raise invalid_request(param, f"Invalid boolean: {param} must be true or false.")
    return bool(value == "true")


def amount(value: Any) -> int:
    amount = _integer(value, "amount")
    if amount < 1:
        raise ApiError(
            400,
            "Amount must be at least 1 (in the currency's minor unit).",
            code="amount_too_small",
            param="amount",
        )
    if amount > MAX_AMOUNT:
        raise ApiError(
            400,
            f"Amount must be no more than {MAX_AMOUNT} (in the currency's minor unit).",
            code="amount_too_large",
            param="amount",
        )
    return amount


def description(value: Any, limit: int) -> str | None:
    text = optional_string(value, "description")
    if text is not None and len(text) > limit:
        raise invalid_request(
            "description",
            f"The description is {len(text)} characters long; at most {limit} are allowed.",
        )
    return text


def no_params(params: Params) -> None:
    """Endpoints (retrieve, balance) that take nothing but ``expand``."""
    only(params, _COMMON)


def expands(params: Params) -> frozenset[str]:
    """The ``expand`` list (``expand[]=a`` or the SDK's ``expand[0]=a``) as a set."""
    value = params.get("expand")
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, str):
        value = [value]
    return frozenset(v for v in value or () if isinstance(v, str))


def only(params: Params, allowed: frozenset[str] | set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise parameter_unknown(name)


def _integer(value: Any, param: str) -> int:
    if isinstance(value, str) and value == "":
        raise _empty(param)
    if not isinstance(value, str) or not _INTEGER.match(value):
        raise invalid_integer(param, value)
    return int(value)


def required_string(value: Any, param: str) -> str:
    text = optional_string(value, param)
    if text is None:
        raise _empty(param)
    return text


def optional_string(value: Any, param: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_request(param, f"Invalid string: {param} must be a single value.")
    return value or None


def _empty(param: str) -> ApiError:
    return ApiError(
        400,
        f"You passed an empty string for '{param}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{param}' cannot be unset.",
        code="parameter_invalid_empty",
        param=param,
    )


def metadata(value: Any) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid_request("metadata", "Invalid hash: metadata must be key-value pairs.")
    if len(value) > MAX_METADATA_KEYS:
        raise invalid_request(
            "metadata",
            f"Metadata has {len(value)} keys; at most {MAX_METADATA_KEYS} are allowed.",
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY:
            raise invalid_request(
                "metadata",
                f"Metadata key '{key[:MAX_METADATA_KEY]}...' is {len(key)} characters long; "
                f"keys may have at most {MAX_METADATA_KEY}.",
            )
        if not isinstance(item, str):
            raise invalid_request("metadata", f"Metadata value for '{key}' must be a string.")
        if len(item) > MAX_METADATA_VALUE:
            raise invalid_request(
                "metadata",
                f"Metadata value for '{key}' is {len(item)} characters long; "
                f"values may have at most {MAX_METADATA_VALUE}.",
            )
        if item:
            out[key] = item
    return out


def _created(value: Any) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    if isinstance(value, str):
        exact = _integer(value, "created")
        return exact, exact
    if not isinstance(value, dict):
        raise invalid_request("created", "created must be an integer or a hash of bounds.")
    low: int | None = None
    high: int | None = None
    for op, raw in value.items():
        bound = _integer(raw, f"created[{op}]")
        if op == "gte":
            low = bound if low is None else max(low, bound)
        elif op == "gt":
            low = bound + 1 if low is None else max(low, bound + 1)
        elif op == "lte":
            high = bound if high is None else min(high, bound)
        elif op == "lt":
            high = bound - 1 if high is None else min(high, bound - 1)
        else:
            raise parameter_unknown(f"created[{op}]")
    return low, high
