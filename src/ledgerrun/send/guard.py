"""The Stripe guard: before an adjustment the store does not know as sent is sent, look for it
in Stripe's own books.

The store is the fast path; Stripe is the truth. The guard finds every object ledgerrun made
(its metadata names the adjustment), whatever job, ledger file, host or journal made it:

* each connected account's transfers (its debits by transfer), one listing per account;
* the platform's charges from connected accounts in the platform-wide transfer group (debits
  by charge), and in each transfer group version 1 used (the job's name);
* the platform's transfers in the transfer group (credits).

Each listing goes back ``guard_days`` the first time and, after that, only to just before the
newest object it saw last time (its high-water mark in the store, less a margin for requests
that were still executing): a nightly job lists only what is new. What was found is kept in the
store, so one listing pass per run answers every row, and settles rows left pending by an
earlier attempt for more than 23 hours too.

The verdict for a row (see :meth:`Guard.verdicts`): an object with the same account, amount,
currency and direction means the row is done (``succeeded`` with the found ids, nothing sent);
objects that all differ mean ``adjustment_conflict``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledgerrun.clock import Clock
from ledgerrun.errors import StripeError
from ledgerrun.send.keys import META_JOB, META_RUN_DATE, key_from_metadata
from ledgerrun.store.model import Journal, Seen
from ledgerrun.stripe.shapes import Movement

if TYPE_CHECKING:  # the Stripe SDK is imported only by commands that send
    from ledgerrun.stripe.client import Client

MARGIN = dt.timedelta(hours=1)  # listings reach back this far before their high-water mark


@dataclass(frozen=True)
class Want:
    """What a row would send, for comparing with what Stripe holds."""

    key: str
    account: str
    amount: int
    currency: str
    direction: str


@dataclass
class Verdicts:
    found: dict[str, Seen] = field(default_factory=dict)  # same values: the row is done
    conflicts: dict[str, list[Seen]] = field(default_factory=dict)  # only other values


def seen_from(movement: Movement) -> Seen | None:
    """A listed object as the store keeps it, or None when ledgerrun did not make it."""
    key = key_from_metadata(movement.metadata)
    if key is None:
        return None
    meta = movement.metadata
    return Seen(
        object_id=movement.object_id,
        key=key,
        adjustment_id=meta.get("ledgerrun_adjustment_id", ""),
        job=meta.get(META_JOB, ""),
        run_date=meta.get(META_RUN_DATE, ""),
        direction=str(movement.direction),
        method=movement.method,
        account=movement.account,
        amount=movement.amount,
        currency=movement.currency,
        created=movement.created,
        transfer_id=movement.transfer_id,
        payment_id=movement.payment_id or "",
        amount_reversed=movement.amount_reversed,
    )


@dataclass(frozen=True)
class Listing:
    name: str
    fetch: Callable[[int], Iterator[Movement]]  # created_gte -> objects, newest first


class Guard:
    def __init__(
        self,
        client: Client,
        store: Journal | None,
        clock: Clock,
        *,
        group: str,
        legacy_groups: Iterable[str] = (),
        guard_days: int = 90,
        concurrency: int = 8,
        server_offset: Callable[[], dt.timedelta | None] = lambda: None,
        writable: bool = True,
    ) -> None:
        self.client = client
        self.store = store
        self.writable = writable  # False: read marks and finds from the store, keep new ones here
        self.clock = clock
        self.group = group
        self.legacy_groups = sorted({g for g in legacy_groups if g and g != group})
        self.guard_days = guard_days
        self.concurrency = max(1, concurrency)
        self._offset = server_offset
        self._memory: dict[str, list[Seen]] = {}  # when there is no store to keep them
        self.listed = 0  # objects seen by this guard's listings
        self.failed: dict[str, str] = {}  # listing -> why Stripe could not answer it

    def _stripe_now(self) -> dt.datetime:
        return self.clock.now() + (self._offset() or dt.timedelta())

    def listings(self, accounts: Iterable[str]) -> list[Listing]:
        out = [
            Listing(f"transfers:{account}", self._account_transfers(account))
            for account in sorted(set(accounts))
        ]
        for group in [self.group, *self.legacy_groups]:
            out.append(Listing(f"charges:{group}", self._charges(group)))
        out.append(
            Listing(
                f"credits:{self.group}",
                lambda gte: self.client.transfers(None, group=self.group, created_gte=gte),
            )
        )
        return out

    def _account_transfers(self, account: str) -> Callable[[int], Iterator[Movement]]:
        return lambda gte: self.client.transfers(account, group=None, created_gte=gte)

    def _charges(self, group: str) -> Callable[[int], Iterator[Movement]]:
        return lambda gte: self.client.charges(group=group, created_gte=gte)

    def refresh(self, accounts: Iterable[str], reach_back_to: dt.datetime | None = None) -> int:
        """List what is new in Stripe for these accounts and the platform; keep it. Returns how
        many listings ran. ``reach_back_to`` widens the window (for old pending attempts)."""
        listings = self.listings(accounts)
        now = self._stripe_now()
        floor = now - dt.timedelta(days=self.guard_days)
        if reach_back_to is not None:
            floor = min(floor, reach_back_to - MARGIN)

        def run(listing: Listing) -> None:
            mark = self.store.high_water(listing.name) if self.store is not None else None
            since = floor if mark is None else max(floor, _utc(mark) - MARGIN)
            if reach_back_to is not None and mark is not None:
                since = min(since, reach_back_to - MARGIN)
            found: list[Seen] = []
            newest = int(now.timestamp())  # everything up to now has been seen
            try:
                for movement in listing.fetch(int(since.timestamp())):
                    newest = max(newest, movement.created)
                    seen = seen_from(movement)
                    if seen is not None:
                        found.append(seen)
            except StripeError as exc:
                self.failed[listing.name] = str(exc)
                return
            self.listed += len(found)
            if self.store is not None and self.writable:
                self.store.record_listing(listing.name, found, newest, self.clock.now())
            else:
                for seen in found:
                    self._memory.setdefault(seen.key, []).append(seen)

        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(listings))) as pool:
            list(pool.map(run, listings))
        return len(listings)

    def unsure(self, want: Want) -> bool:
        """True when a listing that could hold this row's object got no answer: the row must
        not be sent on the journal's word alone."""
        if not self.failed:
            return False
        if f"transfers:{want.account}" in self.failed:
            return True
        return any(not name.startswith("transfers:") for name in self.failed)

    def objects(self, keys: Iterable[str]) -> dict[str, list[Seen]]:
        wanted = list(dict.fromkeys(keys))
        found = self.store.seen(wanted) if self.store is not None else {}
        for key in wanted:
            extra = self._memory.get(key)
            if extra:
                merged = {s.object_id: s for s in [*found.get(key, []), *extra]}
                found[key] = list(merged.values())
        return found

    def verdicts(self, wants: Iterable[Want]) -> Verdicts:
        wants = list(wants)
        known = self.objects(w.key for w in wants)
        out = Verdicts()
        for want in wants:
            objects = known.get(want.key)
            if not objects:
                continue
            same = [o for o in objects if _same(o, want)]
            if same:
                out.found[want.key] = max(same, key=lambda o: o.created)
            else:
                out.conflicts[want.key] = objects
        return out


def _same(seen: Seen, want: Want) -> bool:
    return (seen.account, seen.amount, seen.currency, seen.direction) == (
        want.account,
        want.amount,
        want.currency,
        want.direction,
    )


def _utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
