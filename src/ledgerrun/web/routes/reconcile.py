"""Reconciliation: checking a batch's run against Stripe (the worker does it), and downloading
what it found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledgerrun.store.web_model import User
from ledgerrun.web import service
from ledgerrun.web.routes.common import batch_of, guarded, refuse

if TYPE_CHECKING:
    from ledgerrun.web.app import App


@guarded()
async def reconcile(self: App, request: Request) -> Response:
    user: User = request.state.user
    batch = batch_of(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    if not batch.run_id:
        return refuse(
            self, request, 409, "Nothing to reconcile", "This batch has not run yet.",
            why="the batch has not run", batch=batch,
        )  # fmt: skip
    if service.active_work(self.store, batch.batch_id, ("reconcile", "run")) is None:
        item = service.enqueue(
            self.store, batch.batch_id, "reconcile", user.name, {"run_id": batch.run_id}
        )
        service.audit(
            self.store, user.name, self.address(request), "reconcile", batch=batch,
            work_id=item.work_id, run_id=batch.run_id,
        )  # fmt: skip
        self.flash(request, "Reconciliation with Stripe started; this page shows it when done.")
    return RedirectResponse(f"/batches/{batch.batch_id}#reconcile", 303)


@guarded(kind="data")
async def reconcile_csv(self: App, request: Request) -> Response:
    batch = batch_of(self, request)
    data = self.store.run_file(batch.run_id, "reconcile.csv") if batch and batch.run_id else None
    if batch is None or data is None:
        return Response("No reconciliation yet.\n", 404, media_type="text/plain")
    name = f"{batch.job}-{batch.run_id}.reconcile.csv"
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
