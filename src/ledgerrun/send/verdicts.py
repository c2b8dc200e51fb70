"""What the Stripe guard's findings make of each row a run would send.

Rows the store does not know as sent, and rows pending for more than 23 hours, are looked up in
Stripe (:class:`ledgerrun.send.guard.Guard`):

* found with the same account, amount, currency and direction: done (nothing is sent);
* found only with other values (another account, say, after the row was corrected):
  ``adjustment_conflict``, never sent;
* found only as an object of this job under another ``id_prefix``, with the same values:
  ``possible_duplicate_prefix``. A changed prefix makes every old id new, so the row would be
  sent again; it is not, unless the run is told ``--allow-prefix-change`` (kept in the store:
  later runs of the job need no flag for that prefix).

A store that keeps nothing of what is found and has never swept (``plan`` and ``validate``)
does not sweep; it says so, and ``plan --sweep`` sweeps ahead of the first night.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from ledgerrun.clock import Clock
from ledgerrun.ingest.identity import canonical
from ledgerrun.send.ages import STALE_AFTER, age
from ledgerrun.send.guard import Guard, Want
from ledgerrun.send.outcomes import zipped
from ledgerrun.send.preflight import Finding
from ledgerrun.store.model import PENDING, SUCCEEDED, Entry, Seen
from ledgerrun.vocab import money_text

if TYPE_CHECKING:
    from ledgerrun.send.prepare import Prepared

PREFIX_CODE = "possible_duplicate_prefix"
NOT_SWEPT = (
    "This journal has not yet looked for ledgerrun's debits on every connected account (it "
    "does once, on its first run: one request per account, besides the ledger's); until then a "
    "row moved to another account since it was sent is only caught by the journal that sent it. "
    "`ledgerrun plan --sweep` does it now and keeps it."
)


CHUNK = 8192  # rows compared with Stripe's books at once


def ask_the_guard(
    prepared: Prepared, guard: Guard, clock: Clock, offset: dt.timedelta | None
) -> list[Finding | None]:
    """Look the rows up (see the module docstring): fills in ``prepared.found``,
    ``unguarded`` and ``conflicts``; returns the findings to flag. The rows are compared a
    chunk at a time: a night of 200,000 rows never holds a record per row at once."""
    now = clock.now()
    accounts: set[str] = set()
    oldest: dt.datetime | None = None
    for want, entry, _ in _wants(prepared, now, offset):
        accounts.add(want.account)
        if entry is not None and entry.state == PENDING:
            stamp = min(entry.attempted_at, entry.attempted_at_server)
            oldest = stamp if oldest is None else min(oldest, stamp)
    if not accounts:
        return []
    guard.refresh(accounts, reach_back_to=oldest)
    if not guard.swept and not guard.writable:
        prepared.warnings.append(NOT_SWEPT)
    found: dict[str, Seen] = {}
    conflicts: dict[str, list[Seen]] = {}
    prefixed: dict[str, Seen] = {}
    chunk: list[tuple[Want, str]] = []

    def compare() -> None:
        wants = [want for want, _ in chunk]
        unsure = [want.key for want in wants if guard.unsure(want)]
        if unsure:
            reason = "; ".join(sorted(set(guard.failed.values())))
            prepared.unguarded.update(dict.fromkeys(unsure, reason))
        verdicts = guard.verdicts(wants)
        found.update(verdicts.found)
        conflicts.update(verdicts.conflicts)
        left = {
            w: b
            for w, b in chunk
            if w.key not in verdicts.found and w.key not in verdicts.conflicts
        }
        if left:
            prefixed.update(guard.other_prefixes(left, prepared.job.name))
        chunk.clear()

    for want, _, written in _wants(prepared, now, offset):
        chunk.append((want, canonical(str(written))))
        if len(chunk) >= CHUNK:
            compare()
    if chunk:
        compare()
    prepared.found = found
    prepared.conflicts = {k: max(o, key=lambda s: s.created) for k, o in conflicts.items()}
    return [_conflicts(prepared), _prefixes(prepared, guard, prefixed)]


def _wants(
    prepared: Prepared, now: dt.datetime, offset: dt.timedelta | None
) -> Iterator[tuple[Want, Entry | None, object]]:
    """Each valid row the guard is asked about (what it would send, the store's entry of it,
    its id as written): rows not done in the store, and rows pending for over 23 hours."""
    v = prepared.validation
    rows = zip(
        prepared.keys,
        zipped(v.valid, v.adjustment_id, v.account, v.amount_minor, v.currency),
        prepared.directions,
        strict=True,
    )
    for key, (ok, written, account, amount, currency), direction in rows:
        if not ok:
            continue
        entry = prepared.earlier.get(key)
        if entry is not None and entry.state == SUCCEEDED:
            continue
        if entry is not None and entry.state == PENDING and age(entry, now, offset) < STALE_AFTER:
            continue  # resent under its own key: Stripe settles it
        yield Want(key, account, int(amount), currency, direction), entry, written


def _conflicts(prepared: Prepared) -> Finding | None:
    if not prepared.conflicts:
        return None
    v = prepared.validation
    clashes: dict[int, str] = {}
    for i, key in enumerate(prepared.keys):
        o = prepared.conflicts.get(key)
        if o is None or not v.valid[i].as_py():
            continue
        clashes[i] = (
            f"Stripe already holds {o.object_id} for this adjustment (a {o.direction} of "
            f"{money_text(o.amount, o.currency)} on {o.account}, job {o.job or '?'}, run date "
            f"{o.run_date or '?'}), with other values than this row."
        )
    return _finding(prepared, clashes, "adjustment_conflict")


def _prefixes(prepared: Prepared, guard: Guard, found: dict[str, Seen]) -> Finding | None:
    """``possible_duplicate_prefix`` on the rows whose id Stripe holds, for this job and with
    these values, under another prefix (``found``, by key); none when the run (or an earlier
    one, as the store remembers) was told the prefix change is meant."""
    job = prepared.job
    if not found:
        return None
    store = guard.store
    allowed = job.allow_prefix_change or (
        store is not None and store.allowed_prefix(job.name) == job.id_prefix
    )
    if allowed:
        if store is not None and guard.writable and job.allow_prefix_change:
            store.allow_prefix(job.name, job.id_prefix)
        return None
    prepared.warnings.append(
        f"{PREFIX_CODE}: Stripe holds {len(found):,} of these adjustments for job {job.name} "
        f"under another id_prefix than {_shown(job.id_prefix)}, with the same account, amount "
        "and currency; they are not sent. If the prefix changed on purpose and they are new, "
        "run once with --allow-prefix-change."
    )
    rows: dict[int, str] = {}
    for i, key in enumerate(prepared.keys):
        o = found.get(key)
        if o is not None:
            rows[i] = _prefix_message(o, job.id_prefix)
    return _finding(prepared, rows, PREFIX_CODE)


def _prefix_message(o: Seen, prefix: str) -> str:
    theirs = o.key[: -len(canonical(o.adjustment_id))].rstrip(":")
    return (
        f"Stripe already holds {o.object_id} for this id under id_prefix {_shown(theirs)} "
        f"(a {o.direction} of {money_text(o.amount, o.currency)} on {o.account}, run date "
        f"{o.run_date or '?'}); this job's prefix is {_shown(prefix)}, which would make it a new "
        "adjustment."
    )


def _shown(prefix: str) -> str:
    return f"'{prefix}'" if prefix else "(none)"


def _finding(prepared: Prepared, rows: dict[int, str], code: str) -> Finding | None:
    if not rows:
        return None
    v = prepared.validation
    mask = pa.array([i in rows for i in range(v.rows)], pa.bool_())
    return Finding(mask, "adjustment_id", code, v.adjustment_id, lambda value, i: rows[i])
