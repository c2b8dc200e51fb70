"""What a run reports as it goes: typed events, fanned out to listeners.

The runner and the executor only emit; the terminal progress line, the logs, the web
application's progress and tests listen, and tell events apart by type (``match`` or
``isinstance``). Each event has a ``name``: the ``event`` field of its JSON log line. A listener
must be quick and thread-safe: events arrive from every worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ledgerrun.vocab import RowOutcome


@dataclass(frozen=True)
class RunStart:
    """The run is recorded in the store and about to decide what to send."""

    name: ClassVar[str] = "run_start"
    job: str
    run_id: str
    ledger: str
    ledger_sha256: str
    rows: int
    dry_run: bool
    mode: str


@dataclass(frozen=True)
class RowInvalid:
    """A row that is not sent because the ledger has a problem on it."""

    name: ClassVar[str] = "row_invalid"
    row: int
    adjustment_id: str | None
    account: str | None
    code: str
    message: str


@dataclass(frozen=True)
class Sending:
    """Sending begins: how many rows, and how many per account."""

    name: ClassVar[str] = "sending"
    rows: int
    accounts: Mapping[str, int]


@dataclass(frozen=True)
class RowDone:
    """One row's outcome is settled (and recorded in the store)."""

    name: ClassVar[str] = "row_done"
    row: int
    adjustment_id: str
    account: str
    amount_minor: int
    amount: str  # as people read it, in the currency's own decimals
    currency: str
    direction: str
    outcome: RowOutcome


@dataclass(frozen=True)
class AccountDone:
    """Every row of one account is settled."""

    name: ClassVar[str] = "account_done"
    account: str
    rows: int
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BreakerOpen:
    """Stripe stopped answering: no more requests are sent."""

    name: ClassVar[str] = "breaker_open"
    reason: str


@dataclass(frozen=True)
class GuardSweep:
    """A store that has never swept lists every connected account's debits first: how far it
    is (``listed`` of ``listings``: one per account, and one for the platform's credits)."""

    name: ClassVar[str] = "guard_sweep"
    listed: int
    listings: int
    job: str = ""
    run_id: str = ""  # the run it is part of ("" for plan --sweep)


@dataclass(frozen=True)
class RunStopping:
    """A signal or a fatal error: the run finishes what is in flight and stops. ``traceback``
    is set when the reason is a bug in ledgerrun (logs show it)."""

    name: ClassVar[str] = "run_stopping"
    reason: str
    traceback: str = ""


@dataclass(frozen=True)
class RunEnd:
    """The results are written; the run is over."""

    name: ClassVar[str] = "run_end"
    run_id: str
    exit_code: int
    counts: Mapping[str, int]
    totals: Mapping[str, object]
    results: str
    report: str
    job: str = ""
    run_date: str = ""  # YYYY-MM-DD
    dry_run: bool = False
    duration_s: float = 0.0  # from the run's start to its end, as the summary records them


Event = (
    RunStart
    | RowInvalid
    | Sending
    | RowDone
    | AccountDone
    | BreakerOpen
    | GuardSweep
    | RunStopping
    | RunEnd
)
Listener = Callable[[Event], None]


class Events:
    def __init__(self, *listeners: Listener) -> None:
        self._listeners = list(listeners)
        self._lock = threading.Lock()

    def listen(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def emit(self, event: Event) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
