"""Names that make a debit traceable and exactly-once: idempotency keys, transfer group, metadata.

The idempotency key depends only on the job, the adjustment id and the attempt generation, never on
row order, file name or time, so the same adjustment sends the same key on every run until a
definitive failure moves the generation on.
"""

from __future__ import annotations

import hashlib
import re

MAX_KEY_CHARS = 255
PREFIX = "ledgerrun"
META_JOB = "ledgerrun_job"
META_ADJUSTMENT = "ledgerrun_adjustment_id"
# Characters that travel safely in an HTTP header and read well in Stripe's dashboard.
_PLAIN = re.compile(r"[A-Za-z0-9._~\-/+=@]+")


def idempotency_key(job: str, adjustment_id: str, generation: int) -> str:
    """``ledgerrun:<job>:<generation>:<adjustment_id>``, or a SHA-256 form for long or exotic ids.

    The job name cannot contain ':', so the plain form is unambiguous. Ids that would push the key
    past 255 characters, or that hold characters unsafe in a header, are hashed instead.
    """
    if generation < 0:
        raise ValueError("generation must be >= 0")
    plain = f"{PREFIX}:{job}:{generation}:{adjustment_id}"
    if len(plain) <= MAX_KEY_CHARS and _PLAIN.fullmatch(adjustment_id):
        return plain
    digest = hashlib.sha256(adjustment_id.encode("utf-8")).hexdigest()
    return f"{PREFIX}:{job}:{generation}:sha256:{digest}"


def transfer_group(job: str) -> str:
    """Every debit of a job carries the job's name as its transfer group."""
    return job


def debit_metadata(job: str, adjustment_id: str, extra: dict[str, str]) -> dict[str, str]:
    """The row's own metadata (empty values dropped) plus ledgerrun's two keys."""
    metadata = {key: value for key, value in extra.items() if value != ""}
    metadata[META_JOB] = job
    metadata[META_ADJUSTMENT] = adjustment_id
    return metadata
