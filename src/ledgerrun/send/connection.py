"""A run's connection to Stripe, when it needs one: a night whose every row the store already
knows as done needs nothing from Stripe, and exits 0 even while Stripe cannot be reached."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping

from ledgerrun.clock import Clock
from ledgerrun.errors import ConfigError
from ledgerrun.job import Job
from ledgerrun.send.prepare import Prepared
from ledgerrun.store.model import Journal
from ledgerrun.stripe.client import Listener
from ledgerrun.stripe.session import Session, api_key, connect, mode_of


def nothing_to_send(prepared: Prepared) -> bool:
    """Whether the store already knows every row of a valid ledger as done: then the run needs
    nothing from Stripe (a night run again after it finished exits 0 even while Stripe is down)."""
    return prepared.validation.ok and all(prepared.done())  # the guard has found nothing yet


def api_version(job: Job, store: Journal) -> str:
    """The Stripe API version the run sends (``[stripe] api_version``, else the one the installed
    SDK pins); ConfigError when the SDK's version changed since the store's last run and the job
    does not name one: a new version can change what Stripe's answers mean, so moving to it is a
    decision, never a side effect of an upgrade."""
    from ledgerrun.stripe.sdk import pinned_version

    pinned = pinned_version()
    if job.stripe.api_version is not None:
        return job.stripe.api_version
    last = store.last_api_version()
    if last is not None and last != pinned:
        raise ConfigError(
            f"the installed stripe library now sends Stripe API version {pinned}, but this "
            f"store's runs so far used {last}. A new version can change what Stripe's answers "
            "mean, so it is never taken silently: name one in the job's [stripe] section, "
            f'api_version = "{last}" to keep it, or api_version = "{pinned}" to move to it '
            "(after reading Stripe's changelog)"
        )
    return pinned


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
