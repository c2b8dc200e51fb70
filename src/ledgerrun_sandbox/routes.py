"""Routing: which named operation a method and path are, and the ids the path carries.

Stripe counts each named operation (a method and a path template, ``GET /v1/transfers/{id}``)
as one endpoint for its rate limits, whatever the ids in the path; :attr:`Route.operation` is
that name. A template segment ``{id}`` matches any non-empty segment; the first template that
matches wins, so ``/v1/charges/search`` is the search, not a charge called "search".
"""

from __future__ import annotations

from dataclasses import dataclass

_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("GET", "account", "account_self"),
    ("GET", "accounts", "account_list"),
    ("GET", "accounts/{id}", "account_get"),
    ("GET", "balance", "balance"),
    ("GET", "transfers", "transfer_list"),
    ("POST", "transfers", "transfer_create"),
    ("GET", "transfers/{id}", "transfer_get"),
    ("GET", "transfers/{id}/reversals", "reversal_list"),
    ("POST", "transfers/{id}/reversals", "reversal_create"),
    ("GET", "transfers/{id}/reversals/{id}", "reversal_get"),
    ("GET", "charges", "charge_list"),
    ("POST", "charges", "charge_create"),
    ("GET", "charges/search", "charge_search"),
    ("GET", "charges/{id}", "charge_get"),
    ("GET", "refunds", "refund_list"),
    ("POST", "refunds", "refund_create"),
    ("GET", "refunds/{id}", "refund_get"),
)
_TABLE = tuple((method, tuple(path.split("/")), name) for method, path, name in _TEMPLATES)

OPERATIONS: tuple[str, ...] = tuple(f"{method} /v1/{path}" for method, path, _ in _TEMPLATES)
"""Every endpoint the sandbox serves, by Stripe's rate-limit name."""


@dataclass(frozen=True)
class Route:
    name: str
    operation: str
    object_id: str | None = None
    transfer_id: str | None = None  # the transfer a reversal route is under

    @property
    def is_write(self) -> bool:
        return self.name.endswith("_create")


def route(method: str, path: str) -> Route | None:
    """The endpoint a method and path name, or ``None`` (answered 404 by the API)."""
    parts = path.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "v1":
        return None
    rest = parts[1:]
    for want, template, name in _TABLE:
        if want != method or len(template) != len(rest):
            continue
        ids = []
        for segment, given in zip(template, rest, strict=True):
            if segment == "{id}" and given:
                ids.append(given)
            elif segment != given:
                break
        else:
            operation = f"{method} /v1/{'/'.join(template)}"
            if name.startswith("reversal_"):
                return Route(name, operation, ids[1] if len(ids) > 1 else None, ids[0])
            return Route(name, operation, ids[0] if ids else None)
    return None
