"""ledgerrun's own metadata keys on the Stripe objects it makes, and the room they leave.

Every debit and credit carries ledgerrun's keys beside the ledger row's own ``metadata.KEY``
columns. Stripe allows :data:`ledgerrun.stripe.facts.METADATA_MAX_KEYS` keys on an object, so a
ledger may have at most :data:`LEDGER_MAX` metadata columns. The keys are put on each object by
:func:`ledgerrun.send.keys.metadata`; ``tests/unit/test_keys.py`` holds that function to
:data:`ON_MOVEMENTS`, so a key added there is counted here (and in every message and page that
states the room left).
"""

from __future__ import annotations

from typing import Final

from ledgerrun.stripe import facts

PREFIX: Final = "ledgerrun_"  # a ledger's own keys may not start so
META_JOB: Final = "ledgerrun_job"
META_ADJUSTMENT: Final = "ledgerrun_adjustment_id"
META_ACCOUNT: Final = "ledgerrun_account"  # the connected account the money moved from or to
META_RUN_DATE: Final = "ledgerrun_run_date"
META_PREFIX: Final = "ledgerrun_id_prefix"
META_CONSENT: Final = "ledgerrun_consent"
META_REVERSAL: Final = "ledgerrun_reversal_id"
META_REASON: Final = "ledgerrun_reason"  # why a reversal was made

ON_MOVEMENTS: Final = (
    *(META_JOB, META_ADJUSTMENT, META_ACCOUNT, META_RUN_DATE, META_PREFIX, META_CONSENT),
)
"""The keys a debit or credit may carry beside the row's own (the prefix and the consent only
where they apply: the room is kept for them on every row)."""

RESERVED: Final = len(ON_MOVEMENTS)
LEDGER_MAX: Final = facts.METADATA_MAX_KEYS - RESERVED
"""The most metadata columns a ledger may have."""
