"""ledgerrun: debit Stripe Connect accounts in bulk, exactly once, from a ledger file."""

__version__ = "0.1.0"
