"""How old an attempt is, and when its idempotency key can no longer be trusted.

Kept apart from :mod:`ledgerrun.send.execute` so that reading and validating a ledger
(``validate``, ``plan``, the web upload) never imports the Stripe client.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from ledgerrun.stripe.facts import IDEMPOTENCY_KEY_TTL_HOURS

# Stripe prunes idempotency keys after 24 hours; an hour's margin for clocks and slow runs.
STALE_AFTER = dt.timedelta(hours=IDEMPOTENCY_KEY_TTL_HOURS - 1)


class Attempted(Protocol):
    @property
    def attempted_at(self) -> dt.datetime: ...
    @property
    def attempted_at_server(self) -> dt.datetime: ...


def age(entry: Attempted, now: dt.datetime, server_offset: dt.timedelta | None) -> dt.timedelta:
    """How old the entry's latest attempt is: the older of two readings, by this machine's clock
    and by Stripe's (idempotency keys expire on Stripe's)."""
    server_now = now + (server_offset or dt.timedelta())
    return max(now - entry.attempted_at, server_now - entry.attempted_at_server)
