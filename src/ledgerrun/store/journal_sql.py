"""The journal in SQL: adjustments (their intents and outcomes are written by
:mod:`ledgerrun.store.attempt_sql`, with the rules that protect an idempotency key), what the
guard has seen in Stripe, listing marks and account checks.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import astuple

from ledgerrun.errors import JournalError
from ledgerrun.store import codec, schema
from ledgerrun.store.attempt_sql import AttemptTables
from ledgerrun.store.model import (
    STATES,
    SUCCEEDED,
    AccountRecord,
    Entry,
    Seen,
)

_decode_entry = codec.decoder(Entry, schema.ENTRY_COLUMNS)
_decode_account = codec.decoder(AccountRecord, schema.ACCOUNT_COLUMNS)
_PAGE = 2000
_ALL = codec.cols(schema.ENTRY_COLUMNS)
_FACTS = ", ".join("'{}' AS request" if c == "request" else c for c in schema.ENTRY_COLUMNS)


class JournalTables(AttemptTables):
    # --- adjustments -----------------------------------------------------------------------

    def entries(self, keys: Iterable[str]) -> dict[str, Entry]:
        """The entries of ``keys`` (canonical ids) that the store holds, from any job."""
        return self._entries(_ALL, keys)

    def iter_entries(self, job: str | None = None, run_date: str | None = None) -> Iterator[Entry]:
        """Entries of a job (and run date), or all of them, streamed in pages by key."""
        return self._iter_entries(_ALL, job, run_date)

    # --- what results and reconcile compare: an entry without its request ------------------
    # The request is not even read (a night of 200,000 rows would decode 200,000 of them): a
    # request is only ever resent from entries() and iter_entries().

    def entry_facts(self, keys: Iterable[str]) -> dict[str, Entry]:
        """As :meth:`entries`, each with an empty ``request``."""
        return self._entries(_FACTS, keys)

    def iter_entry_facts(
        self, job: str | None = None, run_date: str | None = None
    ) -> Iterator[Entry]:
        """As :meth:`iter_entries`, each with an empty ``request``."""
        return self._iter_entries(_FACTS, job, run_date)

    def _entries(self, columns: str, keys: Iterable[str]) -> dict[str, Entry]:
        if isinstance(keys, str):
            raise JournalError("keys must be a collection of canonical ids, not one string")
        sql = f"SELECT {columns} FROM adjustments WHERE key IN "
        found: dict[str, Entry] = {}
        with self._tx("read entries") as conn:  # one snapshot across all batches
            for batch in codec.batches(keys):
                for row in conn.execute(sql + f"({codec.marks(batch)})", batch):
                    found[row[0]] = _decode_entry(row)
        return found

    def _iter_entries(self, columns: str, job: str | None, run_date: str | None) -> Iterator[Entry]:
        where = ["job = ?"] * (job is not None) + ["run_date = ?"] * (run_date is not None)
        args = [a for a in (job, run_date) if a is not None]
        clause = "".join(f" AND {w}" for w in where)
        sql = f"SELECT {columns} FROM adjustments WHERE key > ?{clause} ORDER BY key LIMIT {_PAGE}"
        after = ""
        while True:
            with self._tx("read entries") as conn:
                page = [_decode_entry(row) for row in conn.execute(sql, (after, *args))]
            yield from page
            if len(page) < _PAGE:
                return
            after = page[-1].key

    def counts(self, job: str, run_date: str | None = None) -> dict[str, int]:
        """State -> number of the job's adjustments (of one run date); every state is present."""
        sql = "SELECT state, COUNT(*) FROM adjustments WHERE job = ?"
        args: tuple[str, ...] = (job,)
        if run_date is not None:
            sql, args = sql + " AND run_date = ?", (job, run_date)
        with self._tx("count entries") as conn:
            found = {str(s): int(n) for s, n in conn.execute(sql + " GROUP BY state", args)}
        return {state: found.get(state, 0) for state in STATES}

    def record_intent(self, entry: Entry) -> None:
        """Write the adjustment's intent as PENDING; durable when this returns.

        Refused with JournalError: a state other than PENDING; an adjustment that already
        SUCCEEDED; a generation lower than the store's; the store's generation with another key
        or other parameters. ``attempts`` never goes down: the higher count is kept."""
        self._intent("adjustments", entry, schema.ENTRY_COLUMNS, entry.adjustment_id)

    def record_found(self, entry: Entry) -> None:
        """Record an adjustment found done in Stripe's books (by the guard) as SUCCEEDED,
        unless the store already knows it succeeded."""
        if entry.state != SUCCEEDED:
            raise JournalError(f"a found adjustment must be {SUCCEEDED} ({entry.key})")
        values = codec.encode(entry, schema.ENTRY_COLUMNS)
        with self._tx(f"record adjustment {entry.adjustment_id} found in Stripe", write=True) as c:
            old = c.execute("SELECT state FROM adjustments WHERE key = ?", (entry.key,)).fetchone()
            if old is not None and old[0] == SUCCEEDED:
                return
            c.execute(codec.upsert("adjustments", schema.ENTRY_COLUMNS, ("key",)), values)
            self._event(c, "adjustments", entry.key, "found", {"run_id": entry.run_id})

    def record_success(
        self,
        key: str,
        *,
        run_id: str,
        transfer_id: str,
        payment_id: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int = 0,
        wait: bool = True,
    ) -> None:
        """Mark the adjustment SUCCEEDED; recording the same ids again does nothing."""
        ids = {"transfer_id": transfer_id, "payment_id": payment_id}
        self._success("adjustments", key, ids, run_id, request_id, completed_at, attempts, wait)

    def record_failure(
        self,
        key: str,
        *,
        run_id: str,
        error_code: str,
        error_message: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int = 0,
        wait: bool = True,
    ) -> None:
        """Mark the adjustment FAILED (refused for good, no money moved)."""
        error = (error_code, error_message, request_id)
        self._failure("adjustments", key, run_id, error, completed_at, attempts, wait)

    def record_unknown(
        self,
        key: str,
        *,
        run_id: str,
        error_code: str,
        error_message: str,
        request_id: str | None,
        attempts: int = 0,
        wait: bool = True,
    ) -> None:
        """Note the last error of an adjustment whose outcome is still unknown (stays PENDING)."""
        error = (error_code, error_message, request_id)
        self._unknown("adjustments", key, run_id, error, attempts, wait)

    # --- what the guard saw ----------------------------------------------------------------

    def high_water(self, listing: str) -> int | None:
        with self._tx("read a listing mark") as conn:
            found = conn.execute(
                "SELECT high_water FROM listings WHERE name = ?", (listing,)
            ).fetchone()
        return None if found is None else int(found[0])

    def record_listing(
        self, listing: str, objects: Iterable[Seen], high_water: int, listed_at: dt.datetime
    ) -> None:
        """Keep what one complete listing found, and move its mark on (never back)."""
        rows = [list(astuple(o)) for o in objects]
        with self._tx(f"record the listing {listing}", write=True, durable=False) as conn:
            if rows:
                conn.executemany(codec.upsert("seen", schema.SEEN_COLUMNS, ("object_id",)), rows)
            conn.execute(
                "INSERT INTO listings (name, high_water, listed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET high_water = CASE WHEN excluded.high_water"
                " > listings.high_water THEN excluded.high_water ELSE listings.high_water END,"
                " listed_at = excluded.listed_at",
                (listing, high_water, codec.ts(listed_at, "listed_at")),
            )

    def seen(self, keys: Iterable[str]) -> dict[str, list[Seen]]:
        sql = f"SELECT {codec.cols(schema.SEEN_COLUMNS)} FROM seen WHERE key IN "
        found: dict[str, list[Seen]] = {}
        with self._tx("read what was seen in Stripe") as conn:
            for batch in codec.batches(keys):
                for row in conn.execute(sql + f"({codec.marks(batch)})", batch):
                    found.setdefault(str(row[1]), []).append(Seen(*row))
        return found

    def seen_bare(self, bares: Iterable[str]) -> dict[str, list[Seen]]:
        """What was seen in Stripe of each id, whatever its ``id_prefix`` (by the canonical id
        without a prefix)."""
        sql = f"SELECT {codec.cols(schema.SEEN_COLUMNS)} FROM seen WHERE bare IN "
        found: dict[str, list[Seen]] = {}
        with self._tx("read what was seen in Stripe") as conn:
            for batch in codec.batches(bares):
                for row in conn.execute(sql + f"({codec.marks(batch)})", batch):
                    seen = Seen(*row)
                    found.setdefault(seen.bare, []).append(seen)
        return found

    def allowed_prefix(self, job: str) -> str | None:
        """The ``id_prefix`` a run of ``job`` was allowed to change to (--allow-prefix-change)."""
        with self._tx("read the allowed id prefix") as conn:
            row = conn.execute(
                "SELECT value FROM meta WHERE key = ?", (f"allowed_prefix:{job}",)
            ).fetchone()
        return None if row is None else str(row[0])

    def allow_prefix(self, job: str, prefix: str) -> None:
        """Remember that ``job``'s change to ``prefix`` was allowed: later runs need no flag."""
        with self._tx("record the allowed id prefix", write=True) as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (f"allowed_prefix:{job}", prefix),
            )

    def legacy_groups(self) -> list[str]:
        with self._tx("read the version-1 job names") as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'legacy_groups'").fetchone()
        return [str(g) for g in json.loads(row[0])] if row else []

    # --- account checks --------------------------------------------------------------------

    def account_records(
        self, accounts: Iterable[str], newer_than: dt.datetime
    ) -> dict[str, AccountRecord]:
        limit = codec.ts(newer_than, "newer_than")
        sql = (
            f"SELECT {codec.cols(schema.ACCOUNT_COLUMNS)} FROM account_checks WHERE checked_at > ?"
        )
        found: dict[str, AccountRecord] = {}
        with self._tx("read account checks") as conn:
            for batch in codec.batches(accounts):
                query = sql + f" AND account IN ({codec.marks(batch)})"
                for row in conn.execute(query, (limit, *batch)):
                    found[str(row[0])] = _decode_account(row)
        return found

    # --- every run's files -----------------------------------------------------------------

    def record_accounts(self, records: Iterable[AccountRecord]) -> None:
        rows = [codec.encode(r, schema.ACCOUNT_COLUMNS) for r in records]
        if not rows:
            return
        with self._tx("record account checks", write=True, durable=False) as conn:
            conn.executemany(
                codec.upsert("account_checks", schema.ACCOUNT_COLUMNS, ("account",)), rows
            )
