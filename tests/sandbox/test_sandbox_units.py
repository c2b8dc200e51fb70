"""Unit tests of the pure parts: form decoding, API keys, faults settings, key store."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerrun_sandbox import Faults
from ledgerrun_sandbox.errors import ApiError
from ledgerrun_sandbox.faults import FaultInjector
from ledgerrun_sandbox.idempotency import IdempotencyStore, Outcome, SavedAnswer
from ledgerrun_sandbox.wire import api_key_from_authorization, decode_form, key_hint


def test_decode_form_nesting() -> None:
    text = (
        "amount=100&metadata[invoice]=42&metadata[note]=a+b%26c&expand[]=x&expand[]=y"
        "&created[gte]=5&list[0]=p&list[1]=q&empty="
    )
    assert decode_form(text) == {
        "amount": "100",
        "metadata": {"invoice": "42", "note": "a b&c"},
        "expand": ["x", "y"],
        "created": {"gte": "5"},
        "list": {"0": "p", "1": "q"},
        "empty": "",
    }
    assert decode_form("a[b][c]=1") == {"a": {"b": {"c": "1"}}}
    assert decode_form("") == {}


@pytest.mark.parametrize(
    "text", ["a=1&a[b]=2", "a[b]=2&a=1", "a[=1", "[a]=1", "a]=1", "a[][b]=1", "a[b]c=1"]
)
def test_decode_form_refuses_ambiguous_names(text: str) -> None:
    with pytest.raises(ApiError) as info:
        decode_form(text)
    assert info.value.status == 400 and info.value.code is None
    assert info.value.type == "invalid_request_error" and "parameter" in info.value.message.lower()


_keys = st.text(
    alphabet=st.characters(blacklist_characters="[]", blacklist_categories=["Cs"]),
    min_size=1,
    max_size=40,
)


@given(st.dictionaries(_keys, st.text(max_size=50), max_size=10))
def test_decode_form_inverts_the_sdks_encoding(metadata: dict[str, str]) -> None:
    pairs: list[tuple[str, Any]] = [
        ("amount", 5),
        *((f"metadata[{k}]", v) for k, v in metadata.items()),
    ]
    encoded = urlencode(pairs).replace("%5B", "[").replace("%5D", "]")  # as stripe-python does
    decoded = decode_form(encoded)
    assert decoded.get("metadata", {}) == metadata and decoded["amount"] == "5"


def test_api_key_from_authorization() -> None:
    basic = "Basic " + base64.b64encode(b"sk_test_abc:").decode()
    assert api_key_from_authorization(basic) == "sk_test_abc"
    assert api_key_from_authorization("Bearer sk_test_abc") == "sk_test_abc"
    assert api_key_from_authorization("bearer  sk_test_abc ") == "sk_test_abc"
    for header in (None, "", "Bearer", "Basic !!!", "Token sk_test_abc"):
        assert api_key_from_authorization(header) is None


@given(st.sampled_from(["", "sk_test_", "rk_live_", "pk_test_", "xx_"]), st.text(max_size=60))
def test_key_hint_never_shows_more_than_4_characters(prefix: str, body: str) -> None:
    key = prefix + body
    hint = key_hint(key)
    shown = hint.split("****", 1)
    assert len(shown) == 2 and len(shown[1]) <= 4 and key.endswith(shown[1])
    assert shown[0] in ("", "sk_test_", "rk_live_", "pk_test_") and key.startswith(shown[0])
    if len(key) < 12:
        assert shown[1] == ""


def test_key_hint_looks_like_stripes() -> None:
    assert key_hint("sk_test_51SandboxTestKey0000abcd") == "sk_test_****abcd"
    assert key_hint("not_a_key_at_all_wxyz") == "****wxyz"
    assert key_hint("sk_test_abc") == "sk_test_****"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency_ms": -1},
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"lock_timeout_rate": 2},
        {"max_rps": 0},
    ],
)
def test_faults_refuse_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Faults(**kwargs)


def test_fault_plans_are_a_function_of_the_seed() -> None:
    faults = Faults(latency_ms=10, error_rate=0.5, lock_timeout_rate=0.5, drop_rate=0.5)
    a, b = FaultInjector(faults, 3), FaultInjector(faults, 3)
    plans_a = [a.plan() for _ in range(50)]
    assert plans_a == [b.plan() for _ in range(50)]
    assert {p.error for p in plans_a} == {True, False}
    assert all(0.005 <= p.latency_s <= 0.015 for p in plans_a)


def test_idempotency_store_states_and_expiry() -> None:
    store = IdempotencyStore(ttl_s=100)
    fp = ("POST", "/v1/transfers", {"amount": "1"})
    assert store.reserve("acct_a", "k", fp, 0) == (Outcome.NEW, None)
    assert store.reserve("acct_a", "k", fp, 1) == (Outcome.IN_USE, None)
    assert store.reserve("acct_a", "k", ("POST", "/v1/charges", {}), 1)[0] is Outcome.MISMATCH
    assert store.reserve("acct_b", "k", fp, 1)[0] is Outcome.NEW  # another scope
    answer = SavedAnswer(200, {"id": "tr_1"}, "req_1")
    store.save("acct_a", "k", answer)
    assert store.reserve("acct_a", "k", fp, 99) == (Outcome.REPLAY, answer)
    store.release("acct_b", "k")
    assert store.reserve("acct_b", "k", fp, 2)[0] is Outcome.NEW
    assert store.reserve("acct_a", "k", fp, 100) == (Outcome.NEW, None)  # expired
    assert store.reserve("acct_c", "other", fp, 250)[0] is Outcome.NEW
    assert len(store) == 1  # expired keys were forgotten
