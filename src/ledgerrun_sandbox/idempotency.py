"""Idempotency keys, as Stripe v1 keeps them.

A key lives in a *scope* (the platform, or one ``Stripe-Account``) and remembers the request
that first used it (method, path, decoded params) and, once that request has executed, its
answer. Within 24 hours of first use (sandbox clock):

* same key, same request, finished   -> the saved answer is replayed, nothing runs again;
* same key, same request, in flight  -> 409 ``idempotency_key_in_use`` (retriable);
* same key, different request        -> 400 ``idempotency_error``.

After 24 hours the key is forgotten and a request with it runs as new. Requests that fail
before executing (validation, auth, injected faults) release their key, so nothing is saved.

The store is not locked by itself: :class:`~ledgerrun_sandbox.state.SandboxState` calls it
under the state lock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from ledgerrun_sandbox.rules import IDEMPOTENCY_KEY_MAX_CHARS, IDEMPOTENCY_KEY_TTL_HOURS

KEY_TTL_S = IDEMPOTENCY_KEY_TTL_HOURS * 60 * 60
MAX_KEY_LENGTH = IDEMPOTENCY_KEY_MAX_CHARS


@dataclass(frozen=True)
class SavedAnswer:
    status: int
    payload: dict[str, Any]
    request_id: str


class Outcome(enum.Enum):
    NEW = "new"
    REPLAY = "replay"
    IN_USE = "in_use"
    MISMATCH = "mismatch"


@dataclass
class _Entry:
    fingerprint: tuple[str, str, dict[str, Any]]
    first_used: float
    answer: SavedAnswer | None = None


class IdempotencyStore:
    def __init__(self, ttl_s: float = KEY_TTL_S) -> None:
        self._ttl_s = ttl_s
        # Insertion order is first-use order, so expired keys sit at the front.
        self._entries: dict[tuple[str, str], _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def reserve(
        self, scope: str, key: str, fingerprint: tuple[str, str, dict[str, Any]], now: float
    ) -> tuple[Outcome, SavedAnswer | None]:
        """Claim ``key`` for a request about to execute, or say why it cannot run."""
        self._forget_expired(now)
        slot = (scope, key)
        entry = self._entries.get(slot)
        if entry is not None and now - entry.first_used >= self._ttl_s:
            del self._entries[slot]
            entry = None
        if entry is None:
            self._entries[slot] = _Entry(fingerprint=fingerprint, first_used=now)
            return Outcome.NEW, None
        if entry.fingerprint != fingerprint:
            return Outcome.MISMATCH, None
        if entry.answer is None:
            return Outcome.IN_USE, None
        return Outcome.REPLAY, entry.answer

    def save(self, scope: str, key: str, answer: SavedAnswer) -> None:
        """Record the answer of a request that executed under ``key``."""
        entry = self._entries.get((scope, key))
        if entry is not None:
            entry.answer = answer

    def release(self, scope: str, key: str) -> None:
        """Forget a claimed key whose request never executed."""
        entry = self._entries.get((scope, key))
        if entry is not None and entry.answer is None:
            del self._entries[(scope, key)]

    def _forget_expired(self, now: float) -> None:
        while self._entries:
            slot, entry = next(iter(self._entries.items()))
            if now - entry.first_used < self._ttl_s:
                return
            del self._entries[slot]
