"""The progress of queued work: written to the work item in the store by a listener to the
run's events, at most every half second, and read back for the work page and the progress
request, so any page (after a reload or a server restart) shows it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from ledgerrun.clock import iso
from ledgerrun.events import AccountDone, BreakerOpen, Event, RowDone, RunEnd, RunStart, Sending
from ledgerrun.store.model import Store
from ledgerrun.store.web_model import WorkItem
from ledgerrun.web import service

PROGRESS_EVERY_S = 0.5


class Progress:
    """Listens to a run's events and keeps the work item's progress in the store, at most
    every :data:`PROGRESS_EVERY_S` seconds (and at each change of phase)."""

    def __init__(self, store: Store, work_id: str) -> None:
        self.store = store
        self.work_id = work_id
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.sending_since: float | None = None
        self.last = 0.0
        self.state: dict[str, Any] = {
            "phase": "preparing",
            "rows": 0,
            "to_send": 0,
            "done": 0,
            "succeeded": 0,
            "failed": 0,
            "unknown": 0,
            "skipped": 0,
            "accounts": 0,
            "accounts_done": 0,
            "rate": 0.0,
            "breaker_open": False,
            "started_at": iso(service.now()),
            "updated_at": iso(service.now()),
        }
        self.flush()

    def __call__(self, event: Event) -> None:
        with self.lock:
            s = self.state
            force = False
            match event:
                case RunStart():
                    s["rows"] = event.rows
                    s["run_id"] = event.run_id
                    s["phase"] = "checking"
                    force = True
                case Sending():
                    s["to_send"] = event.rows
                    s["accounts"] = len(event.accounts)
                    s["phase"] = "sending"
                    self.sending_since = time.monotonic()
                    force = True
                case RowDone():
                    s["done"] += 1
                    status = str(event.outcome.status)
                    if status in ("succeeded", "failed", "unknown", "skipped"):
                        s[status] += 1
                case AccountDone():
                    s["accounts_done"] += 1
                case BreakerOpen():
                    s["breaker_open"] = True
                    force = True
                case RunEnd():
                    s["phase"] = "finished"
                    force = True
                case _:
                    return
            if self.sending_since is not None:
                elapsed = time.monotonic() - self.sending_since
                s["rate"] = round(s["done"] / elapsed, 1) if elapsed > 0 else 0.0
            if force or time.monotonic() - self.last >= PROGRESS_EVERY_S:
                self.flush()

    def flush(self, **extra: Any) -> None:
        self.state.update(extra)
        self.state["updated_at"] = iso(service.now())
        self.last = time.monotonic()
        self.store.update_work(self.work_id, progress=dict(self.state))


def progress_json(item: WorkItem) -> dict[str, Any]:
    """The work item's progress as the page and the progress request show it (zeros until
    the worker has written some)."""
    p = item.progress or {}
    return {
        "state": item.state,
        "phase": p.get("phase", "waiting" if item.state == "queued" else ""),
        "rows": p.get("rows", 0),
        "to_send": p.get("to_send", 0),
        "done": p.get("done", 0),
        "succeeded": p.get("succeeded", 0),
        "failed": p.get("failed", 0),
        "unknown": p.get("unknown", 0),
        "skipped": p.get("skipped", 0),
        "rate": p.get("rate", 0.0),
        "updated_at": p.get("updated_at", ""),
        "exit_code": item.exit_code,
        "finished": item.state in ("done", "failed"),
    }


def reversal_progress(statuses: Iterable[str]) -> dict[str, Any]:
    """A finished reversal's figures, from its lines' statuses (one line per reversal asked
    for): the reversal sends no row events, so its work item's progress is these."""
    found = [str(s) for s in statuses]
    counts = {s: found.count(s) for s in ("succeeded", "failed", "unknown", "skipped", "invalid")}
    return {
        "phase": "finished",
        "rows": len(found),
        "to_send": len(found),
        "done": sum(1 for s in found if s),
        **counts,
        "updated_at": iso(service.now()),
    }
