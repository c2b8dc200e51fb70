"""The Stripe client every command uses: each request is paced, retried and watched by one
object, by construction.

:class:`Client` wraps the :class:`~ledgerrun.stripe.gateway.Gateway` (one HTTP request per call)
with the command's :class:`~ledgerrun.stripe.pacing.Pacer` (Stripe's limits, per endpoint and
overall), retry policy and circuit breaker. Each method names its endpoint as Stripe counts it
(``POST /v1/transfers``). Nothing else in ledgerrun calls the gateway, so no request can skip
the rate limit or the retries. :meth:`Client.call` is the only retry loop.

What a caller gets back is the answer, or the last error as the gateway classified it, rebuilt
by the loop to say how many requests were sent (:meth:`~ledgerrun.errors.StripeError.after`):
a :class:`~ledgerrun.errors.NotExecutedError` (nothing was executed:
rate limited, no connection, the breaker is open or the command is stopping), a
:class:`~ledgerrun.errors.MaybeExecutedError` whose retries ran out, an
:class:`~ledgerrun.errors.UnknownOutcomeError`, or a :class:`~ledgerrun.errors.RefusedError`.
A 401 raises :class:`~ledgerrun.errors.StripeAuthError` and stops every later request too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ledgerrun.clock import Clock
from ledgerrun.errors import (
    KeyInUseError,
    NotExecutedError,
    RateLimitedError,
    RetriableError,
    StripeAuthError,
    StripeError,
)
from ledgerrun.stripe.gateway import Gateway
from ledgerrun.stripe.pacing import Pacer
from ledgerrun.stripe.policy import Breaker, Policy, backoff
from ledgerrun.stripe.shapes import Account, Movement, Page, Platform, Refund, Reversal
from ledgerrun.vocab import Method

T = TypeVar("T")


class StoppedError(NotExecutedError):
    """Not sent: the command is stopping (a signal, or the breaker opened)."""


@dataclass
class SentCount:
    """Requests actually sent for one purpose (the store's attempt counts)."""

    sent: int = 0


@dataclass
class Listener:
    """Hooks the command may set to hear about the breaker and retries (for logs)."""

    breaker_opened: Callable[[str], None] = lambda reason: None
    retrying: Callable[[StripeError, float], None] = lambda error, wait: None


class Client:
    def __init__(
        self,
        gateway: Gateway,
        *,
        pacer: Pacer,
        clock: Clock,
        jitter: Callable[[], float],
        policy: Policy | None = None,
        stop: threading.Event | None = None,
        listener: Listener | None = None,
    ) -> None:
        self.gateway = gateway
        self.pacer = pacer
        self.clock = clock
        self.policy = policy or Policy()
        self.stop = stop or threading.Event()
        self.breaker = Breaker(self.policy.breaker_threshold)
        self.listener = listener or Listener()
        self.requests = 0  # sent by this client, all purposes
        self._jitter = jitter
        self._lock = threading.Lock()
        self._refused: StripeAuthError | None = None

    # --- the one retry loop ----------------------------------------------------------------

    def call(self, endpoint: str, request: Callable[[], T], counter: SentCount | None = None) -> T:
        """Send ``request`` (to ``endpoint``, as Stripe names it for its rate limits) until it
        succeeds or the policy says stop (see the module doc)."""
        attempt = 0
        uncertain = False  # an earlier attempt may have executed
        while True:
            self._may_send(uncertain)
            attempt += 1
            self.pacer.acquire(endpoint)
            self._may_send(uncertain)  # the wait for a token may have outlived the command
            with self._lock:
                self.requests += 1
            if counter is not None:
                counter.sent += 1
            try:
                answer = request()
            except StripeAuthError as exc:
                self._refused = exc
                raise
            except RetriableError as exc:
                if isinstance(exc, RateLimitedError):
                    self.pacer.throttled(endpoint)
                else:
                    self.pacer.answered(endpoint)
                if not isinstance(exc, NotExecutedError):
                    uncertain = True
                if not isinstance(exc, KeyInUseError) and self.breaker.failure(exc.code):
                    self.listener.breaker_opened(exc.code)  # a 409 is progress, not an outage
                if (
                    attempt >= self.policy.max_attempts
                    or self.stop.is_set()
                    or self.breaker.is_open
                ):
                    raise exc.after(attempt, uncertain=uncertain) from exc
                wait = backoff(attempt, self.policy, self._draw, exc.retry_after_s)
                self.listener.retrying(exc, wait)
                self._sleep(wait)
                continue
            except StripeError as exc:
                self.breaker.success()  # Stripe answered, and definitively
                self.pacer.answered(endpoint)
                raise exc.after(attempt) from exc
            self.breaker.success()
            self.pacer.answered(endpoint)
            return answer

    def _may_send(self, uncertain: bool) -> None:
        if self._refused is not None:
            raise StripeAuthError(str(self._refused))
        if self.breaker.is_open:
            raise StoppedError(
                f"not sent: Stripe stopped answering ({self.breaker.reason})",
                code="stripe_unavailable",
                uncertain=uncertain,
            )
        if self.stop.is_set():
            raise StoppedError(
                "not sent: the command is stopping", code="stopped", uncertain=uncertain
            )

    def _sleep(self, seconds: float) -> None:
        """Sleep between retries, waking early to give up when the command stops."""
        deadline = self.clock.monotonic() + seconds
        while True:
            left = deadline - self.clock.monotonic()
            if left <= 0 or self.stop.is_set() or self.breaker.is_open:
                return
            self.clock.sleep(min(left, 0.25))

    def _draw(self) -> float:
        with self._lock:  # random.Random is not safe to share between threads
            return self._jitter()

    def close(self) -> None:
        self.gateway.close()

    # --- reading ----------------------------------------------------------------------------

    def platform(self) -> Platform:
        return self.call("GET /v1/account", self.gateway.platform)

    def account(self, account_id: str) -> Account:
        return self.call("GET /v1/accounts/{id}", lambda: self.gateway.account(account_id))

    def available(self, account_id: str | None) -> dict[str, int]:
        """Available balance per currency: a connected account's, or the platform's (None)."""
        return self.call("GET /v1/balance", lambda: self.gateway.available(account_id))

    def transfers(
        self, account: str | None, *, group: str | None, created_gte: int
    ) -> Iterator[Movement]:
        """Every transfer, newest first, made by ``account`` (its debits) or by the platform
        (``None``: credits), in ``group`` when given, created at or after ``created_gte``."""
        return self._pages(
            "GET /v1/transfers",
            lambda after: self.gateway.list_transfers(
                account, group=group, created_gte=created_gte, after=after
            ),
        )

    def connected_accounts(self) -> Iterator[str]:
        """The ids of every connected account of the platform, a page of 100 at a time."""
        return self._pages("GET /v1/accounts", self.gateway.list_accounts)

    def search_charges(self, query: str) -> Iterator[Movement]:
        """The platform's debits by charge that a search ``query`` finds, newest first. Search
        results lag new charges by up to a minute (Stripe: longer during an outage)."""
        return self._pages(
            "GET /v1/charges/search", lambda page: self.gateway.search_charges(query, page)
        )

    def reversals(self, transfer_id: str, account: str | None) -> Iterator[Reversal]:
        return self._pages(
            "GET /v1/transfers/{id}/reversals",
            lambda after: self.gateway.list_reversals(transfer_id, account, after),
        )

    def refunds(self, charge: str) -> Iterator[Refund]:
        """Every refund of the platform's payment ``charge``, newest first."""
        return self._pages(
            "GET /v1/refunds", lambda after: self.gateway.list_refunds(charge, after)
        )

    def refund_of(self, refund_id: str) -> Refund:
        return self.call("GET /v1/refunds/{id}", lambda: self.gateway.get_refund(refund_id))

    def transfer(self, transfer_id: str, account: str | None) -> Movement:
        return self.call(
            "GET /v1/transfers/{id}", lambda: self.gateway.get_transfer(transfer_id, account)
        )

    def charge(self, payment_id: str) -> Movement:
        return self.call("GET /v1/charges/{id}", lambda: self.gateway.get_charge(payment_id))

    def _pages(self, endpoint: str, fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
        after: str | None = None
        while True:
            page = self.call(endpoint, lambda after=after: fetch(after))  # type: ignore[misc]
            yield from page.items
            if not page.has_more or page.last_id is None:
                return
            after = page.last_id

    # --- writing ----------------------------------------------------------------------------

    def debit(
        self,
        method: str,
        account: str,
        request: Mapping[str, Any],
        key: str,
        counter: SentCount | None = None,
    ) -> Movement:
        endpoint = "POST /v1/charges" if method == Method.CHARGE else "POST /v1/transfers"
        return self.call(
            endpoint, lambda: self.gateway.debit(method, account, request, key), counter
        )

    def credit(
        self, request: Mapping[str, Any], key: str, counter: SentCount | None = None
    ) -> Movement:
        return self.call("POST /v1/transfers", lambda: self.gateway.credit(request, key), counter)

    def reverse(
        self,
        transfer_id: str,
        account: str | None,
        request: Mapping[str, Any],
        key: str,
        counter: SentCount | None = None,
    ) -> Reversal:
        return self.call(
            "POST /v1/transfers/{id}/reversals",
            lambda: self.gateway.reverse(transfer_id, account, request, key),
            counter,
        )

    def refund(
        self, request: Mapping[str, Any], key: str, counter: SentCount | None = None
    ) -> Refund:
        return self.call("POST /v1/refunds", lambda: self.gateway.refund(request, key), counter)
