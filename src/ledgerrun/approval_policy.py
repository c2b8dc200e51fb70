"""A job's approval policy (``[approval]`` in its file) and where a batch stands under it.

```toml
[approval]
required = true          # every batch needs one approver (version 2: [job] approval = "required")
rules = [{ above = "10000.00", currency = "usd", approvers = 2 }]
```

A rule applies to a batch when the money it moves in the rule's currency is *above* the rule's
amount (strictly). The money a batch moves in a currency is its **gross**: the debits plus the
credits in that currency, never their net. Both directions move real money (a batch that takes
50,000 from accounts and pays 50,000 out nets to nothing but moves 100,000), and each currency
stands alone (USD and EUR are never added). A batch needs the most approvers any applying rule
asks for, at least one when ``required`` is true; none when nothing applies and ``required`` is
false (rules alone ask for approval only above their amounts).

The approvers are distinct people, none of them the batch's uploader, each approving the same
file (its SHA-256) and the same plan totals. A rejection or a send-back ends the batch's
approval for good: the corrected ledger is a new upload, a new batch and new approvals.

This module only reads the job file's table and counts; the store keeps the decisions and the web
application and ``ledgerrun run`` ask :func:`standing` whether they suffice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from ledgerrun import money
from ledgerrun.errors import ConfigError

RULE_KEYS = ("above", "currency", "approvers")
MAX_APPROVERS = 10
DECISIONS = ("approved", "rejected", "sent_back")


class Rule(NamedTuple):
    """Above ``above_minor`` (minor units of ``currency``) moved, ``approvers`` people approve."""

    above_minor: int
    currency: str  # lower-case ISO 4217
    approvers: int

    @property
    def above_text(self) -> str:
        """``10,000.00 USD``."""
        places = money.exponent(self.currency)
        amount = money.format_major(self.above_minor, places, grouping=True)
        return f"{amount} {self.currency.upper()}"

    def describe(self) -> str:
        """``above 10,000.00 USD moved (debits plus credits): 2 approvers``."""
        people = "1 approver" if self.approvers == 1 else f"{self.approvers} approvers"
        return f"above {self.above_text} moved (debits plus credits): {people}"


class Policy(NamedTuple):
    """Whether every batch needs an approver, and the rules by amount."""

    required: bool = False
    rules: tuple[Rule, ...] = ()

    @property
    def any(self) -> bool:
        """Whether some batch of the job may need an approval."""
        return self.required or bool(self.rules)

    def applying(self, totals: Mapping[str, Any]) -> list[Rule]:
        """The rules whose amount the batch's gross in their currency is above."""
        return [r for r in self.rules if moved(totals, r.currency) > r.above_minor]

    def needed(self, totals: Mapping[str, Any]) -> int:
        """How many distinct approvers a batch with these totals needs (0: none)."""
        base = 1 if self.required else 0
        return max([base, *(r.approvers for r in self.applying(totals))])

    def reasons(self, totals: Mapping[str, Any]) -> list[str]:
        """Why the batch needs its approvers, in words."""
        out = ["the job requires an approval of every batch"] if self.required else []
        for rule in self.applying(totals):
            people = "1 approver" if rule.approvers == 1 else f"{rule.approvers} approvers"
            out.append(
                f"it moves {moved_text(totals, rule.currency)} (debits plus credits), above "
                f"{rule.above_text}: {people}"
            )
        return out


def moved(totals: Mapping[str, Any], currency: str) -> int:
    """The gross a batch moves in ``currency`` (minor units): its debits plus its credits."""
    debits = totals.get("debits") or {}
    credits = totals.get("credits") or {}
    return int(debits.get(currency, 0)) + int(credits.get(currency, 0))


def moved_text(totals: Mapping[str, Any], currency: str) -> str:
    amount = money.format_major(moved(totals, currency), money.exponent(currency), grouping=True)
    return f"{amount} {currency.upper()}"


# --- where a batch stands ------------------------------------------------------------------------


class Decision(Protocol):
    """A decision as the store keeps it (:class:`ledgerrun.store.model.Approval`)."""

    @property
    def decision(self) -> str: ...
    @property
    def by(self) -> str: ...
    @property
    def totals(self) -> dict[str, Any]: ...


class Standing(NamedTuple):
    """A batch under its policy: how many approvers it needs, who has approved it (distinct,
    not its uploader, for the totals it has now), and whether a rejection or send-back ended it.
    ``stale`` are approvers whose approval was given for other totals (the plan changed)."""

    needed: int
    approvers: tuple[str, ...] = ()
    ended: str = ""  # "rejected" | "sent_back" | ""
    ended_by: str = ""
    stale: tuple[str, ...] = ()

    @property
    def approved(self) -> bool:
        """Whether the batch may run as far as approval goes."""
        return not self.ended and len(self.approvers) >= self.needed

    @property
    def missing(self) -> int:
        """How many more approvers it needs."""
        return 0 if self.ended else max(0, self.needed - len(self.approvers))


def standing(
    policy: Policy,
    totals: Mapping[str, Any],
    decisions: Iterable[Decision],
    uploader: str = "",
) -> Standing:
    """Where a batch with ``totals``, uploaded by ``uploader``, stands under ``policy`` after
    ``decisions`` (its own, oldest first)."""
    return counted(policy.needed(totals), totals, decisions, uploader)


def counted(
    needed: int, totals: Mapping[str, Any], decisions: Iterable[Decision], uploader: str = ""
) -> Standing:
    """Where a batch needing ``needed`` approvers stands after ``decisions``. An approval by the
    uploader, a second one by the same person or one given for other totals does not count; a
    rejection or send-back ends it."""
    approvers: list[str] = []
    stale: list[str] = []
    for d in decisions:
        if d.decision in ("rejected", "sent_back"):
            return Standing(needed, tuple(approvers), d.decision, d.by)
        if d.decision != "approved" or d.by == uploader or d.by in approvers:
            continue
        if dict(d.totals) == dict(totals):
            approvers.append(d.by)
        elif d.by not in stale:
            stale.append(d.by)
    return Standing(needed, tuple(approvers), stale=tuple(stale))


# --- reading the job file ------------------------------------------------------------------------


def read_policy(doc: Mapping[str, Any], job_approval: str | None) -> Policy:
    """The ``[approval]`` table of a job file, with version 2's ``[job] approval`` (given as
    ``job_approval`` when the file has it); ConfigError names the key at fault."""
    raw = doc.get("approval", {})
    if not isinstance(raw, dict):
        raise ConfigError("'approval' must be a table ([approval])")
    for key in raw:
        if key not in ("required", "rules"):
            raise ConfigError(f"unknown key 'approval.{key}'; known keys: approval.required, "
                              "approval.rules")  # fmt: skip
    required: bool | None = None
    if "required" in raw:
        if not isinstance(raw["required"], bool):
            raise ConfigError(f"'approval.required' must be true or false, not {raw['required']!r}")
        required = raw["required"]
    if job_approval is not None and job_approval not in ("none", "required"):
        raise ConfigError(f"'job.approval' must be 'none' or 'required', not '{job_approval}'")
    old = None if job_approval is None else job_approval == "required"
    if required is not None and old is not None and required != old:
        raise ConfigError(
            f"'job.approval' (\"{job_approval}\") and 'approval.required' ({str(required).lower()})"
            " disagree: keep one of them (approval.required is the newer way to say it)"
        )
    rules = _rules(raw.get("rules", []))
    return Policy(required=bool(required if required is not None else old), rules=rules)


def _rules(raw: Any) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise ConfigError(
            "'approval.rules' must be a list of tables, e.g. "
            '[{ above = "10000.00", currency = "usd", approvers = 2 }]'
        )
    rules = []
    for number, item in enumerate(raw, start=1):
        where = f"approval.rules[{number}]"
        for key in item:
            if key not in RULE_KEYS:
                raise ConfigError(f"unknown key '{key}' in '{where}'; a rule has above, currency "
                                  "and approvers")  # fmt: skip
        for key in RULE_KEYS:
            if key not in item:
                raise ConfigError(f"'{where}' needs '{key}'")
        code = item["currency"]
        if not isinstance(code, str) or not money.is_currency(code):
            raise ConfigError(f"'{where}.currency': {code!r} is not an ISO 4217 currency code")
        code = code.lower()
        above = item["above"]
        if isinstance(above, float):
            raise ConfigError(f"'{where}.above' must be written in quotes (\"{above}\") so it is "
                              "exact")  # fmt: skip
        if isinstance(above, bool) or not isinstance(above, str | int):
            raise ConfigError(f"'{where}.above' must be an amount in quotes, e.g. \"10000.00\"")
        try:
            minor = money.parse_major(str(above).strip(), money.exponent(code))
        except money.AmountError as exc:
            raise ConfigError(f"'{where}.above': {exc.message}") from None
        if minor < 0:
            raise ConfigError(f"'{where}.above' must not be negative")
        people = item["approvers"]
        if isinstance(people, bool) or not isinstance(people, int):
            raise ConfigError(f"'{where}.approvers' must be a whole number, not {people!r}")
        if not 1 <= people <= MAX_APPROVERS:
            raise ConfigError(f"'{where}.approvers' must be between 1 and {MAX_APPROVERS}")
        rules.append(Rule(minor, code, people))
    return tuple(rules)


def rules_json(rules: Sequence[Rule]) -> list[dict[str, Any]]:
    """The rules as a batch's summary keeps them (shown on its page)."""
    return [{"above_minor": r.above_minor, "currency": r.currency, "approvers": r.approvers,
             "text": r.describe()} for r in rules]  # fmt: skip
