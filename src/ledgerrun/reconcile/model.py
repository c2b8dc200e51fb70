"""What reconcile reports: each discrepancy, by kind, with what to do about it; and the verdict.

:meth:`Reconciliation.to_json` is the findings as programs read them: what ``reconcile
--format json`` prints, and what its JSON log events carry (``reconcile_discrepancy`` for each
discrepancy, ``reconcile_end`` with the verdict, see :mod:`ledgerrun.output.logs`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledgerrun.clock import iso
from ledgerrun.errors import ExitCode
from ledgerrun.vocab import RECONCILE_ADVICE, money_text

NEXT_STEP = RECONCILE_ADVICE
DISCREPANCIES = tuple(NEXT_STEP)

# The verdict by exit code: everything agrees; discrepancies found; Stripe did not answer for
# some objects (run it again).
VERDICTS = {
    ExitCode.OK: "agrees",
    ExitCode.FAILED: "discrepancies",
    ExitCode.INCOMPLETE: "incomplete",
}


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    adjustment_id: str
    account: str
    transfer_id: str
    payment_id: str
    detail: str
    # the amount at stake (the object's or the row's; for a reversal, the amount in question),
    # in minor units of ``currency``, when known
    amount_minor: int | None = None
    currency: str = ""

    @property
    def next_step(self) -> str:
        return NEXT_STEP[self.kind]

    @property
    def amount(self) -> str:
        """The amount as people read it (``1,500.00 USD``), or '' when not known."""
        if self.amount_minor is None or not self.currency:
            return ""
        return money_text(self.amount_minor, self.currency)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "adjustment_id": self.adjustment_id,
            "account": self.account,
            "transfer_id": self.transfer_id,
            "payment_id": self.payment_id,
            "amount": self.amount,
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "detail": self.detail,
            "advice": self.next_step,
        }


@dataclass
class Reconciliation:
    job: str
    scope: str  # a run date, or "all"
    results_path: Path
    started_at: dt.datetime
    checked: int = 0  # succeeded rows checked
    objects: int = 0  # ledgerrun objects found in Stripe for the scope
    other_dates: int = 0  # objects of this job for other run dates (not discrepancies)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    ended_at: dt.datetime | None = None
    view_sha256: str = ""  # the date's results as checked (see send.dateview.fingerprint)

    @property
    def clean(self) -> bool:
        return not self.discrepancies

    @property
    def unchecked(self) -> bool:
        return any(d.kind == "unchecked" for d in self.discrepancies)

    @property
    def exit_code(self) -> ExitCode:
        """0 everything agrees; 1 discrepancies; 3 Stripe did not answer for some objects."""
        if self.unchecked:
            return ExitCode.INCOMPLETE
        return ExitCode.OK if self.clean else ExitCode.FAILED

    @property
    def verdict(self) -> str:
        """``agrees``, ``discrepancies`` or ``incomplete`` (Stripe did not answer for some
        objects: run it again)."""
        return VERDICTS[self.exit_code]

    def counts(self) -> dict[str, int]:
        """Discrepancies per kind."""
        return dict(sorted(Counter(d.kind for d in self.discrepancies).items()))

    def to_json(self) -> dict[str, Any]:
        """The findings: the verdict, what was checked, the counts per kind and each
        discrepancy with what to do about it."""
        return {
            "job": self.job,
            "run_date": self.scope,
            "results": str(self.results_path),
            "verdict": self.verdict,
            "exit_code": int(self.exit_code),
            "clean": self.clean,
            "succeeded_rows_checked": self.checked,
            "objects_found": self.objects,
            "other_dates": self.other_dates,
            "counts": self.counts(),
            "discrepancies": [d.to_json() for d in self.discrepancies],
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
        }
