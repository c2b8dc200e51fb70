"""Consent: Stripe requires legally binding consent from every account a platform debits.

A job may name a consent registry (CSV, XLSX or Parquet) with columns ``account``,
``reference``, ``granted_at``, and optionally ``revoked_at``, ``max_amount`` and ``currency``.
Dates are ``YYYY-MM-DD`` or ISO 8601 timestamps (UTC when no offset is given); in an .xlsx
registry a date cell is the date, or date and time, it shows, whatever its number format
(:mod:`~ledgerrun.ingest.records`). A consent is in force on a run date when it was granted on or
before that date and not revoked on or before it.

With a registry, every debit row of an account without consent in force on the run date, or
above its ``max_amount`` (in its currency), is ``no_consent``; every debit sent carries the
consent's reference as metadata ``ledgerrun_consent``, so an auditor can trace each debit to its
consent. Credits need no consent. Without a registry, nothing is checked, and ``plan`` and the
report say so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ledgerrun import money
from ledgerrun.errors import ConfigError, LedgerFileError
from ledgerrun.ingest.records import read_records
from ledgerrun.send.preflight import Finding
from ledgerrun.vocab import Direction, money_text

COLUMNS = ("account", "reference", "granted_at")


@dataclass(frozen=True)
class Consent:
    row: int
    account: str
    reference: str
    granted_at: dt.datetime
    revoked_at: dt.datetime | None
    max_amount: int | None  # minor units of ``currency``
    currency: str | None

    def in_force(self, day: dt.date) -> bool:
        granted = self.granted_at.date() <= day
        revoked = self.revoked_at is not None and self.revoked_at.date() <= day
        return granted and not revoked


def load_registry(path: Path) -> dict[str, list[Consent]]:
    """Every consent of the registry, by account; ConfigError naming the row and column of any
    value that cannot be read (a registry is never half-read)."""
    try:
        records = read_records(path, COLUMNS, "consent registry", amounts=("max_amount",))
    except LedgerFileError as exc:
        raise ConfigError(f"the consent registry cannot be read: {exc}") from None
    out: dict[str, list[Consent]] = {}
    for row, cells in records.rows:

        def bad(column: str, why: str, row: int = row) -> ConfigError:
            return ConfigError(f"consent registry {path.name}, row {row}, column {column}: {why}")

        account = cells.get("account", "")
        reference = cells.get("reference", "")
        if not account.startswith("acct_"):
            raise bad("account", f"{account!r} is not a connected account id")
        if not reference:
            raise bad("reference", "every consent needs its reference (the signed document)")
        granted = _moment(cells.get("granted_at", ""))
        if granted is None:
            raise bad("granted_at", "write the date consent was given, as YYYY-MM-DD")
        revoked_text = cells.get("revoked_at", "")
        revoked = _moment(revoked_text) if revoked_text else None
        if revoked_text and revoked is None:
            raise bad(
                "revoked_at", "write the date consent ended, as YYYY-MM-DD, or leave it empty"
            )
        currency = cells.get("currency", "").lower() or None
        limit_text = cells.get("max_amount", "")
        limit = None
        if limit_text:
            if currency is None or not money.is_currency(currency):
                raise bad("currency", "a max_amount needs the currency it is in (usd, eur, ...)")
            try:
                limit = money.parse_major(limit_text, money.exponent(currency))
            except money.AmountError as exc:
                raise bad("max_amount", exc.message) from None
        consent = Consent(row, account, reference, granted, revoked, limit, currency)
        out.setdefault(account, []).append(consent)
    return out


def _moment(text: str) -> dt.datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def in_force(consents: list[Consent], day: dt.date) -> Consent | None:
    """The consent in force on ``day`` (the latest granted, when several are)."""
    live = [c for c in consents if c.in_force(day)]
    return max(live, key=lambda c: c.granted_at) if live else None


def check(
    account: pa.Array,
    currency: pa.Array,
    amount_minor: pa.Array,
    directions: list[str],
    valid: pa.Array,
    registry: dict[str, list[Consent]],
    day: dt.date,
) -> tuple[Finding | None, dict[int, str]]:
    """The ``no_consent`` finding for debit rows, and each debit row's consent reference."""
    problems: dict[int, str] = {}
    references: dict[int, str] = {}
    rows = zip(
        account.to_pylist(),
        currency.to_pylist(),
        amount_minor.to_pylist(),
        directions,
        valid.to_pylist(),
        strict=True,
    )
    for index, (acct, cur, amount, direction, ok) in enumerate(rows):
        if not ok or direction != Direction.DEBIT:
            continue
        consent = in_force(registry.get(acct, []), day)
        if consent is None:
            known = registry.get(acct)
            why = (
                "its consent was revoked or is not yet in force"
                if known
                else "the consent registry has no consent for it"
            )
            problems[index] = f"{acct} cannot be debited on {day}: {why}."
            continue
        if consent.max_amount is not None and (
            consent.currency != cur or (amount is not None and int(amount) > consent.max_amount)
        ):
            problems[index] = (
                f"{acct}'s consent {consent.reference} allows at most "
                f"{money_text(consent.max_amount, consent.currency or '')} per debit."
            )
            continue
        references[index] = consent.reference
    if not problems:
        return None, references
    mask = pa.array([i in problems for i in range(len(directions))], pa.bool_())
    finding = Finding(mask, "account", "no_consent", account, lambda v, i: problems[i])
    return finding, references
