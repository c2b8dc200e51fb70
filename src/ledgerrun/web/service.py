"""Batches over the library: the web application's only way to the jobs, ledgers and plans.

An uploaded ledger is kept as ``uploads/<sha256><suffix>`` (and a copy in the store, so a worker
on another host finds it too) and reviewed exactly as ``ledgerrun plan --offline`` would review
it: :func:`~ledgerrun.send.prepare.prepare` then :func:`~ledgerrun.send.plan.build_plan`, under
the job's own settings, against the server's store. Nothing here decides what is valid or what a
run sends: the library does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledgerrun import compute as pc
from ledgerrun.approval_policy import rules_json
from ledgerrun.errors import ConfigError, FatalError
from ledgerrun.ingest.validate import blocking_problems
from ledgerrun.job import Job
from ledgerrun.jobfile import load_job_file
from ledgerrun.scrub import scrub
from ledgerrun.send.approval import totals_of
from ledgerrun.send.plan import Plan, build_plan, control_json
from ledgerrun.send.prepare import Prepared, prepare
from ledgerrun.store.model import Store
from ledgerrun.store.web_model import AuditEvent, Batch, WorkItem
from ledgerrun.vocab import Problem, shown
from ledgerrun.web.config import ServeConfig

# The uploads' functions, where the worker, the routes and older callers find them:
from ledgerrun.web.uploads import UploadError as UploadError
from ledgerrun.web.uploads import ledger_file as ledger_file
from ledgerrun.web.uploads import save_upload as save_upload


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    return f"{now():%Y%m%d%H%M%S}-{secrets.token_hex(4)}"


# --- jobs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobInfo:
    name: str
    path: Path
    job: Job | None
    error: str = ""


def list_jobs(config: ServeConfig, day: dt.date | None = None) -> list[JobInfo]:
    """The job files of the jobs folder, each read (or with the reason it cannot be)."""
    out: list[JobInfo] = []
    if not config.jobs.is_dir():
        return out
    for path in sorted(config.jobs.glob("*.toml")):
        try:
            job = load_job_file(path, day)
            out.append(JobInfo(job.name, path, job))
        except ConfigError as exc:
            out.append(JobInfo(path.stem, path, None, scrub(str(exc))))
    return out


def job_for(
    config: ServeConfig, name: str, *, ledger: Path | None = None, day: dt.date | None = None
) -> Job:
    """The job named ``name`` from the jobs folder, on the server's store, with ``ledger``."""
    for info in list_jobs(config, day):
        if info.name == name:
            if info.job is None:
                raise ConfigError(f"the job file {info.path.name} cannot be read: {info.error}")
            job = info.job if ledger is None else info.job.replace(ledger=ledger)
            return job.with_journal(config.store)
    raise ConfigError(f"there is no job named {name!r} in {config.jobs}")


# --- review: validation and plan ---------------------------------------------------------------


@dataclass
class Review:
    """A ledger as the library sees it under its job: the batch page's source."""

    job: Job
    prepared: Prepared
    plan: Plan

    @property
    def problems(self) -> list[Problem]:
        return self.prepared.validation.problems

    @property
    def blocking(self) -> list[Problem]:
        return blocking_problems(self.prepared.validation)

    @property
    def valid_rows(self) -> int:
        valid = self.prepared.validation.valid
        return int(pc.sum(valid).as_py() or 0) if len(valid) else 0

    @property
    def runnable(self) -> bool:
        """Whether a run would send anything: no file-level problem, some valid rows, and no
        problem at all unless the job skips invalid rows."""
        if self.blocking or not self.valid_rows:
            return False
        return not self.problems or self.job.on_invalid == "skip"

    def totals(self) -> dict[str, Any]:
        """What an approval binds besides the file: the plan's totals (as ``ledgerrun run``
        checks them)."""
        return totals_of(self.plan)


def fingerprint(totals: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(totals, sort_keys=True).encode()).hexdigest()


class _Cache:
    """A few recent reviews per process: paging through a large batch reads it once. Entries
    live two minutes at most (a worker in another process may run the batch meanwhile; this
    process's own worker drops the entry when it does), and every decision and run takes a
    fresh review anyway."""

    def __init__(self, size: int = 4, ttl_s: float = 120.0) -> None:
        self.size, self.ttl_s = size, ttl_s
        self._items: OrderedDict[str, tuple[float, Review]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Review | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or time.monotonic() - found[0] > self.ttl_s:
                self._items.pop(key, None)
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: str, review: Review) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), review)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


REVIEWS = _Cache()


def review(config: ServeConfig, store: Store, batch: Batch, *, fresh: bool = False) -> Review:
    """Validate and plan the batch's ledger offline, as ``ledgerrun plan --offline`` does."""
    if not fresh:
        cached = REVIEWS.get(batch.batch_id)
        if cached is not None:
            return cached
    job = job_for(config, batch.job, ledger=ledger_file(config, store, batch))
    prepared = prepare(job, None, store=store)
    result = Review(job, prepared, build_plan(prepared))
    REVIEWS.put(batch.batch_id, result)
    return result


def summary_of(result: Review) -> dict[str, Any]:
    """What the batch list and the audit keep of a review."""
    v = result.prepared.validation
    control = v.control_total
    codes = Counter(p.code for p in v.problems)
    policy = result.job.policy
    totals = result.totals()
    return {
        "totals": totals,
        "problems": len(v.problems),
        "problem_rows": len({p.row for p in v.problems}),
        "codes": dict(sorted(codes.items())),
        "control_total": None if control is None else control_json(control),
        "consent_checked": result.job.consent_registry is not None,
        "approval": result.job.approval,
        "approvers_needed": policy.needed(totals),
        "approval_reasons": policy.reasons(totals),
        "approval_rules": rules_json(policy.rules),
        "on_invalid": result.job.on_invalid,
        "runnable": result.runnable,
    }


def new_batch(
    config: ServeConfig,
    store: Store,
    *,
    job_name: str,
    file_name: str,
    sha: str,
    size: int,
    user: str,
) -> Batch:
    """Record an uploaded ledger as a batch, reviewed."""
    job_for(config, job_name)  # the job must exist before anything is recorded
    at = now()
    batch = Batch(
        batch_id=new_id(),
        job=job_name,
        file_name=shown(file_name.replace("\\", "/").rsplit("/", 1)[-1], 200),
        sha256=sha,
        size=size,
        uploaded_by=user,
        uploaded_at=at,
        status="uploaded",
        rows=0,
        summary={},
        updated_at=at,
    )
    store.add_batch(batch)
    result = review(config, store, batch, fresh=True)
    summary = summary_of(result)
    status = "valid" if result.runnable else "invalid"
    store.update_batch(
        batch.batch_id,
        status=status,
        rows=result.prepared.validation.rows,
        summary=summary,
        updated_at=now(),
    )
    if result.runnable:
        enqueue(store, batch.batch_id, "check", user, {})
    found = store.batch(batch.batch_id)
    assert found is not None
    return found


# --- approvals, work and audit -----------------------------------------------------------------


def enqueue(store: Store, batch_id: str, kind: str, user: str, params: dict[str, Any]) -> WorkItem:
    item = WorkItem(
        work_id=new_id(),
        batch_id=batch_id,
        kind=kind,
        requested_by=user,
        requested_at=now(),
        state="queued",
        params=params,
    )
    store.enqueue(item)
    return item


def active_work(store: Store, batch_id: str, kinds: Iterable[str]) -> WorkItem | None:
    wanted = set(kinds)
    for item in reversed(store.work_items(batch_id)):
        if item.kind in wanted and item.state in ("queued", "running"):
            return item
    return None


def audit(
    store: Store,
    user: str,
    address: str,
    action: str,
    *,
    batch: Batch | None = None,
    **detail: Any,
) -> None:
    store.add_audit(
        AuditEvent(
            at=now(),
            user=user,
            address=address,
            action=action,
            batch_id=batch.batch_id if batch else "",
            sha256=batch.sha256 if batch else "",
            detail={k: scrub(v) if isinstance(v, str) else v for k, v in detail.items()},
        )
    )


def error_text(exc: BaseException) -> str:
    """A library error as a page may show it: scrubbed of anything secret."""
    if isinstance(exc, FatalError):
        return scrub(str(exc))
    return scrub(f"{type(exc).__name__}: {exc}")
