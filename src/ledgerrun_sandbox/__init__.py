"""A local, stateful Stripe API for rehearsing Connect account debits: the *sandbox*.

Start one in-process (tests) or with ``ledgerrun sandbox`` (rehearsals)::

    from ledgerrun_sandbox import Faults, SandboxServer

    with SandboxServer("accounts.json", api_keys=["sk_test_x"], limits="off",
                       faults=Faults(error_rate=0.05), seed_rng=7) as server:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url})
        client.v1.transfers.create(
            {"amount": 1000, "currency": "usd", "destination": PLATFORM_ID},
            {"stripe_account": "acct_1ConnAAAAAAAAAA", "idempotency_key": "row-17"},
        )

What it models: the two ways a platform debits an account whose losses it covers (a transfer
made as the account to the platform, or a charge on the platform with ``source=acct_...``),
each creating a ``tr_`` on the account and a ``py_`` (``object: "charge"``) on the platform;
credits (a transfer made by the platform to an account, living on the platform); reversals of
either (``/v1/transfers/{id}/reversals``, made by whoever made the transfer); refunds of a
``py_`` (``/v1/refunds``, reversing the transfer that made it); accounts, the platform's list
of connected accounts, balances, lists, charge search; Stripe v1 idempotency; Stripe's rate
limits (``limits``: ``test``, the default, ``live`` or ``off``) and API versions; and injected
faults (:class:`Faults`). Nothing else of Stripe exists here: any other URL answers 404. The
sandbox's own Stripe facts (regions, limits, versions, key prefixes), each with its source,
are in :mod:`.rules`. It accepts only the keys it is given (the seed's ``api_keys`` and
``api_keys=``) and does not start with none.

Errors are Stripe-shaped, ``{"error": {"type", "code", "doc_url", "message", "param"}}``, with
``code`` (and its ``doc_url``) and ``param`` left out when there is none, as Stripe does. Every
code is one of Stripe's own (stripe-go ``error.go``). The answers, and whether one is saved
under the request's idempotency key (``saved``); ``-`` means no code::

    status type                   code                      when                           saved
    ------ ---------------------- ------------------------- ------------------------------ -----
    401    invalid_request_error  -                         no key, or a key not given to
                                                            the sandbox (a live key says
                                                            so)                            no
    400    invalid_request_error  -                         Stripe-Version not a version
                                                            Stripe published; search with
                                                            a version before 2020-08-27    no
    403    invalid_request_error  account_invalid           Stripe-Account, charge source  no
                                                            or GET /v1/accounts/{id} names
                                                            an account that does not exist,
                                                            is not connected to the
                                                            platform, or is revoked; a
                                                            credit to a revoked account
    404    invalid_request_error  resource_missing          no such transfer/charge/
                                                            reversal/refund in this
                                                            account (also reversing a
                                                            transfer someone else made)    no
    404    invalid_request_error  -                         unrecognized URL or method     no
    429    invalid_request_error  rate_limit                over the account's or the
                                                            endpoint's rate limit (no
                                                            Stripe-Should-Retry)           no
    400    invalid_request_error  parameter_missing         required param absent          no
    400    invalid_request_error  parameter_invalid_empty   required param sent empty      no
    400    invalid_request_error  parameter_invalid_integer amount/limit/created not int   no
    400    invalid_request_error  parameter_unknown         param not accepted here        no
    400    invalid_request_error  parameters_exclusive      starting_after + ending_before no
    400    invalid_request_error  - (param named)           bad currency code, metadata
                                                            (>50 keys, key >40, value
                                                            >500 chars), description (>5000
                                                            on a transfer, >40000 on a
                                                            charge), debit transfer whose
                                                            destination is not the
                                                            platform, charge source not an
                                                            acct_, limit out of 1..100, a
                                                            boolean not true/false, refund
                                                            reason, search query or page,
                                                            malformed body                 no
    400    invalid_request_error  amount_too_small          amount < 1, or a debit by
                                                            charge below Stripe's minimum
                                                            charge (0.50 USD or equivalent) no
    400    invalid_request_error  amount_too_large          amount > 99,999,999, or a debit
                                                            above 100,000 USD or its
                                                            equivalent (rules.DEBIT_MAXIMUM) no
    400    invalid_request_error  resource_missing          credit destination, refund
                                                            charge or list cursor does not
                                                            exist                          no
    400    invalid_request_error  -                         Idempotency-Key > 255 chars    no
    400    idempotency_error      -                         key reused with other params   no
    409    invalid_request_error  idempotency_key_in_use    key's first request still runs no
    400    invalid_request_error  transfers_not_allowed     debit of an account whose
                                                            losses Stripe covers
                                                            (controller.losses.payments =
                                                            stripe: Standard, some Express),
                                                            accounts in different regions,
                                                            or a platform where Stripe
                                                            offers no account debits       yes
    400    invalid_request_error  - (param currency)        currency is not the account's
                                                            default_currency               yes
    400    invalid_request_error  - (param amount)          reversal or refund amount >
                                                            what is left                   yes
    400    invalid_request_error  -                         transfer already fully reversed yes
    400    invalid_request_error  charge_already_refunded   refund of a fully refunded
                                                            payment                        yes
    400    invalid_request_error  balance_insufficient      would take the paying account's
                                                            available balance below zero
                                                            (and its seed does not allow
                                                            negative_balances)             yes
    500    api_error              -                         unexpected failure executing   yes
    429    invalid_request_error  rate_limit                fault: over --max-rps          no
    429    invalid_request_error  lock_timeout              fault: --lock-timeout-rate     no
    500    api_error              -                         fault: --error-rate, a write
                                                            (error_mode saved, default)    yes
    500    api_error              -                         fault: --error-rate, a read or
                                                            error_mode retryable           no

409, 429 ``lock_timeout``, a ``--max-rps`` 429 and unsaved 500s carry
``Stripe-Should-Retry: true``; a 429 of the rate limits carries none (Stripe's SDKs do not retry
a true rate limit); a 500 saved under an idempotency key carries ``Stripe-Should-Retry: false``,
first time and replayed (a retry with the key would only replay it), and so does an injected
write's 500 without a key in error_mode saved; an injected read's 500 in that mode carries
none. Replayed answers carry ``Idempotent-Replayed: true`` and ``Original-Request: req_...``;
every answer past the version check carries ``Stripe-Version``. Regions: US, CA, AU, NZ, JP,
HK, Europe (EEA + GB + CH); any other country is a region of its own. Credits (platform to
account) obey the region, currency and balance rules too, but may go to any account.

Helper endpoints, without auth, never faulted or rate limited: ``GET /_sandbox/state`` (clock,
the platform's default ``api_version``, accounts with balances and ``pending`` balances, every
transfer, charge and refund tagged with its ``account``, transfers with their
``amount_reversed`` and every reversal under ``reversals``, counters under ``stats``:
``requests`` and ``write_requests`` count ``/v1`` requests received, ``writes_executed``
successful writes, ``writes_refused`` saved business errors, ``idempotent_replays``,
``rate_limited`` 429 ``rate_limit`` answers, ``api_versions`` requests per version,
``operations`` requests per endpoint (``GET /v1/transfers``, ...), ``faults`` by kind, and
``topped_up``, the running total per currency of top-ups);
``POST /_sandbox/clock`` with ``advance_s=N`` (form or JSON) to move the sandbox clock
forward (pending refunds that come due succeed); ``POST /_sandbox/balance`` with ``account``,
``currency`` and ``amount`` (minor units, positive; form or JSON) to add money to an account's
or the platform's balance. Balances (available and pending) always sum to the seed's plus
``topped_up``.
"""

from ledgerrun_sandbox.faults import Faults
from ledgerrun_sandbox.seed import KeysError, SeedError
from ledgerrun_sandbox.server import SandboxServer
from ledgerrun_sandbox.state import SandboxState

__all__ = ["Faults", "KeysError", "SandboxServer", "SandboxState", "SeedError"]
