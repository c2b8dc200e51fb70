"""Finding a job's debits in Stripe: every page of a transfer-group listing, each page sent
through the run's Caller (paced and retried like any other request)."""

from __future__ import annotations

from collections.abc import Iterator

from ledgerrun.stripe.client import Caller
from ledgerrun.stripe.gateway import Debit, Gateway


def debits(
    caller: Caller,
    gateway: Gateway,
    method: str,
    account: str | None,
    transfer_group: str,
    since: int = 0,
) -> Iterator[Debit]:
    """Each debit of ``transfer_group`` created at or after ``since`` (unix seconds), newest
    first: the account's transfers (method "transfer"), or the platform's charges from that
    account, or from every account when ``account`` is None (method "charge")."""
    after: str | None = None
    while True:
        page = caller.call(
            lambda after=after: gateway.list_debits(  # type: ignore[misc]
                method, account, transfer_group, since, after
            )
        )
        yield from page.debits
        if not page.has_more or page.last_id is None:
            return
        after = page.last_id
