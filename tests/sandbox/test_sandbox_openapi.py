"""Every answer body the product reads, checked against Stripe's published OpenAPI shapes."""

from __future__ import annotations

import copy
import re
import threading
from typing import Any

import pytest

from ledgerrun_sandbox import Faults, SandboxServer
from tests.helpers.constants import PLATFORM
from tests.helpers.sandbox import (
    CUSTOM,
    EMPTY,
    EXPRESS,
    REVOKED,
    STANDARD,
    UNKNOWN,
    ServerFactory,
    raw,
)
from tests.sandbox.openapi_check import Checker, load_spec

SPEC = load_spec()
CHECKER = Checker(SPEC)
AS_EXPRESS = {"Stripe-Account": EXPRESS}


def conforms(body: dict[str, Any], schema: str) -> None:
    problems = CHECKER.check(body, schema)
    assert problems == [], f"{schema}: {problems}"


def test_the_subset_says_where_it_came_from() -> None:
    source = SPEC["x-source"]
    assert source["repository"] == "stripe/openapi" and len(source["commit"]) == 40
    assert set(SPEC["x-operations"].values()) <= set(SPEC["components"]["schemas"])


def test_successful_answers_have_stripes_shapes(server: SandboxServer) -> None:
    url = server.url

    def ok(method: str, path: str, schema: str, params: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
        status, _, body = raw(url, method, path, params, headers)
        assert status == 200, body
        conforms(body, schema)
        return body

    ok("GET", "/v1/account", "account")
    for account in (EXPRESS, CUSTOM, STANDARD):
        ok("GET", f"/v1/accounts/{account}", "account")
    ok("GET", "/v1/balance", "balance")
    ok("GET", "/v1/balance", "balance", headers=AS_EXPRESS)
    debit = ok("POST", "/v1/transfers", "transfer",
               {"amount": "1000", "currency": "usd", "destination": PLATFORM,
                "metadata[row]": "1", "transfer_group": "g", "description": "d"},
               AS_EXPRESS)  # fmt: skip
    charge = ok("POST", "/v1/charges", "charge",
                {"amount": "700", "currency": "usd", "source": CUSTOM})  # fmt: skip
    credit = ok("POST", "/v1/transfers", "transfer",
                {"amount": "300", "currency": "usd", "destination": EMPTY})  # fmt: skip
    reversal = ok("POST", f"/v1/transfers/{debit['id']}/reversals", "transfer_reversal",
                  {"amount": "100", "metadata[why]": "x"}, AS_EXPRESS)  # fmt: skip
    ok("POST", f"/v1/transfers/{credit['id']}/reversals", "transfer_reversal")
    reversed_debit = ok("GET", f"/v1/transfers/{debit['id']}", "transfer", headers=AS_EXPRESS)
    assert reversed_debit["reversals"]["data"][0]["id"] == reversal["id"]
    ok("GET", f"/v1/transfers/{debit['id']}/reversals", "transfer_reversal_list",
       headers=AS_EXPRESS)  # fmt: skip
    ok("GET", f"/v1/transfers/{debit['id']}/reversals/{reversal['id']}", "transfer_reversal",
       headers=AS_EXPRESS)  # fmt: skip
    ok("GET", f"/v1/charges/{charge['id']}", "charge")
    ok("GET", f"/v1/charges/{debit['destination_payment']}", "charge")
    ok("GET", f"/v1/charges/{credit['destination_payment']}", "charge",
       headers={"Stripe-Account": EMPTY})  # fmt: skip
    ok("GET", "/v1/transfers", "transfer_list", {"limit": "5"}, AS_EXPRESS)
    ok("GET", "/v1/transfers", "transfer_list", {"destination": EMPTY})
    ok("GET", "/v1/charges", "charge_list", {"created[gte]": "0", "transfer_group": "g"})
    ok("GET", "/v1/charges", "charge_list")


@pytest.mark.parametrize(
    "method, path, params, headers, key, status",
    [
        ("GET", "/v1/balance", None, None, None, 401),
        ("GET", "/v1/balance", None, None, "sk_" + "live_51LiveKeyLooksLike0000wxyz", 401),
        ("GET", f"/v1/accounts/{UNKNOWN}", None, None, "default", 403),
        ("GET", "/v1/balance", None, {"Stripe-Account": REVOKED}, "default", 403),
        ("GET", "/v1/transfers/tr_missing", None, None, "default", 404),
        ("GET", "/v1/payouts", None, None, "default", 404),
        ("POST", "/v1/transfers", {"amount": "1"}, AS_EXPRESS, "default", 400),
        ("POST", "/v1/transfers", {"amount": "x", "currency": "usd", "destination": PLATFORM},
         AS_EXPRESS, "default", 400),
        ("POST", "/v1/transfers", {"amount": "1", "currency": "usd", "destination": PLATFORM,
                                   "metadata[k]": "v" * 501}, AS_EXPRESS, "default", 400),
        ("POST", "/v1/transfers", {"amount": "900000", "currency": "usd",
                                   "destination": PLATFORM}, AS_EXPRESS, "default", 400),
        ("POST", "/v1/charges", {"amount": "5", "currency": "usd", "source": STANDARD}, None,
         "default", 400),
        ("GET", "/v1/transfers", {"starting_after": "a", "ending_before": "b"}, None,
         "default", 400),
    ],
)  # fmt: skip
def test_error_answers_have_stripes_shape(
    server: SandboxServer,
    method: str,
    path: str,
    params: dict[str, str] | None,
    headers: dict[str, str] | None,
    key: str | None,
    status: int,
) -> None:
    kwargs: dict[str, Any] = {} if key == "default" else {"key": key}
    got, _, body = raw(server.url, method, path, params, headers, **kwargs)
    assert got == status
    conforms(body, "error")


def test_fault_and_conflict_answers_have_stripes_shape(make_server: ServerFactory) -> None:
    server = make_server(faults=Faults(error_rate=1.0))
    debit = {"amount": "10", "currency": "usd", "destination": PLATFORM}
    status, _, body = raw(server.url, "POST", "/v1/transfers", debit, AS_EXPRESS)
    assert status == 500
    conforms(body, "error")
    server.set_faults(Faults(lock_timeout_rate=1.0))
    status, _, body = raw(server.url, "POST", "/v1/transfers", debit, AS_EXPRESS)
    assert status == 429
    conforms(body, "error")
    server.set_faults(Faults(latency_ms=400))
    answers: list[tuple[int, dict[str, Any]]] = []
    headers = {**AS_EXPRESS, "Idempotency-Key": "same"}

    def send() -> None:
        status, _, body = raw(server.url, "POST", "/v1/transfers", debit, headers)
        answers.append((status, body))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conflicts = [body for status, body in answers if status == 409]
    assert conflicts
    for body in conflicts:
        conforms(body, "error")
    status, _, body = raw(server.url, "POST", "/v1/transfers", {**debit, "amount": "11"}, headers)
    assert status == 400 and body["error"]["type"] == "idempotency_error"
    conforms(body, "error")


def _transfer_body() -> dict[str, Any]:
    return {
        "id": "tr_1", "object": "transfer", "amount": 5, "amount_reversed": 0, "created": 1,
        "currency": "usd", "livemode": False, "metadata": {}, "reversed": False,
        "reversals": {"object": "list", "data": [], "has_more": False,
                      "url": "/v1/transfers/tr_1/reversals"},
    }  # fmt: skip


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda b: b.pop("amount"), "missing 'amount'"),
        (lambda b: b.update(amount="5"), "str where integer"),
        (lambda b: b.update(amount=True), "bool where integer"),
        (lambda b: b.update(object="payout"), "not one of the allowed values"),
        (lambda b: b.update(livemode=None), "null where a value is required"),
        (lambda b: b.update(colour="red"), "not a property of this object"),
        (lambda b: b["metadata"].update(k=1), "int where string"),
        (lambda b: b["reversals"]["data"].append({"id": "trr_1"}), "missing 'amount'"),
        (lambda b: b.update(destination=7), "matches none of anyOf"),
    ],
)
def test_the_checker_catches_what_it_should(change: Any, words: str) -> None:
    body = _transfer_body()
    assert CHECKER.check(body, "transfer") == []
    body.update(description=None, destination=None)  # nullable: fine
    assert CHECKER.check(body, "transfer") == []
    broken = copy.deepcopy(body)
    change(broken)
    problems = CHECKER.check(broken, "transfer")
    assert any(words in p for p in problems), problems


def test_the_checker_knows_stripes_error_codes_and_list_urls() -> None:
    assert CHECKER.check({"error": {"type": "invalid_request_error",
                                    "code": "currency_mismatch"}}, "error") != []  # fmt: skip
    assert CHECKER.check({"error": {"type": "authentication_error"}}, "error") != []
    assert CHECKER.check({"error": {"type": "api_error"}}, "error") == []
    bad_url = {"object": "list", "data": [], "has_more": False, "url": "/v1/charges"}
    assert CHECKER.check(bad_url, "transfer_list") != []


def test_refunds_searches_and_account_lists_have_stripes_shapes(make_server: ServerFactory) -> None:
    server = make_server(refund_settle_s=60)
    url = server.url

    def ok(method: str, path: str, schema: str, params: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
        status, _, body = raw(url, method, path, params, headers)
        assert status == 200, body
        conforms(body, schema)
        return body

    debit = ok("POST", "/v1/transfers", "transfer",
               {"amount": "1000", "currency": "usd", "destination": PLATFORM,
                "metadata[ledgerrun_account]": EXPRESS}, AS_EXPRESS)  # fmt: skip
    charge = ok("POST", "/v1/charges", "charge",
                {"amount": "700", "currency": "usd", "source": CUSTOM,
                 "metadata[ledgerrun_account]": CUSTOM}, None)  # fmt: skip
    pending = ok("POST", "/v1/refunds", "refund",
                 {"charge": debit["destination_payment"], "amount": "100",
                  "metadata[why]": "x", "reason": "duplicate"})  # fmt: skip
    assert pending["status"] == "pending" and pending["pending_reason"] == "processing"
    ok("POST", "/v1/refunds", "refund", {"charge": charge["id"]})
    ok("GET", f"/v1/refunds/{pending['id']}", "refund")
    ok("GET", "/v1/refunds", "refund_list", {"limit": "5"})
    ok("GET", "/v1/refunds", "refund_list", {"charge": charge["id"], "created[gte]": "0"})
    expanded = ok("GET", f"/v1/charges/{charge['id']}", "charge", {"expand[]": "refunds"})
    assert expanded["refunds"]["data"] and expanded["payment_method_details"] == {
        "stripe_account": {}, "type": "stripe_account"}  # fmt: skip
    ok("GET", "/v1/charges", "charge_list", {"expand[]": "data.refunds"})
    ok("GET", "/v1/accounts", "account_list", {"limit": "3"})
    ok("GET", "/v1/accounts", "account_list", None, AS_EXPRESS)
    found = ok("GET", "/v1/charges/search", "charge_search_result",
               {"query": "metadata['ledgerrun_account']:'" + CUSTOM + "'",
                "expand[]": "total_count"})  # fmt: skip
    assert found["total_count"] == 1
    paged = ok("GET", "/v1/charges/search", "charge_search_result",
               {"query": "created>0", "limit": "1"})  # fmt: skip
    assert paged["next_page"] and paged["has_more"]


def test_new_refusals_have_stripes_error_shape(make_server: ServerFactory) -> None:
    # The buckets' clock stands still, so they never refill: however slowly a loaded machine
    # sends the requests below, the thirty balance reads must run out the test-mode budget.
    server = make_server(limits="test", limit_clock=lambda: 0.0)
    url = server.url
    payment = raw(url, "POST", "/v1/charges", {"amount": "700", "currency": "usd",
                                              "source": CUSTOM})[2]["id"]  # fmt: skip
    refusals = [
        ("GET", "/v1/balance", None, {"Stripe-Version": "1999-01-01"}, 400),
        ("POST", "/v1/charges", {"amount": "49", "currency": "usd", "source": CUSTOM}, None, 400),
        ("POST", "/v1/refunds", {"charge": payment, "amount": "701"}, None, 400),
        ("POST", "/v1/refunds", {"charge": "py_nope"}, None, 400),
        ("GET", "/v1/charges/search", {"query": "foo:'bar'"}, None, 400),
    ]
    for method, path, params, headers, status in refusals:
        got, _, body = raw(url, method, path, params, headers)
        assert got == status, body
        conforms(body, "error")
    raw(url, "POST", "/v1/refunds", {"charge": payment})
    got, _, body = raw(url, "POST", "/v1/refunds", {"charge": payment})
    assert got == 400 and body["error"]["code"] == "charge_already_refunded"
    conforms(body, "error")
    for _ in range(30):
        got, _, body = raw(url, "GET", "/v1/balance")
        if got == 429:
            break
    assert got == 429 and body["error"]["code"] == "rate_limit"
    conforms(body, "error")


def test_every_endpoint_the_sandbox_serves_has_its_shape_in_the_subset() -> None:
    from ledgerrun_sandbox.routes import OPERATIONS

    def normal(operation: str) -> str:
        return re.sub(r"\{[a-z_]+\}", "{id}", operation)

    vendored = {normal(op) for op in SPEC["x-operations"] if op != "any error"}
    assert {normal(op) for op in OPERATIONS} == vendored
