"""A connection to Stripe for one command: the key, the API base (or an embedded sandbox), the
gateway and the caller that paces and retries every request.

The API key is read from the environment variable the job names, and only there. It is never
printed, logged or written; messages show at most its kind and last four characters. A live key
is refused unless the command was given ``--live``.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from ledgerrun.clock import Clock, SystemClock
from ledgerrun.errors import ConfigError, StripeFatalError
from ledgerrun.job import Job
from ledgerrun.stripe.client import Caller, GaveUp
from ledgerrun.stripe.gateway import LIVE_PREFIXES, Gateway, Platform, redact
from ledgerrun.stripe.policy import Policy
from ledgerrun.stripe.ratelimit import TokenBucket


def api_key(job: Job, env: Mapping[str, str], *, live: bool) -> str:
    name = job.stripe.api_key_env
    key = env.get(name, "").strip()
    if not key:
        raise ConfigError(
            f"no Stripe API key: set the environment variable {name} (the job's "
            "stripe.api_key_env); keys are never read from files or options"
        )
    if key.startswith(LIVE_PREFIXES) and not live:
        raise ConfigError(
            f"{name} holds a live key ({redact(key)}); live runs move real money and need --live"
        )
    if not key.startswith(("sk_", "rk_")):
        raise ConfigError(f"{name} does not hold a Stripe secret or restricted key ({redact(key)})")
    return key


@dataclass
class Session:
    job: Job
    gateway: Gateway
    caller: Caller
    api_base: str
    platform: Platform


@contextlib.contextmanager
def connect(
    job: Job,
    env: Mapping[str, str],
    *,
    live: bool = False,
    clock: Clock | None = None,
    jitter: Callable[[], float] | None = None,
    stop: threading.Event | None = None,
) -> Iterator[Session]:
    """Open a session: start the job's embedded sandbox if it has one, then fetch the platform.

    Raises ConfigError for a missing or refused key and when Stripe cannot be reached; nothing
    has been sent at that point.
    """
    key = api_key(job, env, live=live)
    clock = clock or SystemClock()
    with _api_base(job) as base:
        gateway = Gateway(key, api_base=base, timeout_s=job.stripe.timeout_s, now=clock.now)
        bucket = TokenBucket(job.stripe.rate_limit, clock)
        policy = Policy(max_attempts=job.stripe.max_attempts)
        caller = Caller(bucket, clock, jitter or random.Random().random, policy, stop)
        where = base or "api.stripe.com"
        try:
            platform = caller.call(gateway.platform)
        except StripeFatalError as exc:
            raise ConfigError(
                f"Stripe at {where} refused the API key {redact(key)}: {exc}"
            ) from None
        except GaveUp as exc:
            raise ConfigError(f"cannot reach Stripe at {where}; nothing was sent ({exc})") from None
        yield Session(job, gateway, caller, where, platform)


@contextlib.contextmanager
def _api_base(job: Job) -> Iterator[str | None]:
    """The job's API base, or the URL of an embedded sandbox started for this command."""
    if job.stripe.api_base or job.stripe.sandbox is None:
        yield job.stripe.api_base
        return
    from ledgerrun_sandbox import SandboxServer, SeedError

    try:
        server = SandboxServer(job.stripe.sandbox, port=0)
    except (SeedError, OSError) as exc:
        raise ConfigError(f"cannot start the sandbox from {job.stripe.sandbox}: {exc}") from None
    with server:
        yield server.url
