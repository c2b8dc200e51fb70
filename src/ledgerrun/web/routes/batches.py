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
from ledgerrun.store.model import Approval, Batch, User, WorkItem
from ledgerrun.web import notices, service
from ledgerrun.web.balances import checked_plan
from ledgerrun.web.grid import grid as ledger_grid
from ledgerrun.web.routes.common import DECIDE, UPLOAD, batch_of, guarded, page_number, text_field
from ledgerrun.web.routes.reverse import last_dry_run, reversal_lines

if TYPE_CHECKING:
    from ledgerrun.web.app import App


async def home(self: App, request: Request) -> Response:
    return RedirectResponse("/batches", 302)


@guarded()
async def batches_page(self: App, request: Request) -> Response:
    return await batches_view(self, request)


async def batches_view(self: App, request: Request, status: int = 200, **extra: Any) -> Response:
    jobs = await run_in_threadpool(service.list_jobs, self.config)
    rows = self.store.batches(limit=200)
    return self.render(request, "batches.html", status, jobs=jobs, batches=rows, **extra)


@guarded(UPLOAD)
async def upload(self: App, request: Request) -> Response:
    user: User = request.state.user
    form: FormData = request.state.form
    job_name = text_field(form, "job", 100)
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
    service.audit(
        self.store, user.name, self.address(request), "upload", batch=batch,
        file_name=batch.file_name, size=size, rows=batch.rows, status=batch.status,
    )  # fmt: skip
    if notices.needs_approval(batch):  # reads the job file, then delivers in the background
        await run_in_threadpool(
            functools.partial(
                notices.batch_event, self.config, batch, "batch_uploaded", by=user.name,
                env=self.env,
            )
        )  # fmt: skip
    return RedirectResponse(f"/batches/{batch.batch_id}", 303)


@guarded()
async def batch_page(self: App, request: Request) -> Response:
    batch = batch_of(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    only = request.query_params.get("only") == "problems"
    page = page_number(request)
    try:
        review = await run_in_threadpool(service.review, self.config, self.store, batch)
        grid = await run_in_threadpool(ledger_grid, review, page, only)
    except LedgerrunError as exc:
        return self.render(
            request, "batch.html", batch=batch, review=None, error=service.error_text(exc),
            **batch_context(self, request, batch, None),
        )  # fmt: skip
    return self.render(
        request, "batch.html", batch=batch, review=review, grid=grid, error="",
        **batch_context(self, request, batch, review),
    )  # fmt: skip


def batch_context(self: App, request: Request, batch: Batch, review: Any) -> dict[str, Any]:
    user: User = request.state.user
    approvals = self.store.approvals(batch.batch_id)
    work = self.store.work_items(batch.batch_id)
    runs = [w for w in work if w.kind == "run"]
    active = service.active_work(self.store, batch.batch_id, ("run",))
    decided = bool(approvals)
    totals = review.totals() if review is not None else batch.summary.get("totals", {})
    needs_approval = (review.job.approval if review else batch.summary.get("approval")) == (
        "required"
    )
    approved = any(a.decision == "approved" for a in approvals) and batch.status != "rejected"
    runnable = review is not None and review.runnable and batch.status != "rejected"
    last_run = runs[-1] if runs else None
    can_run = (
        runnable
        and active is None
        and (approved or not needs_approval)
        and batch.status in ("valid", "approved", "done")
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
        "can_reverse": user.role in DECIDE
        and bool(batch.run_id)
        and service.active_work(self.store, batch.batch_id, ("run", "reverse")) is None,
        "approvals": approvals,
        "work": work,
        "runs": runs,
        "active": active,
        "totals": totals,
        "fingerprint": service.fingerprint(totals) if review is not None else "",
        "needs_approval": needs_approval,
        "can_decide": (
            user.role in DECIDE
            and user.name != batch.uploaded_by
            and not decided
            and batch.status in ("valid", "invalid")
        ),
        "own_batch": user.name == batch.uploaded_by,
        "can_approve": runnable and not decided and batch.status == "valid",
        "can_run": can_run,
        "can_reconcile": bool(batch.run_id)
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


def _decision_checks(self: App, request: Request, batch: Batch | None) -> Response | None:
    user: User = request.state.user
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    if batch.uploaded_by == user.name:
        return self.message(
            request, 403, "Not allowed",
            "You uploaded this batch: another approver must decide on it (four eyes).",
        )  # fmt: skip
    if self.store.approvals(batch.batch_id):
        return self.message(
            request, 409, "Already decided",
            "This batch has a decision already; upload the ledger again for a new one.",
        )  # fmt: skip
    return None


@guarded(DECIDE)
async def approve(self: App, request: Request) -> Response:
    return await _decide(self, request, "approved")


@guarded(DECIDE)
async def reject(self: App, request: Request) -> Response:
    return await _decide(self, request, "rejected")


async def _decide(self: App, request: Request, decision: str) -> Response:
    user: User = request.state.user
    form: FormData = request.state.form
    batch = batch_of(self, request)
    refused = _decision_checks(self, request, batch)
    if refused is not None:
        return refused
    assert batch is not None
    review = await run_in_threadpool(
        functools.partial(service.review, self.config, self.store, batch, fresh=True)
    )
    totals = review.totals()
    if text_field(form, "sha256", 64) != batch.sha256 or text_field(
        form, "plan", 64
    ) != service.fingerprint(totals):
        return self.message(
            request, 409, "The plan changed",
            "The ledger's plan is not the one shown when the page was loaded. Reload the page, "
            "check it again, then decide.",
        )  # fmt: skip
    if decision == "approved" and (batch.status != "valid" or not review.runnable):
        return self.message(
            request, 409, "Cannot be approved",
            "Only a batch ready for approval, whose rows can be run, can be approved.",
        )  # fmt: skip
    comment = text_field(form, "comment", 1000).strip()
    self.store.add_approval(
        Approval(
            batch_id=batch.batch_id,
            job=batch.job,
            decision=decision,
            by=user.name,
            at=service.now(),
            sha256=batch.sha256,
            totals=totals,
            comment=comment,
        )
    )
    self.store.update_batch(batch.batch_id, status=decision, updated_at=service.now())
    service.audit(
        self.store, user.name, self.address(request),
        "approve" if decision == "approved" else "reject", batch=batch, totals=totals,
        comment=comment,
    )  # fmt: skip
    event = "batch_approved" if decision == "approved" else "batch_rejected"
    await run_in_threadpool(
        functools.partial(
            notices.batch_event, self.config, batch, event, by=user.name, comment=comment,
            env=self.env,
        )
    )  # fmt: skip
    self.flash(request, f"Batch {decision}.")
    return RedirectResponse(f"/batches/{batch.batch_id}", 303)
