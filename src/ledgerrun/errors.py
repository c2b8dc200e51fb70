"""Every exception ledgerrun raises, what it means for a run, and the exit codes.

The tree has one branch per decision a caller has to make::

    LedgerrunError
    ├── FatalError .................. stop: nothing more is sent in this run
    │   ├── ConfigError ............. job file, option, target or environment is wrong   exit 2
    │   ├── LedgerFileError ......... the ledger as a whole cannot be read               exit 2
    │   ├── OutputError ............. an output path is unusable (checked before sending) exit 2
    │   ├── JournalError ............ the store cannot be opened, read or written        exit 2
    │   │   └── StoreUnavailableError the store cannot be reached (a restart, no network) exit 3
    │   ├── LockHeldError ........... another run of this job holds its lock             exit 4
    │   ├── StripeAuthError ......... Stripe refused the platform's key                   exit 2
    │   └── StripeUnavailableError .. Stripe cannot be reached (nothing was sent)        exit 3
    └── StripeError ................. an answer (or its absence) from Stripe; the class
        │                             says what to do with the request, once and for all
        ├── RetriableError .......... send the same request, same key, again
        │   ├── NotExecutedError .... Stripe refused before executing, or no connection
        │   │   ├── RateLimitedError    429 rate_limit
        │   │   ├── LockTimeoutError    429 lock_timeout
        │   │   └── ConnectError        the connection could not be opened
        │   └── MaybeExecutedError .. the request may have run
        │       ├── KeyInUseError       409 idempotency_key_in_use
        │       ├── StripeServerError   5xx, or any answer marked Stripe-Should-Retry: true
        │       └── NetworkError        sent, but no answer (timeout, connection dropped)
        ├── UnknownOutcomeError ..... do not retry; the outcome is unknown      row `unknown`
        │   ├── KeyConflictError        400 idempotency_error: key used with other params
        │   └── ServerUnknownError      5xx that Stripe says not to retry
        └── RefusedError ............ a definitive refusal; no money moved      row `failed`
            └── AccountCheckError       pre-flight found the account unusable   row `invalid`

Errors are built once, with everything they carry: a fatal error's exit code is its class's unless
the code that raises it says otherwise when building it (money may have moved: a store lost after
sending began is "incomplete", exit 3, never "invalid", exit 2), and a Stripe error's attempt
count is set by the one retry loop when it builds the error it raises (:meth:`StripeError.after`).
Nothing sets an attribute on an exception once it exists.

Only the Stripe gateway turns ``stripe`` exceptions into these, by one table; only the client's
retry loop sends a request again. When retries run out, a :class:`NotExecutedError` leaves its
row ``skipped`` (nothing was executed) and a :class:`MaybeExecutedError` leaves it ``unknown``
(only the same idempotency key, or a look-up in Stripe, can settle it later).
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What every command that reads or sends to Stripe exits with, and what a scheduler does."""

    OK = 0  # every row succeeded, now or in an earlier run: nothing to do
    FAILED = 1  # some rows failed for good (or were invalid and skipped): tell finance
    INVALID = 2  # invalid input or configuration; nothing was sent: tell the ledger's owner
    INCOMPLETE = 3  # rows unknown or unsent (signal, outage, full disk): run again later
    LOCKED = 4  # another run of this job holds its lock: wait

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "every row succeeded, now or in an earlier run",
    ExitCode.FAILED: "some rows failed at Stripe for good, or were left out as invalid",
    ExitCode.INVALID: "invalid input or configuration: nothing was sent",
    ExitCode.INCOMPLETE: "incomplete: some rows are unknown or were not sent; run it again",
    ExitCode.LOCKED: "another run of this job holds its lock",
}


class LedgerrunError(Exception):
    """Base class of every error ledgerrun raises on purpose."""


# --- fatal -------------------------------------------------------------------------------------


class FatalError(LedgerrunError):
    """The command cannot go on. ``exit_code`` is what the command line exits with: the class's
    own, unless the raiser knows better (``exit_code=`` when the error is built)."""

    exit_code: ExitCode = ExitCode.INVALID

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(FatalError):
    """The job file, a command-line option, the target or the environment is wrong."""


class LedgerFileError(FatalError):
    """The ledger file as a whole cannot be read (missing, empty, wrong format)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "unreadable_file",
        row: int = 1,
        column: str = "",
        fix: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.row = row
        self.column = column
        self.fix = fix


class OutputError(FatalError):
    """An output file cannot be written where it should go."""


class JournalError(FatalError):
    """The store (journal) cannot be opened, read or written."""


class StoreUnavailableError(JournalError):
    """The store could not be reached (the server restarted, the network failed, the disk is
    full): nothing about the set-up is wrong, so run again later."""

    exit_code = ExitCode.INCOMPLETE


class LockHeldError(FatalError):
    """Another run of the same job holds the job's lock."""

    exit_code = ExitCode.LOCKED


class StripeUnavailableError(FatalError):
    """Stripe could not be reached, or stopped answering: try again later."""

    exit_code = ExitCode.INCOMPLETE


class StripeAuthError(FatalError):
    """Stripe refused the platform's own key (401), or the API base is not Stripe's API."""


# --- answers from Stripe -----------------------------------------------------------------------


class StripeError(LedgerrunError):
    """An answer from Stripe (or the lack of one) about one request."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        http_status: int | None = None,
        request_id: str | None = None,
        should_retry: bool | None = None,
        retry_after_s: float | None = None,
        attempts: int = 0,
        uncertain: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.request_id = request_id
        self.should_retry = should_retry
        self.retry_after_s = retry_after_s
        self.attempts = attempts  # requests sent before this answer ended the call
        self.uncertain = uncertain  # not executed now, but an earlier attempt may have been

    def after(self, attempts: int, *, uncertain: bool | None = None) -> StripeError:
        """The same answer as the retry loop reports it: a new error of the same class that
        also says how many requests were sent and whether an earlier one may have executed."""
        return type(self)(
            str(self),
            code=self.code,
            http_status=self.http_status,
            request_id=self.request_id,
            should_retry=self.should_retry,
            retry_after_s=self.retry_after_s,
            attempts=attempts,
            uncertain=self.uncertain if uncertain is None else uncertain,
        )


class RetriableError(StripeError):
    """The same request with the same idempotency key may safely be sent again."""


class NotExecutedError(RetriableError):
    """Stripe did not execute the request: if retries run out, nothing happened."""


class RateLimitedError(NotExecutedError):
    """429 rate_limit: too many requests."""


class LockTimeoutError(NotExecutedError):
    """429 lock_timeout: another request held a lock on the same object."""


class ConnectError(NotExecutedError):
    """No connection could be opened, so nothing was sent."""


class MaybeExecutedError(RetriableError):
    """The request may have executed: if retries run out, the outcome is unknown."""


class KeyInUseError(MaybeExecutedError):
    """409 idempotency_key_in_use: a request with this key is still executing."""


class StripeServerError(MaybeExecutedError):
    """A 5xx answer, or any answer Stripe marked ``Stripe-Should-Retry: true``."""


class NetworkError(MaybeExecutedError):
    """The request left, but no answer arrived (timeout, connection dropped)."""


class UnknownOutcomeError(StripeError):
    """Retrying cannot help and the request may have executed: the outcome is unknown."""


class KeyConflictError(UnknownOutcomeError):
    """Stripe holds this idempotency key for a request with other parameters."""


class ServerUnknownError(UnknownOutcomeError):
    """A 5xx answer that Stripe says not to retry (``Stripe-Should-Retry: false``)."""


class RefusedError(StripeError):
    """Stripe refused the request for good; nothing was executed."""


class AccountCheckError(RefusedError):
    """Pre-flight found the connected account missing or out of reach."""
