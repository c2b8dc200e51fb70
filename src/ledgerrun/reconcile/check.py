"""Check a results file (and the journal) against Stripe itself.

Three questions, each answered from Stripe's own objects:

1. Does every row reported ``succeeded`` have its Transfer on the account and its Payment on the
   platform, with the row's account, amount, currency and adjustment?
2. Was any adjustment debited twice (two debits of this job carrying the same adjustment id)?
3. Does any debit carry this job's transfer group without being in the results as succeeded (an
   orphan: made by hand, or by a run whose results were lost; or a row reported failed,
   skipped or unknown although its debit exists)?

Debits are found by listing the job's transfer group: the transfers of every account the results
or the journal name, and the platform's charges. A debit made under this job's group on an
account that neither the results nor the journal mention is only seen if it was made by charge.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ledgerrun.clock import iso
from ledgerrun.errors import ConfigError, DebitRefusedError
from ledgerrun.job import Job
from ledgerrun.output import results
from ledgerrun.send.keys import META_ADJUSTMENT, META_JOB, transfer_group
from ledgerrun.store import sqlite as jr
from ledgerrun.stripe import lookup
from ledgerrun.stripe.client import GaveUp
from ledgerrun.stripe.gateway import Debit
from ledgerrun.stripe.session import Session

NEXT_STEP = {
    "missing_transfer": "Stripe has no such transfer on this account: check the dashboard; if the "
    "debit really is missing, the row must be debited again under a new adjustment id.",
    "missing_payment": "Stripe has no such payment on the platform: check the dashboard.",
    "mismatch": "Stripe's object differs from the results row: compare them in the dashboard.",
    "duplicate": "The adjustment was debited more than once: reverse the extra transfer(s).",
    "orphan": "A debit carries this job's transfer group but no results row: find out who made "
    "it; reverse it if it should not exist.",
    "unsettled": "A debit exists although the row is not reported succeeded: run the job again "
    "to settle it (it will not be sent twice).",
    "unchecked": "Stripe did not answer for this row: run reconcile again.",
}


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    adjustment_id: str
    account: str
    transfer_id: str
    payment_id: str
    detail: str

    @property
    def next_step(self) -> str:
        return NEXT_STEP[self.kind]


@dataclass
class Reconciliation:
    job: str
    results_path: Path
    started_at: dt.datetime
    checked: int = 0  # succeeded rows checked
    debits: int = 0  # debits found carrying the job's transfer group
    discrepancies: list[Discrepancy] = field(default_factory=list)
    ended_at: dt.datetime | None = None

    @property
    def clean(self) -> bool:
        return not self.discrepancies


@dataclass(frozen=True)
class _Row:
    adjustment_id: str
    account: str
    currency: str
    amount: int | None
    method: str
    status: str
    transfer_id: str
    payment_id: str


def reconcile(job: Job, session: Session, results_path: Path, now: dt.datetime) -> Reconciliation:
    if not results_path.exists():
        raise ConfigError(f"no results file at {results_path}: run the job first (or --results)")
    rows = _read_rows(results_path)
    earlier = _journal_entries(job)
    report = Reconciliation(job.name, results_path, now)
    found = _debits(job, session, {r.account for r in rows} | {e.account for e in earlier})
    report.debits = len(found)
    by_transfer = {d.transfer_id: d for d in found}
    by_payment = {d.payment_id: d for d in found if d.payment_id}
    succeeded = [r for r in rows if r.status == "succeeded"]
    with ThreadPoolExecutor(job.stripe.concurrency) as pool:
        for problems in pool.map(
            lambda row: _check_row(session, row, by_transfer, by_payment), succeeded
        ):
            report.discrepancies.extend(problems)
    report.checked = len(succeeded)
    report.discrepancies.extend(_duplicates_and_orphans(job, found, rows))
    return report


def _read_rows(path: Path) -> list[_Row]:
    table = results.read_results(path)
    names = (
        "adjustment_id",
        "account",
        "currency",
        "amount_minor",
        "method",
        "status",
        "transfer_id",
        "payment_id",
    )
    columns = {name: table.column(name).to_pylist() for name in names}
    return [_Row(*(columns[name][i] for name in names)) for i in range(table.num_rows)]


def _journal_entries(job: Job) -> list[jr.Entry]:
    if not job.journal.exists():
        return []
    journal = jr.SQLiteJournal.open_readonly(job.journal)
    try:
        return list(journal.entries(job.name).values())
    finally:
        journal.close()


def _debits(job: Job, session: Session, accounts: Iterable[str]) -> list[Debit]:
    """Every debit carrying the job's transfer group that Stripe lists."""
    group = transfer_group(job.name)
    ids = sorted(a for a in accounts if a.startswith("acct_") and a.isascii())

    def transfers_of(account: str) -> list[Debit]:
        try:
            return list(lookup.debits(session.caller, session.gateway, "transfer", account, group))
        except DebitRefusedError:
            return []  # an account the key cannot reach holds none of this platform's debits

    with ThreadPoolExecutor(job.stripe.concurrency) as pool:
        found = [d for batch in pool.map(transfers_of, ids) for d in batch]
    found += list(lookup.debits(session.caller, session.gateway, "charge", None, group))
    return found


def _check_row(
    session: Session, row: _Row, by_transfer: dict[str, Debit], by_payment: dict[str, Debit]
) -> list[Discrepancy]:
    """Both objects of a succeeded row, compared with the row."""

    def problem(kind: str, detail: str) -> Discrepancy:
        return Discrepancy(
            kind, row.adjustment_id, row.account, row.transfer_id, row.payment_id, detail
        )

    out: list[Discrepancy] = []
    try:
        transfer = by_transfer.get(row.transfer_id) or _fetch(
            lambda: session.gateway.transfer(row.account, row.transfer_id)
        )
        payment = by_payment.get(row.payment_id) or _fetch(
            lambda: session.gateway.payment(row.payment_id)
        )
    except GaveUp as exc:
        return [problem("unchecked", f"Stripe did not answer: {exc}")]
    if transfer is None:
        out.append(problem("missing_transfer", f"no transfer {row.transfer_id} on {row.account}"))
    if payment is None:
        out.append(problem("missing_payment", f"no payment {row.payment_id} on the platform"))
    expected = (row.account, row.amount, row.currency)
    for obj, name in ((transfer, "transfer"), (payment, "payment")):
        if obj is None:
            continue
        got = (obj.account or row.account, obj.amount, obj.currency)
        if got != expected:
            out.append(problem("mismatch", f"the {name} is {got}, the results say {expected}"))
    if (
        transfer is not None
        and payment is not None
        and (
            payment.transfer_id != transfer.transfer_id or transfer.payment_id != payment.payment_id
        )
    ):
        out.append(
            problem(
                "mismatch",
                f"payment {payment.payment_id} belongs to transfer "
                f"{payment.transfer_id}, transfer {transfer.transfer_id} to payment "
                f"{transfer.payment_id}",
            )
        )
    elif payment is not None and transfer is None and payment.transfer_id != row.transfer_id:
        out.append(
            problem(
                "mismatch",
                f"payment {payment.payment_id} belongs to transfer "
                f"{payment.transfer_id}, not {row.transfer_id}",
            )
        )
    primary = transfer if row.method == "transfer" else payment
    if primary is not None and primary.metadata.get(META_ADJUSTMENT) != row.adjustment_id:
        out.append(
            problem(
                "mismatch",
                f"the debit is for adjustment "
                f"{primary.metadata.get(META_ADJUSTMENT)!r}, not {row.adjustment_id!r}",
            )
        )
    return out


def _fetch(request: Any) -> Debit | None:
    try:
        result: Debit = request()
    except DebitRefusedError:
        return None  # 404: no such object where it should be
    return result


def _duplicates_and_orphans(job: Job, found: list[Debit], rows: list[_Row]) -> list[Discrepancy]:
    succeeded_ids = {r.transfer_id for r in rows if r.status == "succeeded"}
    succeeded_ids |= {r.payment_id for r in rows if r.status == "succeeded"}
    status_of = {r.adjustment_id: r.status for r in rows}
    by_adjustment: dict[str, list[Debit]] = defaultdict(list)
    out = []
    for debit in found:
        adjustment = debit.metadata.get(META_ADJUSTMENT, "")
        if debit.metadata.get(META_JOB) == job.name and adjustment:
            by_adjustment[adjustment].append(debit)
    for debits in by_adjustment.values():
        if len(debits) > 1:
            ids = ", ".join(d.transfer_id for d in debits)
            for debit in debits:
                if debit.transfer_id not in succeeded_ids:
                    out.append(_about(debit, "duplicate", f"{len(debits)} debits: {ids}"))
    for debit in found:
        adjustment = debit.metadata.get(META_ADJUSTMENT, "")
        if debit.transfer_id in succeeded_ids or debit.payment_id in succeeded_ids:
            continue
        if len(by_adjustment.get(adjustment, [])) > 1:
            continue  # reported above as a duplicate
        status = status_of.get(adjustment)
        if status is not None and debit.metadata.get(META_JOB) == job.name:
            out.append(_about(debit, "unsettled", f"the results row is {status}"))
        else:
            out.append(_about(debit, "orphan", "not in the results file"))
    return out


def _about(debit: Debit, kind: str, detail: str) -> Discrepancy:
    return Discrepancy(
        kind,
        debit.metadata.get(META_ADJUSTMENT, ""),
        debit.account,
        debit.transfer_id,
        debit.payment_id or "",
        f"{detail} ({debit.amount} {debit.currency}, created {debit.created})",
    )


# --- the report --------------------------------------------------------------------------------


def report_paths(results_path: Path) -> tuple[Path, Path]:
    return (
        results_path.with_name(results_path.name + ".reconcile.csv"),
        results_path.with_name(results_path.name + ".reconcile.json"),
    )


def write_report(report: Reconciliation) -> tuple[Path, Path]:
    """The discrepancies as CSV and a summary as JSON, beside the results, both atomic."""
    csv_path, json_path = report_paths(report.results_path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = ["kind", "adjustment_id", "account", "transfer_id", "payment_id", "detail"]
    writer.writerow([*columns, "what_to_do"])
    for d in report.discrepancies:
        writer.writerow([*(asdict(d)[c] for c in columns), d.next_step])
    data = buffer.getvalue().encode("utf-8")
    results.atomic_write(csv_path, lambda fh: fh.write(data))
    counts: dict[str, int] = defaultdict(int)
    for d in report.discrepancies:
        counts[d.kind] += 1
    summary = {
        "job": report.job,
        "results": str(report.results_path),
        "clean": report.clean,
        "succeeded_rows_checked": report.checked,
        "debits_found": report.debits,
        "discrepancies": dict(sorted(counts.items())),
        "report": str(csv_path),
        "started_at": iso(report.started_at),
        "ended_at": iso(report.ended_at),
    }
    text = (json.dumps(summary, indent=2) + "\n").encode("utf-8")
    results.atomic_write(json_path, lambda fh: fh.write(text))
    return csv_path, json_path
