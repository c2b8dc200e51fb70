"""Reversals: reversing chosen (or all) succeeded rows of a batch's run, after a dry run of
exactly the same selection; and the lines of a reversal as its file in the store says.

Typed adjustment ids are reversed, and only they: nothing on the form widens what was typed.
"Every succeeded row" is taken only with no ids typed; chosen with ids typed, the form is
refused, saying so (the two answers contradict each other, and the wider one moves more money
back than someone may have meant)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledgerrun import compute as pc
from ledgerrun.store.model import Store
from ledgerrun.store.web_model import User, WorkItem
from ledgerrun.web import service
from ledgerrun.web.results import run_results
from ledgerrun.web.routes.common import DECIDE, batch_of, guarded, refuse, text_field
from ledgerrun.web.views import plural

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
        return refuse(
            self, request, 409, "Nothing to reverse", "This batch has not run yet.",
            why="the batch has not run", batch=batch, action="reverse",
        )  # fmt: skip
    if service.active_work(self.store, batch.batch_id, ("run", "reverse")) is not None:
        return refuse(
            self, request, 409, "Busy", "A run or reversal of this batch is going on.",
            why="a run or reversal of the batch is going on", batch=batch, action="reverse",
        )  # fmt: skip
    table = await run_in_threadpool(run_results, self, batch.run_id)
    done: list[str] = []
    if table is not None:
        succeeded = table.filter(pc.equal(table.column("status"), "succeeded"))
        done = [str(i) for i in succeeded.column("adjustment_id").to_pylist()]
    raw = text_field(form, "ids", 200_000).replace(",", "\n").splitlines()
    typed = list(dict.fromkeys(i.strip() for i in raw if i.strip()))
    scope = text_field(form, "scope", 10)
    if scope == "all" and typed:  # two answers to "which rows": never take the wider one
        return refuse(
            self, request, 400, "Which rows?",
            "You chose every succeeded row of this batch but also typed "
            f"{plural(len(typed), 'adjustment id')}. To reverse only the ids you typed, choose "
            "\u201cOnly these adjustment ids\u201d; to reverse every succeeded row, clear the "
            "ids. Nothing was reversed.",
            why="every row chosen with ids typed", batch=batch, action="reverse",
        )  # fmt: skip
    if scope == "all":
        ids = done
    else:  # the ids typed, and only those (whatever else the form says)
        ids = typed
        unknown = [i for i in ids if i not in set(done)]
        if unknown:
            shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            return refuse(
                self, request, 400, "Not in this run",
                f"These are not rows of this batch's run that succeeded: {shown}.",
                why="ids not among the run's succeeded rows", batch=batch, action="reverse",
            )  # fmt: skip
    if not ids:
        return self.message(
            request, 400, "Nothing chosen",
            "Type the adjustment ids to reverse, or choose every succeeded row.",
        )  # fmt: skip
    reason = text_field(form, "reason", 500).strip()
    selection = service.fingerprint({"ids": sorted(ids), "reason": reason})
    dry_run = text_field(form, "mode", 20) != "reverse"
    if not dry_run:
        dry = last_dry_run(self.store.work_items(batch.batch_id))
        if dry is None or dry.params.get("selection") != selection:
            return refuse(
                self, request, 409, "Dry run first",
                "Make a dry run of exactly these reversals first, check it, then reverse.",
                why="no dry run of exactly this selection", batch=batch, action="reverse",
            )  # fmt: skip
        scope = str(dry.params.get("scope") or "chosen")
    params = {"run_id": batch.run_id, "ids": ids, "reason": reason, "dry_run": dry_run,
              "selection": selection, "scope": "all" if scope == "all" else "chosen"}  # fmt: skip
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
