"""The one way the read-only commands (validate, plan) prepare a job: offline from the file and
the journal, or online through a Stripe session, opening the journal only to read it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from ledgerrun.job import Job
from ledgerrun.send.prepare import Prepared, prepare
from ledgerrun.store import open_store
from ledgerrun.store.model import Store
from ledgerrun.stripe.session import Session


@contextlib.contextmanager
def read_store(job: Job) -> Iterator[Store | None]:
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
    job: Job, *, offline: bool, live: bool
) -> Iterator[tuple[Prepared, Session | None]]:
    """Prepare the job, online unless ``offline``; the session stays open in the block."""
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
        with connect(job, os.environ, live=live) as session:
            yield prepare_online(prepared, session, store=store, writable=False), session
