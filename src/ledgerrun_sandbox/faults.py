"""Injected faults: latency, 500s, lock timeouts, a requests-per-second cap, dropped answers.

All random choices come from one ``random.Random(seed)``. Each ``/v1`` request draws exactly
four numbers, in the order it arrives, whatever faults are on and whatever the request is, so
the same seed and the same sequence of requests give the same faults.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass

FAULT_KINDS = ("latency", "error", "lock_timeout", "rate_limit", "drop")
ERROR_MODES = ("saved", "retryable")


@dataclass(frozen=True)
class Faults:
    """What can go wrong, and how often. The defaults are a perfectly healthy Stripe.

    ``latency_ms``: mean delay of every ``/v1`` request (jitter 0.5x..1.5x).
    ``error_rate``: fraction of ``/v1`` requests answered 500 ``api_error`` without executing.
    ``error_mode``: ``saved`` (the default, as most of Stripe's 500s are): a write's 500 is
    saved under its idempotency key, so a retry with that key gets the same 500 back, and every
    write's 500 says ``Stripe-Should-Retry: false``; ``retryable``: nothing is saved and the
    answer says ``Stripe-Should-Retry: true`` (a 500 before the request began executing).
    ``lock_timeout_rate``: fraction of POSTs answered 429 ``lock_timeout`` before executing.
    ``drop_rate``: fraction of successful writes (debits, credits, reversals) committed, then the
    connection closed unanswered.
    ``max_rps``: ``/v1`` requests allowed per sliding second; the excess gets 429 ``rate_limit``.
    ``writes_only``: the random faults (not the rate cap) hit POSTs only, so reads such as
    account look-ups go through (for rehearsing what happens to the debits themselves).
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    lock_timeout_rate: float = 0.0
    drop_rate: float = 0.0
    max_rps: float | None = None
    writes_only: bool = False
    error_mode: str = "saved"

    def __post_init__(self) -> None:
        if not self.latency_ms >= 0:
            raise ValueError(f"latency_ms must be >= 0, not {self.latency_ms!r}")
        for name in ("error_rate", "lock_timeout_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        if self.error_mode not in ERROR_MODES:
            raise ValueError(
                f"error_mode must be one of {', '.join(ERROR_MODES)}, not {self.error_mode!r}"
            )
        if self.max_rps is not None and not self.max_rps > 0:
            raise ValueError(f"max_rps must be > 0 (or None for no cap), not {self.max_rps!r}")


@dataclass
class FaultPlan:
    """The faults drawn for one request; the API applies those that fit the request."""

    latency_s: float = 0.0
    error: bool = False
    lock_timeout: bool = False
    drop: bool = False
    rate_limited: bool = False
    error_saved: bool = True  # an injected 500 is saved under the key (error_mode "saved")


class FaultInjector:
    def __init__(self, faults: Faults, seed: int | None = 0) -> None:
        self._faults = faults
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self.counts = dict.fromkeys(FAULT_KINDS, 0)

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, faults: Faults) -> None:
        """Change the fault settings of a running sandbox (the random sequence continues)."""
        with self._lock:
            self._faults = faults
            self._window.clear()

    def plan(self, write: bool = True) -> FaultPlan:
        """Draw this request's faults (and apply the rate cap, which is not random)."""
        with self._lock:
            f = self._faults
            u_latency, u_error, u_lock, u_drop = (self._rng.random() for _ in range(4))
            if f.writes_only and not write:
                u_latency, u_error, u_lock, u_drop = (1.0, 1.0, 1.0, 1.0)
                f = Faults(max_rps=f.max_rps, error_mode=f.error_mode)
            plan = FaultPlan(
                latency_s=f.latency_ms * (0.5 + u_latency) / 1000.0,
                error=u_error < f.error_rate,
                lock_timeout=u_lock < f.lock_timeout_rate,
                drop=u_drop < f.drop_rate,
                error_saved=f.error_mode == "saved",
            )
            if f.max_rps is not None:
                now = time.monotonic()
                while self._window and self._window[0] <= now - 1.0:
                    self._window.popleft()
                if len(self._window) >= f.max_rps:
                    plan.rate_limited = True
                else:
                    self._window.append(now)
            return plan

    def record(self, kind: str) -> None:
        """Count one fault actually applied to a request."""
        with self._lock:
            self.counts[kind] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)
