"""Reversals: reversing chosen (or all) succeeded rows of a batch's run, after a dry run of
exactly the same selection; and the lines of a reversal as its file in the store says."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pyarrow.compute as pc
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledgerrun.store.model import Store, User, WorkItem
from ledgerrun.web import service
from ledgerrun.web.results import run_results
from ledgerrun.web.routes.common import DECIDE, batch_of, guarded, text_field

if TYPE_CHECKING:
    from ledgerrun.web.app import App


@guarded(DECIDE)
async def reverse(self: App, request: Request) -> Response:
    """Reverse chosen (or all) succeeded rows of the batch's run: a dry run first, then the
    same selection for real. The library does the checking and the exactly-once sending."""
    user: User = request.state.user
    form: FormData = request.state.form
    batch = batch_of(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    if not batch.run_id:
        return self.message(request, 409, "Nothing to reverse", "This batch has not run yet.")
    if service.active_work(self.store, batch.batch_id, ("run", "reverse")) is not None:
        return self.message(request, 409, "Busy", "A run or reversal of this batch is going on.")
    table = await run_in_threadpool(run_results, self, batch.run_id)
    done: list[str] = []
    if table is not None:
        succeeded = table.filter(pc.equal(table.column("status"), "succeeded"))
        done = [str(i) for i in succeeded.column("adjustment_id").to_pylist()]
    if text_field(form, "scope", 10) == "all":
        ids = done
    else:
        raw = text_field(form, "ids", 200_000).replace(",", "\n").splitlines()
        ids = list(dict.fromkeys(i.strip() for i in raw if i.strip()))
        unknown = [i for i in ids if i not in set(done)]
        if unknown:
            shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            return self.message(
                request, 400, "Not in this run",
                f"These are not rows of this batch's run that succeeded: {shown}.",
            )  # fmt: skip
    if not ids:
        return self.message(request, 400, "Nothing chosen", "Choose the rows to reverse.")
    reason = text_field(form, "reason", 500).strip()
    selection = service.fingerprint({"ids": sorted(ids), "reason": reason})
    dry_run = text_field(form, "mode", 20) != "reverse"
    if not dry_run:
        dry = last_dry_run(self.store.work_items(batch.batch_id))
        if dry is None or dry.params.get("selection") != selection:
            return self.message(
                request, 409, "Dry run first",
                "Make a dry run of exactly these reversals first, check it, then reverse.",
            )  # fmt: skip
    params = {"run_id": batch.run_id, "ids": ids, "reason": reason, "dry_run": dry_run,
              "selection": selection}  # fmt: skip
    item = service.enqueue(self.store, batch.batch_id, "reverse", user.name, params)
    service.audit(
        self.store, user.name, self.address(request),
        "reverse_dry_run" if dry_run else "reverse", batch=batch, work_id=item.work_id,
        rows=len(ids), reason=reason,
    )  # fmt: skip
    return RedirectResponse(f"/work/{item.work_id}", 303)


def last_dry_run(work: Iterable[WorkItem]) -> WorkItem | None:
    """The last finished dry run of a reversal among a batch's work, unless a reversal was
    made since it."""
    reverses = [w for w in work if w.kind == "reverse"]
    dry = next(
        (w for w in reversed(reverses) if w.params.get("dry_run") and w.state == "done"), None
    )
    if dry is not None and any(
        not w.params.get("dry_run") and w.requested_at > dry.requested_at for w in reverses
    ):
        return None  # reversed since: a new selection needs a new dry run
    return dry


def reversal_lines(store: Store, item: WorkItem | None) -> list[dict[str, str]]:
    """The lines of a reversal (or its dry run), as its reversals file in the store says."""
    run_id = str((item.params if item else {}).get("reverse_run_id") or "")
    data = store.run_file(run_id, "reversals.csv") if run_id else None
    if not data:
        return []
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))[:1000]
