"""What a problem is when the library's word for it would mislead on a page: an account id that
is not in the consent registry but one or two characters from one that is (a mistyped id, not
an account that lacks consent).

Only words change here: the row stays invalid, as the library found it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ledgerrun.errors import LedgerrunError
from ledgerrun.vocab import Problem

NEAR = 2  # characters apart, at most, for an account id to be taken for a mistyped one


def distance(a: str, b: str, limit: int = NEAR) -> int:
    """The edit distance of ``a`` and ``b`` (letters added, removed or changed), or
    ``limit + 1`` as soon as it is more than ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))  # fmt: skip
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def registered(path: Path | None) -> set[str]:
    """The accounts of a consent registry (empty when there is none or it cannot be read)."""
    if path is None:
        return set()
    from ledgerrun.send.consent import load_registry

    try:
        return set(load_registry(path))
    except LedgerrunError:
        return set()


def mistyped(problem: Problem, known: Iterable[str]) -> Problem:
    """A ``no_consent`` problem on an account the registry does not have, close to one it has,
    said as what it most likely is: a mistyped account id. Any other problem as it is."""
    account = problem.value
    known = set(known)
    if problem.code != "no_consent" or not account or account in known:
        return problem
    near = sorted(k for k in known if distance(account, k) <= NEAR)
    if not near:
        return problem
    apart = distance(account, near[0])
    chars = "one character" if apart == 1 else f"{apart} characters"
    return Problem(
        problem.row, problem.column, "bad_account", problem.value,
        f"{account} is not in the consent registry, but {near[0]} is, {chars} apart: probably a "
        "mistyped account id. Correct the id; if it is right after all, record the account's "
        "consent in the registry.",
    )  # fmt: skip
