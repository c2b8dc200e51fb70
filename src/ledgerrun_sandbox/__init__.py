"""A local, stateful Stripe API for rehearsing Connect account debits: the *sandbox*.

Start one in-process (tests) or with ``ledgerrun sandbox`` (rehearsals)::

    from ledgerrun_sandbox import Faults, SandboxServer

    with SandboxServer("accounts.json", faults=Faults(error_rate=0.05), seed_rng=7) as server:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url})
        client.v1.transfers.create(
            {"amount": 1000, "currency": "usd", "destination": PLATFORM_ID},
            {"stripe_account": "acct_1ConnAAAAAAAAAA", "idempotency_key": "row-17"},
        )

What it models: the two ways a platform debits an Express/Custom account (a transfer made as
the account to the platform, or a charge on the platform with ``source=acct_...``), each
creating a ``tr_`` on the account and a ``py_`` (``object: "charge"``) on the platform;
credits (a transfer made by the platform to an account, living on the platform); reversals of
either (``/v1/transfers/{id}/reversals``, made by whoever made the transfer: the account for a
debit, the platform for a credit); accounts, balances, lists; Stripe v1 idempotency; and
injected faults (:class:`Faults`). Nothing else of Stripe exists here: any other URL answers
404. The sandbox's own Stripe facts (regions, limits, key prefixes) are in :mod:`.rules`.

Errors are Stripe-shaped, ``{"error": {"type", "code", "doc_url", "message", "param"}}``, with
``code`` (and its ``doc_url``) and ``param`` left out when there is none, as Stripe does. Every
code is one of Stripe's own (stripe-go ``error.go``). The answers, and whether one is saved
under the request's idempotency key (``saved``); ``-`` means no code::

    status type                   code                      when                           saved
    ------ ---------------------- ------------------------- ------------------------------ -----
    401    invalid_request_error  -                         no key, a live key, not a key,
                                                            or (when the seed has api_keys)
                                                            a key it does not list         no
    403    invalid_request_error  account_invalid           Stripe-Account, charge source  no
                                                            or GET /v1/accounts/{id} names
                                                            an account that does not exist,
                                                            is not connected to the
                                                            platform, or is revoked; a
                                                            credit to a revoked account
    404    invalid_request_error  resource_missing          no such transfer/charge/
                                                            reversal in this account (also
                                                            reversing a transfer someone
                                                            else made)                     no
    404    invalid_request_error  -                         unrecognized URL or method     no
    400    invalid_request_error  parameter_missing         required param absent          no
    400    invalid_request_error  parameter_invalid_empty   required param sent empty      no
    400    invalid_request_error  parameter_invalid_integer amount/limit/created not int   no
    400    invalid_request_error  parameter_unknown         param not accepted here        no
    400    invalid_request_error  parameters_exclusive      starting_after + ending_before no
    400    invalid_request_error  - (param named)           bad currency code, metadata
                                                            (>50 keys, key >40, value
                                                            >500 chars), description >1000,
                                                            debit transfer whose
                                                            destination is not the
                                                            platform, charge source not an
                                                            acct_, limit out of 1..100,
                                                            refund_application_fee not
                                                            true/false, malformed body     no
    400    invalid_request_error  amount_too_small          amount < 1                     no
    400    invalid_request_error  amount_too_large          amount > 99,999,999, or a usd
                                                            debit > 10,000,000 (100,000
                                                            USD, Stripe's debit maximum)   no
    400    invalid_request_error  resource_missing          credit destination or list
                                                            cursor does not exist          no
    400    invalid_request_error  -                         Idempotency-Key > 255 chars    no
    400    idempotency_error      -                         key reused with other params   no
    409    invalid_request_error  idempotency_key_in_use    key's first request still runs no
    400    invalid_request_error  transfers_not_allowed     debit of a Standard account
                                                            (Stripe covers its losses), or
                                                            accounts in different regions  yes
    400    invalid_request_error  - (param currency)        currency is not the account's
                                                            default_currency               yes
    400    invalid_request_error  - (param amount)          reversal amount > what is left yes
    400    invalid_request_error  -                         transfer already fully reversed yes
    400    invalid_request_error  balance_insufficient      would take the paying account's
                                                            available balance below zero
                                                            (and its seed does not allow
                                                            negative_balances)             yes
    500    api_error              -                         unexpected failure executing   yes
    429    invalid_request_error  rate_limit                fault: over --max-rps          no
    429    invalid_request_error  lock_timeout              fault: --lock-timeout-rate     no
    500    api_error              -                         fault: --error-rate            no

409, 429 and unsaved 500 answers carry ``Stripe-Should-Retry: true``; a 500 saved under an
idempotency key carries ``Stripe-Should-Retry: false``, first time and replayed (a retry with
the key would only replay it). Replayed answers carry ``Idempotent-Replayed: true`` and
``Original-Request: req_...``. Regions: US, CA, AU, NZ, JP, HK, Europe (EEA + GB + CH); any
other country is a region of its own. Credits (platform to account) obey the region, currency
and balance rules too, but may go to Standard accounts.

Helper endpoints, without auth and never faulted: ``GET /_sandbox/state`` (clock, accounts
with balances, every transfer and charge tagged with its ``account``, transfers with their
``amount_reversed`` and every reversal under ``reversals``, counters under ``stats``:
``requests`` and ``write_requests`` count ``/v1`` requests received, ``writes_executed``
successful creations, ``writes_refused`` saved business errors, ``idempotent_replays``,
``faults`` by kind, and ``topped_up``, the running total per currency of top-ups);
``POST /_sandbox/clock`` with ``advance_s=N`` (form or JSON) to move the sandbox clock
forward; ``POST /_sandbox/balance`` with ``account``, ``currency`` and ``amount`` (minor units,
positive; form or JSON) to add money to an account's or the platform's balance, e.g. to retry
a debit refused for lack of funds. Balances always sum to the seed's plus ``topped_up``.
"""

from ledgerrun_sandbox.faults import Faults
from ledgerrun_sandbox.seed import SeedError
from ledgerrun_sandbox.server import SandboxServer
from ledgerrun_sandbox.state import SandboxState

__all__ = ["Faults", "SandboxServer", "SandboxState", "SeedError"]
