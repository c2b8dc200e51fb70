"""A run's connection to Stripe, when it needs one: a night whose every row the store already
knows as done needs nothing from Stripe, and exits 0 even while Stripe cannot be reached."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping

from ledgerrun.clock import Clock
from ledgerrun.job import Job
from ledgerrun.send.prepare import Prepared
from ledgerrun.store.model import SUCCEEDED
from ledgerrun.stripe.client import Listener
from ledgerrun.stripe.session import Session, api_key, connect, mode_of


def nothing_to_send(prepared: Prepared) -> bool:
    """Whether the store already knows every row of a valid ledger as done: then the run needs
    nothing from Stripe (a night run again after it finished exits 0 even while Stripe is down)."""
    if not prepared.validation.ok:
        return False
    earlier = prepared.earlier
    return all(
        (e := earlier.get(key)) is not None and e.state == SUCCEEDED for key in prepared.keys
    )


@contextlib.contextmanager
def connected(
    job: Job,
    env: Mapping[str, str],
    *,
    needed: bool,
    live: bool,
    clock: Clock,
    jitter: Callable[[], float],
    stop: threading.Event,
    listener: Listener,
) -> Iterator[tuple[Session | None, str]]:
    """The run's Stripe session and its mode; when nothing needs Stripe, no session at all (the
    key is still checked, and says the mode)."""
    if not needed:
        key = api_key(job, env, live=live)
        embedded = job.stripe.sandbox is not None and not job.stripe.api_base
        yield None, str(mode_of(key, job.stripe.api_base, embedded))
        return
    with connect(
        job, env, live=live, clock=clock, jitter=jitter, stop=stop, listener=listener
    ) as session:
        yield session, str(session.mode)
