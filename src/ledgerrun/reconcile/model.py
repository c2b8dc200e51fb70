"""What reconcile reports: each discrepancy, by kind, with what to do about it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ledgerrun.errors import ExitCode
from ledgerrun.vocab import RECONCILE_ADVICE

NEXT_STEP = RECONCILE_ADVICE
DISCREPANCIES = tuple(NEXT_STEP)


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    adjustment_id: str
    account: str
    transfer_id: str
    payment_id: str
    detail: str

    @property
    def next_step(self) -> str:
        return NEXT_STEP[self.kind]


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
