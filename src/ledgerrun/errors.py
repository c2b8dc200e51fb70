"""Every exception ledgerrun raises, and what it means for a run.

The tree has three branches, one per decision a caller has to make::

    LedgerrunError
    ├── FatalError .................. stop: nothing more is sent in this run
    │   ├── ConfigError ............. job file, option or environment is wrong        exit 2
    │   ├── LedgerFileError ......... the ledger as a whole cannot be read            exit 2
    │   ├── JournalError ............ the journal cannot be opened, read or written   exit 2
    │   ├── LockHeldError ........... another run of this job holds its lock          exit 4
    │   └── StripeFatalError ........ Stripe refused the platform itself (bad key,
    │                                 no permission, an unusable API base)
    ├── RetriableError .............. send the same request, same key, again later
    │   ├── RateLimitedError ........ 429 rate_limit
    │   ├── LockTimeoutError ........ 429 lock_timeout: contention on one object
    │   ├── KeyInUseError ........... 409 idempotency_key_in_use: the key is executing
    │   ├── StripeServerError ....... 5xx, or any answer marked Stripe-Should-Retry: true
    │   └── NetworkError ............ no answer at all (timeout, connection dropped)
    └── RowError .................... this row, or this row's account, cannot be debited
        ├── DebitRefusedError ....... Stripe refused the debit for good      row `failed`
        ├── KeyConflictError ........ the key was used with other parameters row `unknown`
        └── AccountCheckError ....... pre-flight found the account unusable  row `invalid`

Only the Stripe gateway turns ``stripe`` exceptions into these (``raise X(...) from exc``);
only the retry policy decides whether a ``RetriableError`` is sent again. A retriable error that
is never resolved leaves its row ``unknown``: the request may have executed at Stripe, and only a
later run with the same idempotency key (or a look-up in Stripe) can tell.
"""

from __future__ import annotations


class LedgerrunError(Exception):
    """Base class of every error ledgerrun raises on purpose."""


# --- fatal -------------------------------------------------------------------------------------


class FatalError(LedgerrunError):
    """The run cannot go on. ``exit_code`` is what the command line exits with."""

    exit_code = 2


class ConfigError(FatalError):
    """The job file, a command-line option or the environment is wrong."""


class LedgerFileError(FatalError):
    """The ledger file as a whole cannot be read (missing, empty, wrong format)."""

    def __init__(
        self, message: str, *, code: str = "unreadable_file", row: int = 1, column: str = ""
    ) -> None:
        super().__init__(message)
        self.code = code
        self.row = row
        self.column = column


class JournalError(FatalError):
    """The journal cannot be opened, read or written."""


class LockHeldError(FatalError):
    """Another run of the same job holds the job's lock."""

    exit_code = 4


# --- errors that come from Stripe --------------------------------------------------------------


class StripeErrorMixin:
    """What every Stripe-originated error carries, whichever branch it sits on."""

    http_status: int | None
    code: str
    request_id: str | None
    should_retry: bool | None
    retry_after_s: float | None

    def _init_stripe(
        self,
        *,
        code: str,
        http_status: int | None = None,
        request_id: str | None = None,
        should_retry: bool | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.code = code
        self.http_status = http_status
        self.request_id = request_id
        self.should_retry = should_retry
        self.retry_after_s = retry_after_s


class StripeFatalError(StripeErrorMixin, FatalError):
    """Stripe refused the platform's own credentials or the API base cannot be used."""

    def __init__(self, message: str, *, code: str, **stripe: object) -> None:
        FatalError.__init__(self, message)
        self._init_stripe(code=code, **stripe)  # type: ignore[arg-type]


# --- retriable ---------------------------------------------------------------------------------


class RetriableError(StripeErrorMixin, LedgerrunError):
    """The same request with the same idempotency key may safely be sent again."""

    def __init__(self, message: str, *, code: str, **stripe: object) -> None:
        LedgerrunError.__init__(self, message)
        self._init_stripe(code=code, **stripe)  # type: ignore[arg-type]


class RateLimitedError(RetriableError):
    """429 rate_limit: too many requests across the platform."""


class LockTimeoutError(RetriableError):
    """429 lock_timeout: another request holds a lock on the same object."""


class KeyInUseError(RetriableError):
    """409 idempotency_key_in_use: a request with this key is still executing."""


class StripeServerError(RetriableError):
    """A 5xx answer, or any answer Stripe marked ``Stripe-Should-Retry: true``."""


class NetworkError(RetriableError):
    """No answer arrived: the request may or may not have executed."""


# --- row-level ---------------------------------------------------------------------------------


class RowError(StripeErrorMixin, LedgerrunError):
    """This row (or its account) cannot be debited; the rest of the run goes on."""

    def __init__(self, message: str, *, code: str, **stripe: object) -> None:
        LedgerrunError.__init__(self, message)
        self._init_stripe(code=code, **stripe)  # type: ignore[arg-type]


class DebitRefusedError(RowError):
    """Stripe answered the debit with a definitive refusal; no money moved."""


class KeyConflictError(RowError):
    """Stripe holds this idempotency key for a request with other parameters.

    The earlier request may have moved money, so the row is ``unknown``, never ``failed``.
    """


class AccountCheckError(RowError):
    """Pre-flight found the connected account unusable for a debit."""
