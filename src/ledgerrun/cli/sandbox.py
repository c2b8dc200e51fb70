"""``ledgerrun sandbox``: serve the local Stripe API until interrupted."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import NoReturn

import click

from ledgerrun.cli._common import configure_logging, json_line, log_format_option, output, say


@click.command()
@click.option(
    "--accounts",
    "accounts_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Seed file (JSON): the platform and its connected accounts, with their countries, "
    "default currencies, opening balances in minor units, access (granted or revoked), "
    "negative_balances and losses_payments; api_keys, the keys to accept.",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help="A test-mode key to accept besides the seed's api_keys (repeatable). With no key at "
    "all the sandbox does not start: Stripe accepts only the keys it issued.",
)
@click.option(
    "--limits",
    type=click.Choice(["test", "live", "off"]),
    default="test",
    show_default=True,
    help="Stripe's rate limits to enforce: test mode (25 requests/s for the account), live mode "
    "(100/s), each endpoint 25/s (search 20/s); beyond them a 429 rate_limit. off: none.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on. Keep the loopback default unless you know why not.",
)
@click.option(
    "--port",
    default=12111,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one (the first output line tells which).",
)
@click.option(
    "--latency-ms",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Average delay added to every API request, with 0.5x-1.5x jitter, to rehearse "
    "against a slow Stripe.",
)
@click.option(
    "--error-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Fraction of API requests answered 500 without doing anything (see --error-mode).",
)
@click.option(
    "--error-mode",
    type=click.Choice(["saved", "retryable"]),
    default="saved",
    show_default=True,
    help="saved: as most of Stripe's 500s, a write's 500 is saved under its idempotency key "
    "(a retry with the key gets it again) and says Stripe-Should-Retry: false. retryable: "
    "nothing saved, Stripe-Should-Retry: true.",
)
@click.option(
    "--lock-timeout-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Fraction of POSTs answered 429 lock_timeout before doing anything (safe to retry).",
)
@click.option(
    "--drop-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Fraction of successful writes (debits, credits, reversals) that move the money, then "
    "hang up without an answer: the case only an idempotency key can resolve.",
)
@click.option(
    "--max-rps",
    default=None,
    type=click.FloatRange(min=0, min_open=True),
    help="A further cap on API requests per second (a fault); the excess is answered 429 "
    "rate_limit. No cap by default.",
)
@click.option(
    "--refund-settle-s",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Refunds stay pending this many seconds of the sandbox clock before they succeed "
    "(POST /_sandbox/clock moves it); 0: they succeed at once.",
)
@click.option(
    "--search-lag-s",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="A new charge shows in GET /v1/charges/search only this many seconds later, as on "
    "Stripe (usually under a minute).",
)
@click.option(
    "--seed",
    "rng_seed",
    default=0,
    show_default=True,
    type=int,
    help="Seed of the random fault choices: the same seed and the same requests give the "
    "same faults.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every request to stderr.")
@log_format_option
def sandbox(
    accounts_file: str,
    api_keys: tuple[str, ...],
    limits: str,
    host: str,
    port: int,
    latency_ms: float,
    error_rate: float,
    error_mode: str,
    lock_timeout_rate: float,
    drop_rate: float,
    max_rps: float | None,
    refund_settle_s: float,
    search_lag_s: float,
    rng_seed: int,
    verbose: bool,
) -> None:
    """Run a local Stripe API to rehearse a ledger of account debits, and for tests.

    It keeps balances, transfers, payments, reversals and refunds in memory, applies Stripe's
    rules for debiting and crediting Connect accounts (who covers the account's losses, region,
    currency, available balance, the debit maximum, the charge minimum), its rate limits, API
    versions and idempotency keys, and can inject the faults a real run meets. Point a run at
    the printed URL with a key the seed lists in api_keys or --api-key gives. State is lost
    when it stops; GET /_sandbox/state shows all of it.

    Stops cleanly on Ctrl-C or SIGTERM.
    """
    from ledgerrun_sandbox import Faults, KeysError, SandboxServer, SeedError

    verbose = verbose or output().verbose > 0  # `ledgerrun -v sandbox` too
    configure_logging(logging.INFO if verbose else logging.WARNING, "%(asctime)s %(message)s")
    try:
        faults = Faults(
            latency_ms=latency_ms,
            error_rate=error_rate,
            error_mode=error_mode,
            lock_timeout_rate=lock_timeout_rate,
            drop_rate=drop_rate,
            max_rps=max_rps,
        )
        server = SandboxServer(
            accounts_file,
            host=host,
            port=port,
            faults=faults,
            seed_rng=rng_seed,
            verbose=verbose,
            api_keys=api_keys,
            limits=limits,
            refund_settle_s=refund_settle_s,
            search_lag_s=search_lag_s,
        )
        server.start()
    except KeysError as exc:
        _fail(f"cannot start the sandbox: {exc}")
    except SeedError as exc:
        _fail(f"bad seed file: {exc}")
    except ValueError as exc:
        _fail(f"cannot start the sandbox: {exc}")
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")

    stopping = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    accounts = len(server.state.accounts)
    say(  # before the address: a client that waits for it may send a request at once
        f"{accounts} connected account(s) under platform {server.state.platform.id}; "
        f"rate limits {limits}; Ctrl-C to stop",
        level="info",
    )
    click.echo(f"listening on {server.url}")
    sys.stdout.flush()
    while not stopping.wait(0.5):
        pass
    server.stop()


def _fail(message: str) -> NoReturn:
    if output().log_format == "json":
        json_line("error", level="error", message=message, exit_code=2)
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(2)
