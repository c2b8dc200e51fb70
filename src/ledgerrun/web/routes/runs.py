"""Runs: starting a batch that may run, its progress while it runs, the page of its results,
and the downloads (the results as CSV or Excel, the run's report)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ledgerrun import compute as pc
from ledgerrun.errors import LedgerrunError
from ledgerrun.send import records
from ledgerrun.store.web_model import Batch, User, WorkItem
from ledgerrun.vocab import STATUSES
from ledgerrun.web import service
from ledgerrun.web.filters import RowFilter
from ledgerrun.web.progress import progress_json, reversal_progress
from ledgerrun.web.results import convert, run_report, run_results
from ledgerrun.web.routes.batches import batch_context
from ledgerrun.web.routes.common import ID_RE, batch_of, guarded, page_number, refuse
from ledgerrun.web.routes.reverse import reversal_lines

if TYPE_CHECKING:
    from ledgerrun.web.app import App

RESULT_ROWS = 100
REPORT_CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@guarded()
async def run(self: App, request: Request) -> Response:
    user: User = request.state.user
    batch = batch_of(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    try:
        review = await run_in_threadpool(
            functools.partial(service.review, self.config, self.store, batch, fresh=True)
        )
    except LedgerrunError as exc:
        why = service.error_text(exc)
        return refuse(
            self, request, 409, "Cannot run", f"This batch cannot be run now: {why}.",
            why=why[:300], batch=batch,
        )  # fmt: skip
    context = batch_context(self, request, batch, review)
    if not context["can_run"]:
        found = context["standing"]
        if context["active"]:
            why = "it is running already"
        elif found.ended:
            why = "it was " + ("rejected" if found.ended == "rejected" else "sent back")
        elif not found.approved:
            why = "it needs " + (
                "an approval first" if found.needed == 1
                else f"{found.needed} approvals first ({len(found.approvers)} so far)"
            )  # fmt: skip
        elif context["runs"] and context["runs"][-1].exit_code == 0:
            why = "it has run already, and every row succeeded"
        else:
            why = "it is not ready to run"
        return refuse(
            self, request, 409, "Cannot run", f"This batch cannot be run now: {why}.",
            why=why, batch=batch,
        )  # fmt: skip
    item = service.enqueue(self.store, batch.batch_id, "run", user.name, {})
    self.store.update_batch(batch.batch_id, status="running", updated_at=service.now())
    service.audit(
        self.store, user.name, self.address(request), "run", batch=batch, work_id=item.work_id
    )
    return RedirectResponse(f"/work/{item.work_id}", 303)


def _work(self: App, request: Request) -> tuple[WorkItem | None, Batch | None]:
    work_id = request.path_params["work_id"]
    if not ID_RE.fullmatch(work_id):
        return None, None
    item = self.store.work_item(work_id)
    if item is None:
        return None, None
    return item, self.store.batch(item.batch_id)


@guarded(kind="data")
async def progress(self: App, request: Request) -> Response:
    item, _ = _work(self, request)
    if item is None:
        return JSONResponse({"error": "no such work"}, 404)
    return JSONResponse(progress_json(item))


@guarded()
async def work_page(self: App, request: Request) -> Response:
    item, batch = _work(self, request)
    if item is None or batch is None:
        return self.message(request, 404, "No such run", "There is no run with that number.")
    run_id = str((item.params or {}).get("run_id") or "") if item.kind == "run" else ""
    summary = None
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    wanted = request.query_params.get("status", "")
    wanted = wanted if wanted in STATUSES else ""
    search = RowFilter.read(request.query_params)
    page, pages, shown = page_number(request), 1, 0
    if run_id and item.state in ("done", "failed"):
        summary = records.own_summary(self.store, run_id)
        table = await run_in_threadpool(run_results, self, run_id)
        if table is not None:
            statuses = table.column("status")
            counts = {s: int(pc.sum(pc.equal(statuses, s)).as_py() or 0) for s in STATUSES}
            if wanted:
                table = table.filter(pc.equal(statuses, wanted))
            if search.active and not search.error:
                table = table.filter(
                    search.mask(
                        table.column("adjustment_id"), table.column("account"),
                        table.column("amount_minor"), table.column("currency"),
                    )
                )  # fmt: skip
            shown = table.num_rows
            pages = max(1, -(-shown // RESULT_ROWS))
            page = min(page, pages)
            rows = table.slice((page - 1) * RESULT_ROWS, RESULT_ROWS).to_pylist()
    lines = reversal_lines(self.store, item) if item.kind == "reverse" else []
    figures = progress_json(item)
    if lines and figures["finished"] and not (item.progress or {}).get("done"):
        # a reversal finished before its figures were kept: count the lines (the first 1000)
        figures |= reversal_progress(line.get("status", "") for line in lines)
    return self.render(
        request, "work.html", item=item, batch=batch, p=figures, run_id=run_id,
        lines=lines,
        summary=summary, rows=rows, counts=counts, status_filter=wanted, page=page, pages=pages,
        shown=shown, statuses=STATUSES, search=search,
    )  # fmt: skip


def _download_source(self: App, request: Request) -> tuple[WorkItem, Batch, str] | Response:
    item, batch = _work(self, request)
    run_id = str(((item.params if item else None) or {}).get("run_id") or "")
    if item is None or batch is None or not run_id or item.kind != "run":
        return Response("No such run.\n", 404, media_type="text/plain")
    return item, batch, run_id


@guarded(kind="data")
async def download(self: App, request: Request) -> Response:
    found = _download_source(self, request)
    if isinstance(found, Response):
        return found
    _, batch, run_id = found
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "xlsx"):
        return Response("Unknown format.\n", 404, media_type="text/plain")
    table = await run_in_threadpool(run_results, self, run_id)
    if table is None:
        return Response("This run kept no results.\n", 404, media_type="text/plain")
    data = await run_in_threadpool(convert, table, fmt)
    user: User = request.state.user
    service.audit(
        self.store, user.name, self.address(request), "download", batch=batch,
        run_id=run_id, format=fmt,
    )  # fmt: skip
    media = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }[fmt]
    name = f"{batch.job}-{run_id}.results.{fmt}"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@guarded(kind="data")
async def report(self: App, request: Request) -> Response:
    found = _download_source(self, request)
    if isinstance(found, Response):
        return found
    item, batch, run_id = found
    overrides = {
        "user": item.requested_by,  # who pressed Run, not the server's own account
        "host": "",
        "ledger": batch.file_name,  # the name it was uploaded under, not where it is kept
        # beside this page, /work/<id>/results.csv is the download of the results
        "results": "results.csv",
    }
    data = await run_in_threadpool(run_report, self, run_id, overrides)
    if data is None:
        return Response("This run kept no report.\n", 404, media_type="text/plain")
    return Response(
        data,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": REPORT_CSP},
    )
