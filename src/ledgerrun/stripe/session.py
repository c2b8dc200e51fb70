"""A connection to Stripe for one command: the key, the API base (or an embedded sandbox), the
client that paces and retries every request, and the platform it acts for.

The API key is read from the environment variable the job names, and only there. It is checked
for shape before any request (whitespace or non-ASCII inside is refused) and is never printed,
logged or written; messages show at most its last four characters. A live key is refused unless
the command was given ``--live``.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from ledgerrun.clock import Clock, SystemClock
from ledgerrun.errors import (
    ConfigError,
    NotExecutedError,
    RetriableError,
    StripeAuthError,
    StripeError,
    StripeUnavailableError,
)
from ledgerrun.job import Job
from ledgerrun.stripe import facts
from ledgerrun.stripe.answers import KEY_REFUSED
from ledgerrun.stripe.client import Client, Listener
from ledgerrun.stripe.pacing import Pacer
from ledgerrun.stripe.policy import Policy
from ledgerrun.stripe.sdk import SdkGateway
from ledgerrun.stripe.shapes import Platform
from ledgerrun.vocab import Mode

STRIPE_API = "api.stripe.com"


def api_key(job: Job, env: Mapping[str, str], *, live: bool) -> str:
    """The key from the job's environment variable, checked; ConfigError (exit 2) otherwise."""
    name = job.stripe.api_key_env
    raw = env.get(name, "")
    key = raw.strip()
    if not key:
        raise ConfigError(
            f"no Stripe API key: set the environment variable {name} (the job's "
            "stripe.api_key_env); keys are never read from files or options"
        )
    problem = facts.key_problem(key)
    if problem is not None:
        raise ConfigError(
            f"{name} does not hold a usable Stripe secret or restricted key: {problem}. "
            "Copy the key again from the Stripe dashboard (it is not shown here)"
        )
    if facts.is_live_key(key) and not live:
        raise ConfigError(
            f"{name} holds a live key ({facts.redact(key)}); live runs move real money and "
            "need --live"
        )
    return key


@dataclass
class Session:
    job: Job
    client: Client
    platform: Platform
    mode: Mode
    where: str  # the API base, for messages
    api_version: str = ""  # the Stripe-Version every request was sent with
    limits: str = ""  # whose rate limits the run keeps to: test, live or off
    warnings: list[str] = field(default_factory=list)  # about the set-up, for the summary


def mode_of(key: str, api_base: str | None, embedded: bool) -> Mode:
    if embedded or (api_base and STRIPE_API not in api_base):
        return Mode.SANDBOX
    return Mode.LIVE if facts.is_live_key(key) else Mode.TEST


@contextlib.contextmanager
def connect(
    job: Job,
    env: Mapping[str, str],
    *,
    live: bool = False,
    clock: Clock | None = None,
    jitter: Callable[[], float] | None = None,
    stop: threading.Event | None = None,
    listener: Listener | None = None,
    standing: bool = False,
) -> Iterator[Session]:
    """Open a session: start the job's embedded sandbox if it has one, then fetch the platform.

    ``standing``: the command reads what earlier commands left in Stripe's books (reconcile,
    reverse). An embedded sandbox has no such books (it starts empty for each command and is
    gone when it ends), so such a command is refused for it instead of reporting every earlier
    object missing.

    Raises ConfigError for a missing or malformed key, StripeAuthError when Stripe refuses it,
    and StripeUnavailableError (exit 3) when Stripe cannot be reached; nothing has been sent at
    that point. The client's connections are closed when the block ends.
    """
    key = api_key(job, env, live=live)
    clock = clock or SystemClock()
    if standing and not job.stripe.api_base and job.stripe.sandbox is not None:
        raise ConfigError(
            f"job {job.name} uses a sandbox started inside each command ([stripe] sandbox = "
            f"{job.stripe.sandbox.name}), whose books are gone when the command ends: there is "
            "nothing earlier to check or reverse. To rehearse this, start a sandbox that stays up "
            "(ledgerrun sandbox --accounts FILE --port 0) and give this command and the runs "
            "before it --api-base URL"
        )
    with _api_base(job, key) as (base, embedded):
        limits = limits_for(job, key, base, embedded)
        pacer, warnings = pacer_for(job, limits, clock)
        gateway = SdkGateway(
            key,
            api_base=base,
            timeout_s=job.stripe.timeout_s,
            pool_size=job.stripe.concurrency + 2,
            now=clock.now,
            api_version=job.stripe.api_version,
        )
        client = Client(
            gateway,
            pacer=pacer,
            clock=clock,
            jitter=jitter or random.Random().random,
            policy=Policy(
                max_attempts=job.stripe.max_attempts,
                breaker_threshold=job.stripe.breaker_after,
            ),
            stop=stop,
            listener=listener,
        )
        where = base or STRIPE_API
        try:
            try:
                platform = client.platform()
            except StripeAuthError as exc:
                said = str(exc).removeprefix(f"{KEY_REFUSED}: ")  # said once, here
                raise StripeAuthError(
                    f"Stripe at {where} refused the API key {facts.redact(key)}: {said}"
                ) from None
            except NotExecutedError as exc:
                raise StripeUnavailableError(
                    f"cannot reach Stripe at {where}; nothing was sent. Run again later ({exc})"
                ) from None
            except RetriableError as exc:
                raise StripeUnavailableError(
                    f"Stripe at {where} did not answer; nothing was sent. Run again later ({exc})"
                ) from None
            except StripeError as exc:  # refused at the door: the set-up is wrong
                raise ConfigError(
                    f"Stripe at {where} refused the first request ({exc}); nothing was sent. "
                    "Check the job's [stripe] settings (api_version, api_base)"
                ) from None
            yield Session(
                job, client, platform, mode_of(key, base, embedded), where,
                gateway.api_version, limits, warnings,
            )  # fmt: skip
        finally:
            client.close()


def limits_for(job: Job, key: str, base: str | None, embedded: bool) -> str:
    """Whose rate limits the run keeps to: the job's ``[stripe] limits``, else the key's mode.
    ``off`` only for a sandbox (one started with ``--limits off``): Stripe always limits."""
    chosen = job.stripe.limits or ("live" if facts.is_live_key(key) else "test")
    if chosen == "off" and mode_of(key, base, embedded) != Mode.SANDBOX:
        raise ConfigError(
            "'stripe.limits' = \"off\" is for a sandbox started with --limits off: Stripe limits "
            'every account ("test" or "live")'
        )
    return chosen


def pacer_for(job: Job, limits: str, clock: Clock) -> tuple[Pacer, list[str]]:
    """The run's pace: ``rate_limit = "auto"`` (the default) keeps to ``rate_share`` of Stripe's
    limits for the whole account and for each endpoint; a number is a fixed pace for the whole
    run, capped at the mode's limit (with a warning), under the same per-endpoint limits."""
    settings = job.stripe
    if limits == "off":
        return Pacer(clock, overall=settings.rate_limit), []
    ceiling = facts.global_rate_limit(limits == "live")
    share = settings.rate_share
    warnings = []
    if settings.rate_limit is None:
        overall = ceiling * share
    else:
        overall = min(settings.rate_limit, ceiling)
        if settings.rate_limit > ceiling:
            warnings.append(
                f"[stripe] rate_limit = {settings.rate_limit:g} is above Stripe's {limits}-mode "
                f"limit of {ceiling} requests a second: the run keeps to {ceiling} (leave it "
                '"auto" to keep to Stripe\'s limits)'
            )
    return Pacer(
        clock, overall=overall, endpoint=lambda name: facts.endpoint_rate_limit(name) * share
    ), warnings


@contextlib.contextmanager
def _api_base(job: Job, key: str) -> Iterator[tuple[str | None, bool]]:
    """The job's API base, or the URL of an embedded sandbox started for this command, which
    accepts the command's own key (besides any its seed lists), as Stripe would accept it."""
    if job.stripe.api_base or job.stripe.sandbox is None:
        yield job.stripe.api_base, False
        return
    from ledgerrun_sandbox import SandboxServer, SeedError

    try:
        server = SandboxServer(job.stripe.sandbox, port=0, api_keys=[key])
    except (SeedError, OSError) as exc:
        raise ConfigError(f"cannot start the sandbox from {job.stripe.sandbox}: {exc}") from None
    with server:
        yield server.url, True
