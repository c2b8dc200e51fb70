"""What Stripe's books say of the transfers a reversal request would undo, before anything is
sent: each transfer confirmed (and what was reversed outside ledgerrun read), reversals Stripe
holds under a request's identity that the journal lacks taken as done (never sent again), and
the paying side's balance compared with what it would pay back (a warning: Stripe refuses a
reversal the balance cannot cover, and it is then ``failed``)."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from ledgerrun.clock import Clock
from ledgerrun.errors import RefusedError, StripeError
from ledgerrun.job import Job
from ledgerrun.send.keys import META_REVERSAL
from ledgerrun.send.reversal import requests as rq
from ledgerrun.store.model import (
    FAILED,
    REFUND,
    SUCCEEDED,
    TRANSFER_REVERSAL,
    Journal,
    ReversalEntry,
)
from ledgerrun.stripe.client import Client
from ledgerrun.stripe.session import Session
from ledgerrun.stripe.shapes import Refund, Reversal
from ledgerrun.vocab import Direction, money_text

FOUND_IN_STRIPE = "found-in-stripe"  # the run id under which an adopted reversal is recorded


def look_in_stripe(
    requests: rq.Requests, session: Session, store: Journal, job: Job, clock: Clock
) -> tuple[dict[str, int], list[str]]:
    """Each transfer's ``amount_reversed``; reversals Stripe holds that the journal lacks (taken
    as done); and warnings when the paying side's balance looks short."""
    client = session.client
    wanted = {r.entry.transfer_id: r for r in requests.items if r.entry and r.entry.transfer_id}
    reversed_now: dict[str, int] = {}

    def fetch(item: tuple[str, rq.Request]) -> tuple[str, int, list[Reversal | Refund]]:
        """The transfer's reversed amount, and what undid it that names its request: the
        transfer's reversals, and (a debit) the refunds of the platform's payment."""
        transfer_id, request = item
        try:
            movement = client.transfer(transfer_id, request.context)
        except RefusedError:
            return transfer_id, -1, []
        if not movement.amount_reversed:
            return transfer_id, 0, []
        found: list[Reversal | Refund] = list(client.reversals(transfer_id, request.context))
        payment = request.entry.payment_id if request.entry else None
        if request.context is not None and payment:
            found += list(client.refunds(payment))
        return transfer_id, movement.amount_reversed, found

    with ThreadPoolExecutor(max(1, min(job.stripe.concurrency, len(wanted) or 1))) as pool:
        answers = list(pool.map(fetch, wanted.items()))
    by_key: dict[str, Reversal | Refund] = {}
    for transfer_id, amount_reversed, found in answers:
        if amount_reversed < 0:
            for r in requests.items:
                if r.entry and r.entry.transfer_id == transfer_id and r.problem is None:
                    r.problem = rq.problem_of(
                        r,
                        "adjustment_id",
                        "adjustment_conflict",
                        f"Stripe has no transfer {transfer_id} for adjustment "
                        f"'{r.adjustment_id}': it cannot be reversed (run ledgerrun reconcile).",
                    )
            continue
        reversed_now[transfer_id] = amount_reversed
        for reversal in found:
            key = reversal.metadata.get(META_REVERSAL)
            if key:
                by_key[key] = reversal
    for r in requests.items:
        held = by_key.get(r.key)
        if r.problem is None and r.done is None and held is not None and r.entry is not None:
            r.done = adopt(store, r, held, job, clock)
            r.amount_minor = held.amount
    return reversed_now, balance_warnings(requests, client)


def adopt(
    store: Journal, r: rq.Request, reversal: Reversal | Refund, job: Job, clock: Clock
) -> ReversalEntry:
    """A reversal (or refund) Stripe holds under this request's identity but the journal does
    not know as done (its journal was lost, or the answer never came): recorded as done, never
    sent again."""
    assert r.entry is not None
    now = clock.now()
    earlier = r.earlier
    refund = reversal if isinstance(reversal, Refund) else None
    trr = (refund.source_transfer_reversal or "") if refund else reversal.id
    if earlier is None or earlier.state == FAILED:
        earlier = rq.intent_of(
            r,
            job,
            generation=0 if earlier is None else earlier.generation + 1,
            amount_minor=reversal.amount,
            request={"amount": reversal.amount},
            attempts=0,
            attempted_at=now,
            attempted_at_server=now,
            run_id=FOUND_IN_STRIPE,
            method=REFUND if refund else TRANSFER_REVERSAL,
        )
        store.record_reversal_intent(earlier)
    store.record_reversal_success(
        r.key,
        run_id=FOUND_IN_STRIPE,
        reversal_object_id=trr,
        request_id=reversal.request_id,
        completed_at=now,
        refund_id=refund.id if refund else None,
        refund_status=refund.status if refund else None,
    )
    return replace(
        earlier,
        state=SUCCEEDED,
        reversal_object_id=trr,
        completed_at=now,
        refund_id=refund.id if refund else None,
        refund_status=refund.status if refund else None,
    )


def settle_refunds(requests: rq.Requests, client: Client, store: Journal, clock: Clock) -> None:
    """Refunds this journal holds as pending (the request executed; Stripe had not yet paid
    the money back): each asked of Stripe again and, once it ended, recorded as it ended (a
    failed or canceled refund makes the reversal failed: nothing went back)."""
    for r in requests.items:
        done = r.done
        if done is None or done.method != REFUND or done.refund_status != "pending":
            continue
        try:
            now = client.refund_of(done.refund_id or "")
        except StripeError:
            continue  # asked again on the next command
        if now.status == "pending":
            continue
        store.settle_refund(
            done.key, status=now.status, reversal_object_id=now.source_transfer_reversal,
            at=clock.now(),
        )  # fmt: skip
        settled = replace(done, refund_status=now.status)
        if now.status in ("failed", "canceled"):  # nothing went back: asked again, on a new key
            settled = replace(settled, state=FAILED, error_code=f"refund_{now.status}")
            r.done, r.earlier = None, settled
        else:
            r.done = r.earlier = settled


def balance_warnings(requests: rq.Requests, client: Client) -> list[str]:
    """The paying side of each reversal: the platform for a debit, the account for a credit."""
    need: dict[tuple[str | None, str], int] = defaultdict(int)
    for r in requests.items:
        if r.problem is None and r.done is None and r.entry is not None and r.amount_minor:
            payer = None if r.entry.direction == Direction.DEBIT else r.entry.account
            need[(payer, r.entry.currency)] += r.amount_minor
    warnings = []
    for (payer, currency), amount in sorted(
        need.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])
    ):
        try:
            available = client.available(payer).get(currency, 0)
        except StripeError:
            continue
        if available < amount:
            who_pays = "the platform" if payer is None else payer
            warnings.append(
                f"{who_pays} has {money_text(available, currency)} available but would pay back "
                f"{money_text(amount, currency)}: reversals it cannot cover fail."
            )
    return warnings
