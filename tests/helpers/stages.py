"""A ledger as the later stages take it: offline (nothing from a store or Stripe), or prepared
online against the in-process fakes (tests/helpers/fakes.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.helpers.constants import RUN_DATE

if TYPE_CHECKING:
    from ledgerrun.job import Job
    from ledgerrun.send.prepare import Prepared
    from ledgerrun.stripe.session import Session


def prepared_of(validation: Any, job: Any = None) -> Any:
    """A validation as the later stages take it (offline: nothing from a store or Stripe)."""
    from ledgerrun.jobfile import load_target
    from ledgerrun.send.prepare import Prepared

    job = job or load_target(validation.ledger.path, RUN_DATE)
    return Prepared(job, validation)


def plan_of(validation: Any) -> Any:
    from ledgerrun.send.plan import build_plan

    return build_plan(prepared_of(validation))


def results_of(validation: Any, outcomes: list[Any]) -> Any:
    from ledgerrun.send.table import results_table

    return results_table(prepared_of(validation), outcomes)


# --- a ledger prepared online, against the in-process fakes -----------------------------------

LEDGER_HEADER = "adjustment_id,account,amount,currency,direction,method"


def ledger_job(folder: Path, *rows: str, name: str = "nightly", **changes: Any) -> Job:
    """A ledger of ``rows`` (under :data:`LEDGER_HEADER`) written in ``folder``, and its job:
    every setting at its default unless ``changes`` says otherwise, run date RUN_DATE."""
    from ledgerrun.jobfile import load_target

    path = folder / f"{name}.csv"
    path.write_text("\n".join([LEDGER_HEADER, *rows]) + "\n", encoding="utf-8")
    job = load_target(path, RUN_DATE, job_name=name)
    return job.replace(**changes) if changes else job


def fake_session(job: Job, client: Any) -> Session:
    """A Stripe session around a FakeClient (the platform is the fake's)."""
    from ledgerrun.stripe.session import Session
    from ledgerrun.vocab import Mode

    return Session(job, client, client.gateway.platform_object, Mode.SANDBOX, "fake")


def prepared_online(job: Job, client: Any, store: Any = None, *, writable: bool = True) -> Prepared:
    """``prepare`` as ``run`` does it (offline, then online with a store it may write),
    against the fake client; the clock is the client's."""
    from ledgerrun.send.prepare import prepare_offline, prepare_online

    prepared = prepare_offline(job, store)
    return prepare_online(
        prepared, fake_session(job, client), store=store, writable=writable, clock=client.clock
    )
