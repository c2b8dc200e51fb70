"""What a run reports as it goes: typed events, fanned out to listeners.

The runner and the executor only emit; the terminal progress line, the logs, the web
application's progress and tests listen, and tell events apart by type (``match`` or
``isinstance``). Each event has a ``name``: the ``event`` field of its JSON log line. A listener
must be quick and thread-safe: events arrive from every worker thread.

Events are named tuples, made faster than dataclasses at start-up (docs/architecture.md says
when a record is one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from ledgerrun.vocab import RowOutcome

_NO_COUNTS: Mapping[str, int] = MappingProxyType({})


class RunStart(NamedTuple):
    """The run is recorded in the store and about to decide what to send."""

    job: str
    run_id: str
    ledger: str
    ledger_sha256: str
    rows: int
    dry_run: bool
    mode: str

    @property
    def name(self) -> str:
        return "run_start"


class RowInvalid(NamedTuple):
    """A row that is not sent because the ledger has a problem on it."""

    row: int
    adjustment_id: str | None
    account: str | None
    code: str
    message: str

    @property
    def name(self) -> str:
        return "row_invalid"


class Sending(NamedTuple):
    """Sending begins: how many rows, and how many per account."""

    rows: int
    accounts: Mapping[str, int]

    @property
    def name(self) -> str:
        return "sending"


class RowDone(NamedTuple):
    """One row's outcome is settled (and recorded in the store)."""

    row: int
    adjustment_id: str
    account: str
    amount_minor: int
    amount: str  # as people read it, in the currency's own decimals
    currency: str
    direction: str
    outcome: RowOutcome

    @property
    def name(self) -> str:
        return "row_done"


class AccountDone(NamedTuple):
    """Every row of one account is settled."""

    account: str
    rows: int
    counts: Mapping[str, int] = _NO_COUNTS

    @property
    def name(self) -> str:
        return "account_done"


class BreakerOpen(NamedTuple):
    """Stripe stopped answering: no more requests are sent."""

    reason: str

    @property
    def name(self) -> str:
        return "breaker_open"


class GuardSweep(NamedTuple):
    """A store that has never swept lists every connected account's debits first: how far it
    is (``listed`` of ``listings``: one per account, and one for the platform's credits)."""

    listed: int
    listings: int
    job: str = ""
    run_id: str = ""  # the run it is part of ("" for plan --sweep)

    @property
    def name(self) -> str:
        return "guard_sweep"


class RunStopping(NamedTuple):
    """A signal or a fatal error: the run finishes what is in flight and stops. ``traceback``
    is set when the reason is a bug in ledgerrun (logs show it)."""

    reason: str
    traceback: str = ""

    @property
    def name(self) -> str:
        return "run_stopping"


class RunEnd(NamedTuple):
    """The results are written; the run is over."""

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

    @property
    def name(self) -> str:
        return "run_end"


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
