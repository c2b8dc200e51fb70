"""What the Python API's calls return: frozen dataclasses holding the library's own values (the
validation, the plan, the run's summary and outcomes, the reconciliation), the exit code the
command line would have exited with, and DataFrame views of their tables.

Every result prints as the command line's text (``print(result)``); its ``repr`` is one line.
The DataFrame views are made on first use (pandas is imported then) and kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ledgerrun.api.frames import RowLabels, frame_of, labelled_index, to_frame
from ledgerrun.errors import ExitCode
from ledgerrun.job import Job
from ledgerrun.vocab import Problem

if TYPE_CHECKING:
    import pandas as pd

    from ledgerrun.ingest.validation import Validation
    from ledgerrun.reconcile.model import Discrepancy, Reconciliation
    from ledgerrun.send.plan import Plan
    from ledgerrun.send.reversal.command import ReverseResult as Reversal
    from ledgerrun.send.runner import RunResult as Ran
    from ledgerrun.summary import ControlTotal, Summary
    from ledgerrun.vocab import RowOutcome

SHOWN = 50  # problems listed by print(result), as the command line's default


def problems_frame(problems: Sequence[Problem], labels: RowLabels | None) -> pd.DataFrame:
    """row, column, code, value, message (and, for a DataFrame input, ``index``: the label of
    the DataFrame's row, None for a problem of the whole file)."""
    import pyarrow as pa

    columns: dict[str, list[object]] = {
        "row": [p.row for p in problems],
        "column": [p.column for p in problems],
        "code": [p.code for p in problems],
        "value": [p.value for p in problems],
        "message": [p.message for p in problems],
    }
    kinds = {"row": pa.int64()}
    if labels is not None:
        import pandas as pd

        frame = frame_of(columns, kinds)
        frame["index"] = pd.Series([labels.of(p.row) for p in problems], dtype=object)
        return frame
    return frame_of(columns, kinds)


def _major(minor: int, currency: str) -> str:
    """Minor units as major-unit text, as the results file writes amounts: ``1500.00``."""
    from ledgerrun import money

    return money.format_major(minor, money.exponent(currency))


class _Shown:
    exit_code: ExitCode

    def _fields(self) -> str:
        return ""

    def __repr__(self) -> str:
        code = f"ExitCode.{ExitCode(self.exit_code).name}"
        return f"{type(self).__name__}(exit_code={code}, {self._fields()})"

    @property
    def ok(self) -> bool:
        """True when the command line would have exited 0."""
        return self.exit_code == ExitCode.OK


@dataclass(frozen=True, eq=False, repr=False)
class ValidateResult(_Shown):
    """What :func:`ledgerrun.validate` found. ``validation`` is the library's own."""

    exit_code: ExitCode
    job: Job
    validation: Validation
    online: bool  # the accounts and Stripe's books were checked too
    labels: RowLabels | None = None

    @property
    def valid(self) -> bool:
        return self.validation.ok

    @property
    def rows(self) -> int:
        return self.validation.rows

    @property
    def problem_list(self) -> list[Problem]:
        return list(self.validation.problems)

    @cached_property
    def problems(self) -> pd.DataFrame:
        return problems_frame(self.validation.problems, self.labels)

    def _fields(self) -> str:
        return f"rows={self.rows}, problems={len(self.validation.problems)}"

    def __str__(self) -> str:
        from ledgerrun.output import text

        return text.validation(self.validation, SHOWN)


@dataclass(frozen=True, eq=False, repr=False)
class PlanResult(_Shown):
    """What :func:`ledgerrun.plan` would send. ``plan`` is the library's own."""

    exit_code: ExitCode
    job: Job
    plan: Plan
    labels: RowLabels | None = None

    @property
    def valid(self) -> bool:
        return self.plan.valid

    @property
    def validation(self) -> Validation:
        return self.plan.prepared.validation

    @property
    def totals(self) -> dict[str, int]:
        """Debits per currency, in minor units."""
        return dict(self.plan.totals)

    @property
    def credit_totals(self) -> dict[str, int]:
        return dict(self.plan.credit_totals)

    @property
    def net(self) -> dict[str, int]:
        return self.plan.net

    @property
    def control_total(self) -> ControlTotal | None:
        return self.validation.control_total

    @cached_property
    def groups(self) -> pd.DataFrame:
        """One row per account, currency and direction: rows, total, done, to do (amounts in
        minor units, and ``amount`` in major units as text); online, with each account's
        ``available`` balance, whether its debits are ``short`` and by how much
        (``shortfall_minor``), as :mod:`ledgerrun.send.plan` works it out."""
        import pyarrow as pa

        groups = self.plan.groups
        columns: dict[str, list[object]] = {
            "account": [g.account for g in groups],
            "currency": [g.currency for g in groups],
            "direction": [g.direction for g in groups],
            "rows": [g.rows for g in groups],
            "amount": [_major(g.amount_minor, g.currency) for g in groups],
            "amount_minor": [g.amount_minor for g in groups],
            "done": [g.done for g in groups],
            "todo": [g.todo for g in groups],
            "todo_minor": [g.todo_minor for g in groups],
            "available": [g.available for g in groups],
            "short": [g.short if g.available is not None else None for g in groups],
            "shortfall_minor": [
                g.shortfall_minor if g.available is not None else None for g in groups
            ],
        }
        integers = ("rows", "amount_minor", "done", "todo", "todo_minor", "available",
                    "shortfall_minor")  # fmt: skip
        kinds = {name: pa.int64() for name in integers} | {"short": pa.bool_()}
        return frame_of(columns, kinds)

    @cached_property
    def problems(self) -> pd.DataFrame:
        return problems_frame(self.validation.problems, self.labels)

    def _fields(self) -> str:
        return f"groups={len(self.plan.groups)}, problems={len(self.validation.problems)}"

    def __str__(self) -> str:
        from ledgerrun.output import text

        return text.plan(self.plan, SHOWN)


@dataclass(frozen=True, eq=False, repr=False)
class RunResult(_Shown):
    """What :func:`ledgerrun.run` did. ``detail`` is the library's own run result (the prepared
    ledger, the outcomes, the summary, where the files went)."""

    exit_code: ExitCode
    job: Job
    detail: Ran
    dry_run: bool
    labels: RowLabels | None = None

    @property
    def summary(self) -> Summary:
        return self.detail.summary

    @property
    def outcomes(self) -> list[RowOutcome]:
        """Each row's outcome, in ledger order."""
        return list(self.detail.outcomes)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.summary.counts)

    @property
    def validation(self) -> Validation:
        return self.detail.prepared.validation

    @property
    def results_path(self) -> Path:
        return self.detail.outputs.results

    @property
    def summary_path(self) -> Path:
        return self.detail.outputs.summary

    @property
    def report_path(self) -> Path:
        return self.detail.outputs.report

    @property
    def notes(self) -> list[str]:
        return list(self.detail.notes)

    @cached_property
    def results(self) -> pd.DataFrame:
        """The results table, column for column as the results file has it (indexed by the
        input DataFrame's labels when the ledger was a DataFrame)."""
        table = self.detail.table
        if table is None:  # pragma: no cover - the API always publishes
            from ledgerrun.send.table import results_table

            table = results_table(self.detail.prepared, self.detail.outcomes)
        rows = table.column("row").to_pylist()
        return to_frame(table, labelled_index(rows, self.labels))

    @cached_property
    def problems(self) -> pd.DataFrame:
        return problems_frame(self.validation.problems, self.labels)

    def _fields(self) -> str:
        counts = {k: v for k, v in self.counts.items() if v}
        return f"counts={counts}, results={str(self.results_path)!r}"

    def __str__(self) -> str:
        from ledgerrun.output import text

        return text.run_report(self.detail)


@dataclass(frozen=True, eq=False, repr=False)
class ReverseResult(_Shown):
    """What :func:`ledgerrun.reverse` did. ``detail`` is the library's own reversal result."""

    exit_code: ExitCode
    job: Job
    detail: Reversal
    labels: RowLabels | None = None

    @property
    def dry_run(self) -> bool:
        return self.detail.dry_run

    @property
    def warnings(self) -> list[str]:
        return list(self.detail.warnings)

    @property
    def totals(self) -> dict[str, int]:
        """Reversed now, per currency, in minor units."""
        return dict(self.detail.totals)

    @property
    def results_path(self) -> Path:
        return self.detail.results_path

    @property
    def summary_path(self) -> Path:
        return self.detail.summary_path

    @cached_property
    def results(self) -> pd.DataFrame:
        """This call's reversals, one row per reversal asked for, in the reversals file's
        columns (the file itself holds every reversal of the run date)."""
        from ledgerrun.send.reversal.files import reversal_table

        table = reversal_table(self.detail.lines, self.detail.run_id)
        rows = table.column("row").to_pylist()
        return to_frame(table, labelled_index(rows, self.labels))

    @cached_property
    def problems(self) -> pd.DataFrame:
        """The requests that cannot be made (status ``invalid``), one problem each."""
        found = [line.request.problem for line in self.detail.lines]
        return problems_frame([p for p in found if p is not None], self.labels)

    def _fields(self) -> str:
        return f"reversals={len(self.detail.lines)}, results={str(self.results_path)!r}"

    def __str__(self) -> str:
        from ledgerrun.output import text

        return text.reversal_report(self.detail)


@dataclass(frozen=True, eq=False, repr=False)
class ReconcileResult(_Shown):
    """What :func:`ledgerrun.reconcile` found. ``reconciliation`` is the library's own."""

    exit_code: ExitCode
    job: Job
    reconciliation: Reconciliation
    report_path: Path  # the discrepancies as CSV, with what to do for each
    summary_path: Path
    refreshed_report: Path | None  # the run's HTML report, now with this verdict

    @property
    def clean(self) -> bool:
        return self.reconciliation.clean

    @property
    def discrepancy_list(self) -> list[Discrepancy]:
        return list(self.reconciliation.discrepancies)

    @cached_property
    def discrepancies(self) -> pd.DataFrame:
        """kind, adjustment_id, account, transfer_id, payment_id, detail, what_to_do, and the
        amount at stake: ``amount_minor`` (minor units, when known) and ``currency``."""
        import pyarrow as pa

        found = self.reconciliation.discrepancies
        columns: dict[str, list[object]] = {
            "kind": [d.kind for d in found],
            "adjustment_id": [d.adjustment_id for d in found],
            "account": [d.account for d in found],
            "transfer_id": [d.transfer_id for d in found],
            "payment_id": [d.payment_id for d in found],
            "detail": [d.detail for d in found],
            "what_to_do": [d.next_step for d in found],
            "amount_minor": [d.amount_minor for d in found],
            "currency": [d.currency for d in found],
        }
        return frame_of(columns, {"amount_minor": pa.int64()})

    def _fields(self) -> str:
        r = self.reconciliation
        return f"checked={r.checked}, discrepancies={len(r.discrepancies)}"

    def __str__(self) -> str:
        from ledgerrun.output import text

        return text.reconciliation(self.reconciliation, self.report_path, SHOWN)
