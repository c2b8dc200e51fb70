"""Batches: the list and the upload; the batch page (the ledger's rows with their problems, the
plan and Stripe's pre-flight check of it, then the batch's runs, reconciliation and reversals);
and the four-eyes decision to approve or reject."""

from __future__ import annotations

import csv
import functools
import io
import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledgerrun.errors import ConfigError, LedgerrunError
from ledgerrun.store.web_model import Batch, User, WorkItem
from ledgerrun.web import approvals, notices, service, uploads
from ledgerrun.web.balances import checked_plan
from ledgerrun.web.filters import BATCH_STATUSES, BatchFilter, RowFilter
from ledgerrun.web.grid import grid as ledger_grid
from ledgerrun.web.routes.common import (
    ADMIN,
    DECIDE,
    ID_RE,
    UPLOAD,
    batch_of,
    guarded,
    page_number,
    refuse,
    text_field,
)
from ledgerrun.web.routes.reverse import last_dry_run, reversal_lines

if TYPE_CHECKING:
    from ledgerrun.web.app import App

# A batch in one of these may not run, whatever its approvals: not checked yet, with problems,
# decided against, or running.
NOT_RUNNABLE = ("uploaded", "invalid", "rejected", "sent_back", "running")
LISTED = 200  # batches on the list at most: the newest of those the search asks for


async def home(self: App, request: Request) -> Response:
    return RedirectResponse("/batches", 302)


@guarded()
async def batches_page(self: App, request: Request) -> Response:
    return await batches_view(self, request)


async def batches_view(self: App, request: Request, status: int = 200, **extra: Any) -> Response:
    jobs = await run_in_threadpool(service.list_jobs, self.config)
    search = BatchFilter.read(request.query_params)
    rows = self.store.batches(limit=LISTED, query=search.query) if not search.error else []
    approved_by = {
        b.batch_id: len(approvals.of_summary(self.store, b).approvers)
        for b in rows
        if b.status == "approving"
    }
    return self.render(
        request, "batches.html", status, jobs=jobs, batches=rows, approved_by=approved_by,
        search=search, statuses=BATCH_STATUSES, listed=LISTED,
        uploaders=[u.name for u in self.store.users() if u.role in UPLOAD], **extra,
    )  # fmt: skip


@guarded(UPLOAD)
async def upload(self: App, request: Request) -> Response:
    user: User = request.state.user
    form: FormData = request.state.form
    job_name = text_field(form, "job", 100)
    replaces = _replaced(self, text_field(form, "replaces", 100))
    if replaces is not None:
        job_name = replaces.job  # a corrected ledger is for the job of the batch it corrects
    file = form.get("ledger")
    if not isinstance(file, UploadFile) or not file.filename:
        return await batches_view(self, request, 400, error="Choose a ledger file to upload.")
    try:
        sha, size, _ = await run_in_threadpool(
            service.save_upload, self.config, self.store, file.file, file.filename
        )
        batch = await run_in_threadpool(
            functools.partial(
                service.new_batch, self.config, self.store, job_name=job_name,
                file_name=file.filename, sha=sha, size=size, user=user.name,
            )
        )  # fmt: skip
    except service.UploadError as exc:
        status = 413 if "larger than" in str(exc) else 400
        return await batches_view(self, request, status, error=str(exc))
    except ConfigError as exc:
        return await batches_view(self, request, 400, error=service.error_text(exc))
    if replaces is not None:
        _link(self, replaces, batch)
    service.audit(
        self.store, user.name, self.address(request), "upload", batch=batch,
        file_name=batch.file_name, size=size, rows=batch.rows, status=batch.status,
        corrects=replaces.batch_id if replaces is not None else "",
    )  # fmt: skip
    if notices.needs_approval(batch):  # reads the job file, then delivers in the background
        await run_in_threadpool(
            functools.partial(
                notices.batch_event, self.config, batch, "batch_uploaded", by=user.name,
                env=self.env,
            )
        )  # fmt: skip
    return RedirectResponse(f"/batches/{batch.batch_id}", 303)


def _replaced(self: App, batch_id: str) -> Batch | None:
    """The batch a corrected upload replaces: one sent back (or rejected) to its preparer."""
    if not batch_id or not ID_RE.fullmatch(batch_id):
        return None
    found = self.store.batch(batch_id)
    return found if found is not None and found.status in ("sent_back", "rejected") else None


def _link(self: App, old: Batch, new: Batch) -> None:
    """Each of the two batches names the other: the correction and what it corrects."""
    for batch, key, other in ((old, "replaced_by", new), (new, "replaces", old)):
        current = self.store.batch(batch.batch_id) or batch
        summary = {**current.summary, key: other.batch_id}
        self.store.update_batch(batch.batch_id, summary=summary)


@guarded()
async def batch_page(self: App, request: Request) -> Response:
    batch = batch_of(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    only = request.query_params.get("only") == "problems"
    page = page_number(request)
    wanted = RowFilter.read(request.query_params)
    try:
        if not await run_in_threadpool(uploads.intact, self.config, batch):
            raise uploads.LedgerChanged("the stored file has changed")  # before any review
        review = await run_in_threadpool(service.review, self.config, self.store, batch)
        grid = await run_in_threadpool(
            functools.partial(ledger_grid, review, page, only, rows_wanted=wanted)
        )
    except LedgerrunError as exc:
        changed = isinstance(exc, uploads.LedgerChanged)  # said plainly on the page instead
        return self.render(
            request, "batch.html", batch=batch, review=None,
            error="" if changed else service.error_text(exc),
            **batch_context(self, request, batch, None, changed=changed),
        )  # fmt: skip
    return self.render(
        request, "batch.html", batch=batch, review=review, grid=grid, error="", rows=wanted,
        **batch_context(self, request, batch, review),
    )  # fmt: skip


@guarded(ADMIN)
async def restore(self: App, request: Request) -> Response:
    """Put the server's intact copy of a batch's ledger back over a changed stored file."""
    user: User = request.state.user
    batch = batch_of(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    if await run_in_threadpool(uploads.intact, self.config, batch):
        return RedirectResponse(f"/batches/{batch.batch_id}", 303)
    if not await run_in_threadpool(uploads.restore_upload, self.config, self.store, batch):
        return refuse(
            self, request, 409, "No intact copy",
            "The server's own copy of this ledger does not match it either. Upload the original "
            "file again: a file with the same SHA-256 is stored anew.",
            why="the store's copy does not match the SHA-256 either", batch=batch,
        )  # fmt: skip
    service.REVIEWS.drop(batch.batch_id)
    service.audit(self.store, user.name, self.address(request), "restore_upload", batch=batch)
    self.flash(request, "The original ledger file is back: it matches its SHA-256 again.")
    return RedirectResponse(f"/batches/{batch.batch_id}", 303)


def batch_context(
    self: App, request: Request, batch: Batch, review: Any, *, changed: bool = False
) -> dict[str, Any]:
    """What the batch page shows and allows. ``changed``: the stored ledger no longer matches
    its SHA-256, so nothing may be decided, run, reconciled or reversed from it."""
    user: User = request.state.user
    decisions = self.store.approvals(batch.batch_id)
    found = (
        approvals.of_review(self.store, batch, review)
        if review is not None
        else approvals.of_summary(self.store, batch)
    )
    work = self.store.work_items(batch.batch_id)
    runs = [w for w in work if w.kind == "run"]
    active = service.active_work(self.store, batch.batch_id, ("run",))
    totals = review.totals() if review is not None else batch.summary.get("totals", {})
    runnable = review is not None and review.runnable and not found.ended
    last_run = runs[-1] if runs else None
    can_run = (
        runnable
        and not changed
        and active is None
        and found.approved
        and batch.status not in NOT_RUNNABLE
        and not (last_run is not None and last_run.exit_code == 0)
    )
    online = batch.summary.get("online") or {}
    groups, credits_short = _plan_figures(review, online) if review is not None else ([], {})
    reconciles = [w for w in work if w.kind == "reconcile"]
    reconcile_rows: list[dict[str, str]] = []
    verdict = None
    if batch.run_id:
        raw = self.store.run_file(batch.run_id, "reconcile.json")
        verdict = json.loads(raw) if raw else None
        table = self.store.run_file(batch.run_id, "reconcile.csv")
        if table:
            reconcile_rows = list(csv.DictReader(io.StringIO(table.decode("utf-8"))))[:200]
    reverses = [w for w in work if w.kind == "reverse"]
    dry = last_dry_run(reverses)
    return {
        "reverses": reverses,
        "dry_run": dry,
        "dry_lines": reversal_lines(self.store, dry),
        "dry_ids": "\n".join(dry.params.get("ids") or []) if dry else "",
        "changed": changed,
        "can_reverse": not changed
        and user.role in DECIDE
        and bool(batch.run_id)
        and service.active_work(self.store, batch.batch_id, ("run", "reverse")) is None,
        "approvals": decisions,
        "standing": found,
        "needs_words": approvals.needs_words(found),
        "approval_reasons": review.job.policy.reasons(totals)
        if review is not None
        else batch.summary.get("approval_reasons") or [],
        "approval_rules": [r.describe() for r in review.job.policy.rules]
        if review is not None
        else [str(r.get("text", "")) for r in batch.summary.get("approval_rules") or []],
        "work": work,
        "runs": runs,
        "active": active,
        "totals": totals,
        "fingerprint": service.fingerprint(totals) if review is not None else "",
        "needs_approval": found.needed > 0,
        "can_decide": (
            not changed
            and user.role in DECIDE
            and user.name != batch.uploaded_by
            and not found.ended
            and user.name not in found.approvers
            and batch.status in (*approvals.WAITING, "invalid")
        ),
        "own_batch": user.name == batch.uploaded_by,
        "can_approve": runnable and batch.status in approvals.WAITING,
        "can_run": can_run,
        "can_reconcile": not changed
        and bool(batch.run_id)
        and service.active_work(self.store, batch.batch_id, ("reconcile", "run")) is None,
        "checking": service.active_work(self.store, batch.batch_id, ("check",)),
        "online": online,
        "groups": groups,
        "credits_short": credits_short,
        "checked_before_run": _checked_before_run(work),
        "reconciles": reconciles,
        "verdict": verdict,
        "reconcile_rows": reconcile_rows,
    }


def _plan_figures(review: Any, online: dict[str, Any]) -> tuple[list[Any], dict[str, int]]:
    """The plan's groups, with the balances Stripe reported at the last check and what is short
    of them now (as ``ledgerrun plan`` works it out); and by how much the platform's balance is
    short of the credits left, per currency."""
    plan = checked_plan(review.prepared, online) or review.plan
    return list(plan.groups), plan.credits_short()


def _checked_before_run(work: list[WorkItem]) -> bool:
    """Whether the balances shown were looked up before a run of the batch ended."""
    checks = [w.started_at for w in work if w.kind == "check" and w.state == "done"]
    last = max((at for at in checks if at is not None), default=None)
    ended = [w.ended_at for w in work if w.kind == "run" and w.ended_at is not None]
    return last is not None and any(at > last for at in ended)


@guarded()
async def recheck(self: App, request: Request) -> Response:
    user: User = request.state.user
    batch = batch_of(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    if service.active_work(self.store, batch.batch_id, ("check",)) is None:
        service.enqueue(self.store, batch.batch_id, "check", user.name, {})
        service.audit(self.store, user.name, self.address(request), "check", batch=batch)
    return RedirectResponse(f"/batches/{batch.batch_id}#plan", 303)
