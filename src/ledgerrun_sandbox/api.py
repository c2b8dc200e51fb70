"""One request in, one answer out: the pipeline every ``/v1`` request goes through.

Order of steps (each may answer early)::

    rate cap (429 rate_limit) -> API key (401) -> Stripe-Account (403) -> route (404)
    -> params and key length (400) -> injected 500 / 429 lock_timeout
    -> idempotency key (400 other params / 409 in flight / replay)
    -> injected latency (the key is marked "executing"; no lock held) -> execute under the
    state lock and save the answer under the key -> injected drop (no answer at all)

Only answers from the execute step are saved under an idempotency key. The HTTP layer
(:mod:`ledgerrun_sandbox.server`) only moves bytes; everything Stripe-like is decided here.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledgerrun_sandbox.endpoints import Endpoints, Route, Write, route
from ledgerrun_sandbox.errors import ApiError, invalid_request, unrecognized_url
from ledgerrun_sandbox.faults import FaultInjector, FaultPlan
from ledgerrun_sandbox.idempotency import MAX_KEY_LENGTH, Outcome, SavedAnswer
from ledgerrun_sandbox.rules import LIVE_KEY_PREFIXES, TEST_KEY_PREFIXES
from ledgerrun_sandbox.state import Account, SandboxState
from ledgerrun_sandbox.wire import (
    api_key_from_authorization,
    decode_form,
    decode_json_object,
    http_date,
    key_hint,
    render_json,
)

log = logging.getLogger("ledgerrun_sandbox")

_CURRENCY = re.compile(r"^[a-z]{3}$")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False  # close the connection without answering


class SandboxApi:
    def __init__(self, state: SandboxState, injector: FaultInjector) -> None:
        self.state = state
        self.injector = injector
        self.endpoints = Endpoints(state)

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return self._sandbox(request)
        return self._v1(request)

    # --- /v1 ---------------------------------------------------------------------------------

    def _v1(self, request: Request) -> Response:
        is_post = request.method == "POST"
        plan = self.injector.plan(write=is_post)
        with self.state.lock:
            self.state.stats.requests += 1
            if is_post:
                self.state.stats.write_requests += 1
        extra: list[tuple[str, str]] = []
        try:
            return self._pipeline(request, plan, extra)
        except ApiError as err:
            self._nap(plan)
            if err.should_retry:
                extra.append(("Stripe-Should-Retry", "true"))
            return self._answer(err.status, err.payload(), extra)

    def _pipeline(
        self, request: Request, plan: FaultPlan, extra: list[tuple[str, str]]
    ) -> Response:
        if plan.rate_limited:
            self.injector.record("rate_limit")
            raise ApiError(
                429,
                "Too many requests hit the sandbox too quickly (its --max-rps cap). "
                "Slow down and retry.",
                code="rate_limit",
                should_retry=True,
            )
        self._authenticate(request.headers.get("authorization"))
        ctx = self.state.context(request.headers.get("stripe-account"))
        target = route(request.method, request.path)
        if target is None:
            raise unrecognized_url(request.method, request.path)
        if target.is_write:
            params = decode_form(_text(request.body))
            write = self.endpoints.write(target, ctx, params)
            _check_key_length(request.headers.get("idempotency-key"))
        else:
            params = decode_form(request.query)
            work = self.endpoints.read(target, ctx, params)
        if plan.error:
            self.injector.record("error")
            raise ApiError(
                500,
                "An injected server error (--error-rate): nothing was executed. Retry.",
                type="api_error",
                should_retry=True,
            )
        if not target.is_write:
            self._nap(plan)
            with self.state.lock:
                payload = work()
            return self._answer(200, payload, extra)
        if plan.lock_timeout:
            self.injector.record("lock_timeout")
            raise ApiError(
                429,
                "An injected lock timeout (--lock-timeout-rate): another request held a lock "
                "on this object; nothing was executed. Retry.",
                code="lock_timeout",
                should_retry=True,
            )
        return self._write(request, target, ctx, params, write, plan, extra)

    def _write(
        self,
        request: Request,
        target: Route,
        ctx: Account,
        params: dict[str, Any],
        write: Write,
        plan: FaultPlan,
        extra: list[tuple[str, str]],
    ) -> Response:
        state = self.state
        key = request.headers.get("idempotency-key") or None
        request_id = _request_id()
        if key is not None:
            replay = self._claim(key, ctx, request.path, params, plan, extra)
            if replay is not None:
                return replay
        saved = False
        try:
            self._nap(plan)  # the key is "executing"; concurrent retries get a 409
            with state.lock:
                try:
                    status, payload = 200, write.work()
                    state.stats.writes_executed += 1
                except ApiError as err:
                    status, payload = err.status, err.payload()
                    state.stats.writes_refused += 1
                except Exception:
                    log.exception("unexpected failure executing %s", target.name)
                    status, payload = 500, _internal_error()
                if key is not None:
                    answer = SavedAnswer(status, payload, request_id)
                    state.idempotency.save(ctx.id, key, answer)
                    saved = True
        finally:
            if key is not None and not saved:
                with state.lock:
                    state.idempotency.release(ctx.id, key)
        if status == 200 and plan.drop:
            self.injector.record("drop")
            return Response(0, b"", drop=True)
        if status >= 500:
            # Saved under a key, the 500 is all a retry with that key would get back.
            extra.append(("Stripe-Should-Retry", "false" if saved else "true"))
        return self._answer(status, payload, extra, request_id=request_id)

    def _claim(
        self,
        key: str,
        ctx: Account,
        path: str,
        params: dict[str, Any],
        plan: FaultPlan,
        extra: list[tuple[str, str]],
    ) -> Response | None:
        """Reserve ``key`` for this request (``None``), or answer: replay, 409 or mismatch."""
        extra.append(("Idempotency-Key", key))
        state = self.state
        with state.lock:
            outcome, answer = state.idempotency.reserve(
                ctx.id, key, ("POST", path, params), state.clock.now()
            )
            if outcome is Outcome.REPLAY:
                state.stats.idempotent_replays += 1
        if outcome is Outcome.MISMATCH:
            raise ApiError(
                400,
                f"Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Use a key other than '{key[:40]}' for a different "
                "request.",
                type="idempotency_error",
            )
        if outcome is Outcome.IN_USE:
            raise ApiError(
                409,
                f"Another request with the idempotency key '{key[:40]}' is still executing. "
                "Retry after it completes.",
                code="idempotency_key_in_use",
                should_retry=True,
            )
        if answer is not None:
            self._nap(plan)
            extra += [("Idempotent-Replayed", "true"), ("Original-Request", answer.request_id)]
            if answer.status >= 500:
                # The 500 is saved under the key: retrying with it would only replay it.
                extra.append(("Stripe-Should-Retry", "false"))
            return self._answer(answer.status, answer.payload, extra)
        return None

    def _authenticate(self, header: str | None) -> str:
        """The request's API key, or a 401 that shows at most the key's kind and last four."""
        key = api_key_from_authorization(header)
        if key is None:
            raise _auth_error(
                "You did not provide an API key. Send it as 'Authorization: Bearer sk_test_...' "
                "(or as the user name of HTTP basic auth)."
            )
        invalid = f"Invalid API Key provided: {key_hint(key)}"
        allowed = self.state.api_keys
        if allowed is not None:
            if key in allowed:
                return key
            raise _auth_error(invalid)
        if key.startswith(TEST_KEY_PREFIXES) and len(key) > len("sk_test_"):
            return key
        if key.startswith(LIVE_KEY_PREFIXES):
            raise _auth_error(
                f"{invalid} (a live mode key: this local sandbox only accepts test mode keys, "
                "sk_test_... or rk_test_...)"
            )
        raise _auth_error(
            f"{invalid} (not a test mode secret (sk_test_...) or restricted (rk_test_...) key)"
        )

    def _nap(self, plan: FaultPlan) -> None:
        """Sleep the request's injected latency, once, with no lock held."""
        if plan.latency_s > 0:
            delay, plan.latency_s = plan.latency_s, 0.0
            self.injector.record("latency")
            time.sleep(delay)

    # --- /_sandbox ---------------------------------------------------------------------------

    def _sandbox(self, request: Request) -> Response:
        try:
            if request.method == "GET" and request.path == "/_sandbox/state":
                return self._answer(200, self.state.snapshot(self.injector.snapshot()), [])
            if request.method == "POST" and request.path == "/_sandbox/clock":
                return self._answer(200, {"now": self._advance(request)}, [])
            if request.method == "POST" and request.path == "/_sandbox/balance":
                return self._answer(200, self._top_up(request), [])
            raise unrecognized_url(request.method, request.path)
        except ApiError as err:
            return self._answer(err.status, err.payload(), [])

    @staticmethod
    def _helper_params(request: Request) -> dict[str, Any]:
        """A helper's params: a JSON object body, or a form body, or the query string."""
        body = request.body
        if "json" in request.headers.get("content-type", "") or body.lstrip().startswith(b"{"):
            return decode_json_object(body)
        return decode_form(_text(body) or request.query)

    def _top_up(self, request: Request) -> dict[str, Any]:
        """``POST /_sandbox/balance``: add money to one balance, from nowhere."""
        params = self._helper_params(request)
        account_id = params.get("account")
        currency = params.get("currency")
        raw_amount = params.get("amount")
        if not isinstance(account_id, str) or not account_id:
            raise invalid_request("account", "account is required: a seed account id.")
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            raise invalid_request("currency", "currency must be a lowercase code like usd.")
        if isinstance(raw_amount, bool) or not isinstance(raw_amount, int | str):
            raise invalid_request("amount", "amount must be a positive integer (minor units).")
        try:
            amount = int(raw_amount)
        except ValueError:
            raise invalid_request(
                "amount", "amount must be a positive integer (minor units)."
            ) from None
        if not 0 < amount < 10**15:
            raise invalid_request("amount", "amount must be a positive integer (minor units).")
        return self.state.top_up(account_id, currency, amount)

    def _advance(self, request: Request) -> float:
        params = self._helper_params(request)
        raw = params.get("advance_s")
        try:
            seconds = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise invalid_request(
                "advance_s", "advance_s must be a number of seconds, e.g. advance_s=86401"
            ) from None
        if not 0 <= seconds < 10**10:
            raise invalid_request("advance_s", "advance_s must be >= 0: the clock only moves on")
        return self.state.clock.advance(seconds)

    # --- answers -----------------------------------------------------------------------------

    def error_answer(self, error: ApiError) -> Response:
        """An error answer with the usual headers, for the HTTP layer's own refusals."""
        extra = [("Stripe-Should-Retry", "true")] if error.should_retry else []
        return self._answer(error.status, error.payload(), extra)

    def _answer(
        self,
        status: int,
        payload: Any,
        extra: list[tuple[str, str]],
        *,
        request_id: str | None = None,
    ) -> Response:
        headers = [
            ("Request-Id", request_id or _request_id()),
            ("Date", http_date(self.state.clock.now())),
            ("Content-Type", "application/json"),
            *extra,
        ]
        return Response(status, render_json(payload), headers)


def _request_id() -> str:
    return "req_" + secrets.token_hex(7)


def _check_key_length(key: str | None) -> None:
    if key is not None and len(key) > MAX_KEY_LENGTH:
        # Stripe answers an over-long key with a plain invalid_request_error (no code, no
        # param); its wording reports the length and the accepted 1-255 range.
        raise ApiError(
            400,
            f"The idempotency key is {len(key)} characters long, outside the accepted range: "
            f"idempotency keys must be 1 to {MAX_KEY_LENGTH} characters long.",
        )


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_request(None, "The request body is not valid UTF-8.") from None


def _auth_error(message: str) -> ApiError:
    # Stripe's OpenAPI spec has no authentication_error type (api_error, card_error,
    # idempotency_error, invalid_request_error): a refused key is a 401 invalid_request_error.
    return ApiError(401, message)


def _internal_error() -> dict[str, Any]:
    return ApiError(
        500, "The sandbox failed unexpectedly while executing this request.", type="api_error"
    ).payload()
