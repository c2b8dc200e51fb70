"""What happened to each ledger row in a run: the vocabulary shared by the executor, the results
file, the summary, the logs and the report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SUCCEEDED = "succeeded"  # the debit exists; transfer_id and payment_id are set
FAILED = "failed"  # Stripe refused it for good; no money moved
INVALID = "invalid"  # a validation or pre-flight problem; not sent
SKIPPED = "skipped"  # not sent because the run stopped it (abort, a limit, a dry run, a stop)
UNKNOWN = "unknown"  # sent, outcome not known yet; a re-run resolves it
STATUSES = (SUCCEEDED, FAILED, INVALID, SKIPPED, UNKNOWN)


@dataclass(slots=True)
class RowOutcome:
    """The outcome of one ledger row, as the results file reports it."""

    status: str
    transfer_id: str | None = None
    payment_id: str | None = None
    idempotency_key: str | None = None
    request_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 0
    completed_at: dt.datetime | None = None
