"""What one connected account's books hold of ledgerrun's debits, by listings without a cap.

The guard and reconcile both read an account's debits here, the same way:

* **Its transfers** (``GET /v1/transfers`` as the account, every group): its debits by
  transfer carry ledgerrun's metadata. A debit by charge shows here too, as the transfer Stripe
  made from the account for the platform's payment (its ``destination_payment``), without
  metadata: the metadata is on the platform's charge.
* **The platform's charges that are its debits by charge**, when its transfers show any: found
  by Stripe's search on ``metadata['ledgerrun_account']`` and ``created`` (no cap; Stripe
  documents the ``transfer_group`` filter of ``GET /v1/charges`` as limited to 100). Search lags
  new charges by up to a minute, and charges made before ``ledgerrun_account`` existed carry
  none: a payment the account's transfers name but the search did not return is fetched by id
  (``GET /v1/charges/{id}``), which is never behind.

A charge is taken as a debit by its ``source_transfer`` and ledgerrun's metadata
(:func:`ledgerrun.stripe.shapes.is_account_source`), never by the legacy ``source`` alone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from ledgerrun.errors import RefusedError
from ledgerrun.metadata_keys import META_ACCOUNT
from ledgerrun.send.keys import key_from_metadata
from ledgerrun.stripe.shapes import Movement
from ledgerrun.vocab import Method

if TYPE_CHECKING:  # the Stripe SDK is imported only by commands that send
    from ledgerrun.stripe.client import Client

_ACCOUNT_ID = re.compile(r"acct_[A-Za-z0-9]+")


class AccountBooks(NamedTuple):
    """One connected account's transfers (all of them, as listed) and the platform's charges
    that are its debits by charge (ledgerrun's, and any other its transfers name)."""

    transfers: list[Movement]
    charges: list[Movement]


def account_books(client: Client, account: str, created_gte: int) -> AccountBooks:
    """``account``'s books since ``created_gte`` (unix seconds): see the module docstring."""
    transfers = list(client.transfers(account, group=None, created_gte=created_gte))
    unmarked = {
        t.payment_id: t for t in transfers if t.payment_id and not key_from_metadata(t.metadata)
    }
    charges: list[Movement] = []
    if not unmarked:
        return AccountBooks(transfers, charges)
    if _ACCOUNT_ID.fullmatch(account):  # an id Stripe issued: safe inside a query
        query = f"metadata['{META_ACCOUNT}']:'{account}' AND created>={created_gte}"
        for charge in client.search_charges(query):
            if key_from_metadata(charge.metadata):
                charges.append(charge)
                unmarked.pop(charge.payment_id or "", None)
    for payment_id in sorted(unmarked):  # not (yet) in search: asked for by id
        try:
            charge = client.charge(payment_id)
        except RefusedError:
            continue  # not a charge the platform holds: a transfer made outside ledgerrun
        if charge.method == Method.CHARGE:
            charges.append(charge if charge.account else charge._replace(account=account))
    return AccountBooks(transfers, charges)
