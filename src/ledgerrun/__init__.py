"""ledgerrun: debit Stripe Connect accounts in bulk, exactly once, from a ledger file.

For notebooks and scripts: ``ledgerrun.validate``, ``plan``, ``run``, ``reverse`` and
``reconcile`` (see :mod:`ledgerrun.api` and docs/python.md). They are loaded on first use, so
``import ledgerrun`` (and the ``ledgerrun`` command, which imports it) stays fast and never
imports pandas.

``ledgerrun.reconcile`` is the function, whatever has been imported: the package of the same name
(``ledgerrun/reconcile/``, the reconciliation itself) is imported by its full name, as in
``from ledgerrun.reconcile.check import reconcile``, never reached as an attribute of this one.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from ledgerrun.startup import on_first_use

__version__ = "3.0.0"

if TYPE_CHECKING:
    from ledgerrun.api import plan, reconcile, reverse, run, validate

__all__ = ["__version__", "plan", "reconcile", "reverse", "run", "validate"]
_API = frozenset(("validate", "plan", "run", "reverse", "reconcile"))

__getattr__, __dir__ = on_first_use(globals(), _API, "ledgerrun.api")  # the API's functions


class _Package(types.ModuleType):
    """This package, keeping its API names for the API: importing ``ledgerrun.reconcile.check``
    would otherwise bind the subpackage over the function ``ledgerrun.reconcile``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
