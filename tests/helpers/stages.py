"""A validation as the later stages take it, built offline (nothing from a store or Stripe)."""

from __future__ import annotations

from typing import Any

from tests.helpers.constants import RUN_DATE


def prepared_of(validation: Any, job: Any = None) -> Any:
    """A validation as the later stages take it (offline: nothing from a store or Stripe)."""
    from ledgerrun.jobfile import load_target
    from ledgerrun.send.prepare import Prepared

    job = job or load_target(validation.ledger.path, RUN_DATE)
    return Prepared(
        job,
        validation,
        [str(k) for k in validation.adjustment_key.to_pylist()],
        [str(d) for d in validation.direction.to_pylist()],
    )


def plan_of(validation: Any) -> Any:
    from ledgerrun.send.plan import build_plan

    return build_plan(prepared_of(validation))


def results_of(validation: Any, outcomes: list[Any]) -> Any:
    from ledgerrun.send.table import results_table

    return results_table(prepared_of(validation), outcomes)
