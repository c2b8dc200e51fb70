"""The Stripe guard: before an adjustment the store does not know as sent is sent, look for it
in Stripe's own books.

The store is the fast path; Stripe is the truth. The guard finds every object ledgerrun made
(its metadata names the adjustment), whatever job, ledger file, host or journal made it:

* each connected account's debits, by transfer and by charge, one listing per account
  (:func:`ledgerrun.send.listings.account_books`: its transfers, and the platform's charges
  its debits by charge are, found by search without the 100-object cap of listing charges by
  ``transfer_group``);
* the platform's transfers in the transfer group (credits).

**A store that has never swept** (new, emptied, lost, deleted, or another job's) first lists the
debits of *every* connected account of the platform (``GET /v1/accounts``, 100 a page; then each
account's listing), so an adjustment debited from an account the ledger no longer names (its
row was corrected to another account) is found, whichever store or job made it. The sweep
happens once per store: its mark (:data:`SWEEP`) is kept when every listing answered.

Each listing goes back ``guard_days`` the first time and, after that, only to just before the
newest object it saw last time (its high-water mark in the store, less a margin for requests
that were still executing): a nightly job lists only what is new, for the ledger's accounts.
What was found is kept in the store, so one listing pass per run answers every row, and settles
rows left pending by an earlier attempt for more than 23 hours too.

The verdict for a row (see :meth:`Guard.verdicts`): an object with the same account, amount,
currency and direction means the row is done (``succeeded`` with the found ids, nothing sent);
objects that all differ (another account, say) mean ``adjustment_conflict``. Objects of the
same job and id under another ``id_prefix`` are :meth:`Guard.other_prefixes`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from ledgerrun.clock import Clock
from ledgerrun.errors import StripeError
from ledgerrun.ingest.identity import canonical
from ledgerrun.send.keys import META_JOB, META_RUN_DATE, key_from_metadata
from ledgerrun.send.listings import account_books
from ledgerrun.store.model import Journal, Seen
from ledgerrun.stripe.shapes import Movement

if TYPE_CHECKING:  # the Stripe SDK is imported only by commands that send
    from ledgerrun.stripe.client import Client

MARGIN = dt.timedelta(hours=1)  # listings reach back this far before their high-water mark
SWEEP = "sweep"  # the store's mark that it has listed every connected account once
ACCOUNTS = "accounts"  # the listing of the platform's connected accounts (during a sweep)


class Want(NamedTuple):
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
        bare=canonical(meta.get("ledgerrun_adjustment_id", "")),
    )


class Listing(NamedTuple):
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
        guard_days: int = 90,
        concurrency: int = 8,
        server_offset: Callable[[], dt.timedelta | None] = lambda: None,
        writable: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.writable = writable  # False: read marks and finds from the store, keep new ones here
        self.clock = clock
        self.group = group
        self.guard_days = guard_days
        self.concurrency = max(1, concurrency)
        self._offset = server_offset
        self._progress = progress  # (accounts listed, accounts to list) during a sweep
        self._memory: dict[str, list[Seen]] = {}  # when there is no store to keep them
        self._lock = threading.Lock()
        self.listed = 0  # objects seen by this guard's listings
        self.failed: dict[str, str] = {}  # listing -> why Stripe could not answer it
        self.swept_accounts: set[str] = set()  # listed by this guard's sweep only

    def _stripe_now(self) -> dt.datetime:
        return self.clock.now() + (self._offset() or dt.timedelta())

    @property
    def swept(self) -> bool:
        """Whether the store has listed every connected account once (a store-less guard
        never has)."""
        return self.store is not None and self.store.high_water(SWEEP) is not None

    def listings(self, accounts: Iterable[str]) -> list[Listing]:
        out = [
            Listing(f"transfers:{account}", self._account_debits(account))
            for account in sorted(set(accounts))
        ]
        out.append(
            Listing(
                f"credits:{self.group}",
                lambda gte: self.client.transfers(None, group=self.group, created_gte=gte),
            )
        )
        return out

    def _account_debits(self, account: str) -> Callable[[int], Iterator[Movement]]:
        def fetch(gte: int) -> Iterator[Movement]:
            books = account_books(self.client, account, gte)
            return iter([*books.transfers, *books.charges])  # every one moves the mark

        return fetch

    def refresh(
        self,
        accounts: Iterable[str],
        reach_back_to: dt.datetime | None = None,
        *,
        sweep: bool | None = None,
    ) -> int:
        """List what is new in Stripe for these accounts and the platform; keep it. Returns how
        many listings ran. ``reach_back_to`` widens the window (for old pending attempts).
        ``sweep`` (by default: when the store keeps what is found and has never swept) lists
        every connected account first."""
        accounts = set(accounts)
        if sweep is None:
            sweep = self.writable and self.store is not None and not self.swept
        if sweep:
            try:
                everyone = set(self.client.connected_accounts())
            except StripeError as exc:
                self.failed[ACCOUNTS] = str(exc)
                everyone = set()
            self.swept_accounts = everyone - accounts
            accounts |= everyone
        listings = self.listings(accounts)
        now = self._stripe_now()
        floor = now - dt.timedelta(days=self.guard_days)
        if reach_back_to is not None:
            floor = min(floor, reach_back_to - MARGIN)
        done = [0]
        lock = threading.Lock()

        def run(listing: Listing) -> None:
            self._run(listing, now, floor, reach_back_to)
            if sweep and self._progress is not None:
                with lock:
                    done[0] += 1
                    self._progress(done[0], len(listings))

        if sweep and self._progress is not None:
            self._progress(0, len(listings))
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(listings))) as pool:
            list(pool.map(run, listings))
        if sweep and not self.failed and self.store is not None and self.writable:
            self.store.record_listing(SWEEP, [], int(now.timestamp()), self.clock.now())
        return len(listings)

    def _run(
        self, listing: Listing, now: dt.datetime, floor: dt.datetime, back: dt.datetime | None
    ) -> None:
        mark = self.store.high_water(listing.name) if self.store is not None else None
        since = floor if mark is None else max(floor, _utc(mark) - MARGIN)
        if back is not None and mark is not None:
            since = min(since, back - MARGIN)
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
            with self._lock:
                for seen in found:
                    self._memory.setdefault(seen.key, []).append(seen)

    def unsure(self, want: Want) -> bool:
        """True when a listing that could hold this row's object got no answer: the row must
        not be sent on the journal's word alone."""
        if not self.failed:
            return False
        if f"transfers:{want.account}" in self.failed:
            return True
        # The platform's credits, the accounts' listing, or an account listed only by the sweep
        # (it may hold any row's debit, made from the account its row named before).
        return any(
            not name.startswith("transfers:")
            or name.removeprefix("transfers:") in self.swept_accounts
            for name in self.failed
        )

    def objects(self, keys: Iterable[str]) -> dict[str, list[Seen]]:
        wanted = list(dict.fromkeys(keys))
        found = self.store.seen(wanted) if self.store is not None else {}
        for key in wanted:
            extra = self._memory.get(key)
            if extra:
                merged = {s.object_id: s for s in [*found.get(key, []), *extra]}
                found[key] = list(merged.values())
        return found

    def other_prefixes(self, wants: Mapping[Want, str], job: str) -> dict[str, Seen]:
        """Per row (each want with its id's canonical form without the prefix), an object of
        the same job, the same id and the same values that Stripe holds under another
        ``id_prefix`` (``possible_duplicate_prefix``): the prefix changed since, and a changed
        prefix makes every old id new."""
        bare = {w.key: b for w, b in wants.items()}
        held = self.store.seen_bare(set(bare.values())) if self.store is not None else {}
        with self._lock:
            remembered = [s for objects in self._memory.values() for s in objects]
        for seen in remembered:
            held.setdefault(seen.bare, []).append(seen)
        out: dict[str, Seen] = {}
        for want in wants:
            same = [
                o
                for o in held.get(bare[want.key], [])
                if o.job == job and o.key != want.key and _same(o, want)
            ]
            if same:
                out[want.key] = max(same, key=lambda o: o.created)
        return out

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
