"""The read-only commands as library calls: ``validate`` and ``plan`` prepare a job offline from
the file and the journal, or online through a Stripe session, opening the journal only to read
it. Nothing is sent and nothing is written. The command line and the Python API both call these.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from ledgerrun.job import Job
from ledgerrun.send.plan import Plan
from ledgerrun.send.prepare import Prepared, prepare
from ledgerrun.store import open_store
from ledgerrun.store.model import Journal

if TYPE_CHECKING:  # the Stripe SDK is imported only by commands that send
    from ledgerrun.stripe.session import Session


@contextlib.contextmanager
def read_store(job: Job) -> Iterator[Journal | None]:
    """The job's journal opened read-only, or None when it does not exist yet."""
    if not job.has_store():
        yield None
        return
    store = open_store(job.store_location, readonly=True)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def prepared_for(
    job: Job, *, offline: bool, live: bool, env: Mapping[str, str] | None = None
) -> Iterator[tuple[Prepared, Session | None]]:
    """Prepare the job, online unless ``offline``; the session stays open in the block. The API
    key is read from ``env`` (default: the process's environment)."""
    with read_store(job) as store:
        if offline:
            yield prepare(job, None, store=store), None
            return
        from ledgerrun.ingest.validate import blocking_problems
        from ledgerrun.send.prepare import prepare_offline, prepare_online
        from ledgerrun.stripe.session import connect

        prepared = prepare_offline(job, store)
        if blocking_problems(prepared.validation):
            yield prepared, None
            return
        with connect(job, os.environ if env is None else env, live=live) as session:
            yield prepare_online(prepared, session, store=store, writable=False), session


def validate_job(
    job: Job, *, offline: bool = False, live: bool = False, env: Mapping[str, str] | None = None
) -> Prepared:
    """``ledgerrun validate``: every problem of the ledger, and (unless ``offline``) of its
    accounts and of ids Stripe's books or the journal already hold with other values."""
    with prepared_for(job, offline=offline, live=live, env=env) as (prepared, _session):
        return prepared


def plan_job(
    job: Job, *, offline: bool = False, live: bool = False, env: Mapping[str, str] | None = None
) -> Plan:
    """``ledgerrun plan``: the validation, plus what a run would send per account, currency and
    direction (with the balances that must cover it, unless ``offline``)."""
    from ledgerrun.send.plan import build_plan, plan_online

    with prepared_for(job, offline=offline, live=live, env=env) as (prepared, session):
        return build_plan(prepared) if session is None else plan_online(prepared, session)
