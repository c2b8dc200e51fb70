"""Names that make a money movement exactly-once and traceable: idempotency keys, the transfer
group, and ledgerrun's metadata.

The idempotency key depends only on the adjustment's canonical id (which includes the job's
``id_prefix``), the operation and the attempt generation: never on the job name, row order, file
name or time. So the same adjustment sends the same key from any job, any ledger file and any
host, until a definitive failure moves the generation on.

Every object carries the platform-wide transfer group and metadata naming the job, the id as
written, the run date (and the id prefix, when the job has one, so the canonical id can be
rebuilt from Stripe's books alone). Reconcile and the Dashboard tell jobs and nights apart by it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from ledgerrun.ingest.identity import canonical
from ledgerrun.metadata_keys import (
    META_ACCOUNT,
    META_ADJUSTMENT,
    META_CONSENT,
    META_JOB,
    META_PREFIX,
    META_REASON,
    META_REVERSAL,
    META_RUN_DATE,
)
from ledgerrun.stripe import facts

__all__ = [
    "META_ACCOUNT",
    "META_ADJUSTMENT",
    "META_CONSENT",
    "META_JOB",
    "META_PREFIX",
    "META_REASON",
    "META_REVERSAL",
    "META_RUN_DATE",
    "idempotency_key",
    "key_from_metadata",
    "metadata",
]

KEY_PREFIX = "ledgerrun.v2"
OPERATIONS = ("debit", "credit", "reversal", "refund")
# Characters that travel safely in an HTTP header and read well in Stripe's dashboard.
_PLAIN = re.compile(r"[a-z0-9._~\-/+=@:]+")


def idempotency_key(operation: str, key: str, generation: int) -> str:
    """``ledgerrun.v2:<operation>:<generation>:<canonical id>``, or a SHA-256 form for long or
    exotic ids. Version 1's keys (``ledgerrun:<job>:...``) can never collide with these."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    if generation < 0:
        raise ValueError("generation must be >= 0")
    plain = f"{KEY_PREFIX}:{operation}:{generation}:{key}"
    if len(plain) <= facts.IDEMPOTENCY_KEY_MAX_CHARS and _PLAIN.fullmatch(key):
        return plain
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{KEY_PREFIX}:{operation}:{generation}:sha256:{digest}"


def metadata(
    *,
    job: str,
    adjustment_id: str,
    account: str,
    run_date: str,
    id_prefix: str = "",
    consent: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The row's own metadata (empty values dropped) plus ledgerrun's keys, each of them one of
    :data:`ledgerrun.metadata_keys.ON_MOVEMENTS` (which counts the room they take)."""
    out = {k: v for k, v in (extra or {}).items() if v != ""}
    out[META_JOB] = job
    out[META_ADJUSTMENT] = adjustment_id[: facts.METADATA_VALUE_MAX_CHARS]
    out[META_ACCOUNT] = account  # a debit by charge names its account nowhere else Stripe keeps
    out[META_RUN_DATE] = run_date
    if id_prefix:
        out[META_PREFIX] = id_prefix
    if consent:
        out[META_CONSENT] = consent[: facts.METADATA_VALUE_MAX_CHARS]
    return out


def key_from_metadata(meta: Mapping[str, str]) -> str | None:
    """The canonical id an object's metadata names, or None when it is not ledgerrun's."""
    written = meta.get(META_ADJUSTMENT)
    if not written:
        return None
    return canonical(written, meta.get(META_PREFIX, ""))
