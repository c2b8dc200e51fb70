"""The read-only commands as library calls: ``validate`` and ``plan`` prepare a job offline from
the file and the journal, or online through a Stripe session, opening the journal only to read
it. Nothing is sent and nothing is written; ``plan --sweep`` alone writes, and only what the
Stripe guard finds (a store's first look at every connected account, kept so that the first
night need not). The command line and the Python API both call these.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from ledgerrun.send.prepare import prepare

if TYPE_CHECKING:  # the Stripe SDK is imported only by commands that send; the rest by those
    from ledgerrun.events import Events  # that use it (validate --offline opens no journal)
    from ledgerrun.job import Job
    from ledgerrun.send.plan import Plan
    from ledgerrun.send.prepare import Prepared
    from ledgerrun.store.model import Journal
    from ledgerrun.stripe.session import Session


@contextlib.contextmanager
def read_store(job: Job | None) -> Iterator[Journal | None]:
    """The job's journal opened read-only, or None when it does not exist yet (or no job's
    journal is wanted)."""
    if job is None or not job.has_store():
        yield None
        return
    from ledgerrun.store import open_store

    store = open_store(job.store_location, readonly=True)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def swept_store(job: Job) -> Iterator[Journal]:
    """The job's store opened to keep what the guard's sweep finds (made if it is new), with
    the job's lock held: a run of the job cannot start meanwhile."""
    from ledgerrun.send.runner import locked_store

    with locked_store(job) as store:
        yield store


@contextlib.contextmanager
def prepared_for(
    job: Job,
    *,
    offline: bool,
    live: bool,
    env: Mapping[str, str] | None = None,
    sweep: bool = False,
    events: Events | None = None,
    journal: bool = True,
) -> Iterator[tuple[Prepared, Session | None]]:
    """Prepare the job, online unless ``offline``; the session stays open in the block. The API
    key is read from ``env`` (default: the process's environment). ``sweep``: the store keeps
    what the guard finds, sweeping first if it never has (its progress told to ``events``).
    ``journal``: False prepares without the journal (offline validation)."""
    with swept_store(job) if sweep else read_store(job if journal else None) as store:
        if offline:
            yield prepare(job, None, store=store), None
            return
        from ledgerrun.events import GuardSweep
        from ledgerrun.ingest.validate import blocking_problems
        from ledgerrun.send.prepare import prepare_offline, prepare_online
        from ledgerrun.stripe.session import connect

        prepared = prepare_offline(job, store)
        if blocking_problems(prepared.validation):
            yield prepared, None
            return

        def progress(listed: int, listings: int) -> None:
            if events is not None:
                events.emit(GuardSweep(listed, listings, job.name))

        with connect(job, os.environ if env is None else env, live=live) as session:
            online = prepare_online(
                prepared, session, store=store, writable=sweep, progress=progress
            )
            yield online, session


def validate_job(
    job: Job, *, offline: bool = False, live: bool = False, env: Mapping[str, str] | None = None
) -> Prepared:
    """``ledgerrun validate``: every problem of the ledger, and (unless ``offline``) of its
    accounts and of ids Stripe's books or the journal already hold with other values. Offline
    it checks the file alone: the journal is not even opened (a million rows would otherwise be
    a million look-ups in it)."""
    opened = prepared_for(job, offline=offline, live=live, env=env, journal=not offline)
    with opened as (prepared, _session):
        return prepared


def plan_job(
    job: Job,
    *,
    offline: bool = False,
    live: bool = False,
    env: Mapping[str, str] | None = None,
    sweep: bool = False,
    events: Events | None = None,
) -> Plan:
    """``ledgerrun plan``: the validation, plus what a run would send per account, currency and
    direction (with the balances that must cover it, unless ``offline``). ``sweep``: the
    store's first look at every connected account is made now and kept."""
    from ledgerrun.send.plan import build_plan, plan_online

    opened = prepared_for(job, offline=offline, live=live, env=env, sweep=sweep, events=events)
    with opened as (prepared, session):
        return build_plan(prepared) if session is None else plan_online(prepared, session)
