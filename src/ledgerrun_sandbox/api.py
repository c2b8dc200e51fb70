"""One request in, one answer out: the pipeline every ``/v1`` request goes through.

Order of steps (each may answer early)::

    --max-rps cap (429 rate_limit) -> API key (401) -> Stripe-Version (400)
    -> Stripe-Account (403) -> route (404) -> rate limits (429 rate_limit)
    -> params and key length (400) -> injected 500 (error_mode retryable, or a read)
    / 429 lock_timeout -> idempotency key (400 other params / 409 in flight / replay)
    -> injected 500 saved under the key (error_mode saved) -> injected latency (the key is
    marked "executing"; no lock held) -> execute under the state lock and save the answer
    under the key -> injected drop (no answer at all)

Only answers from the execute step (and saved injected 500s) are saved under an idempotency
key. Every answer after the version step carries ``Stripe-Version``. Pending refunds that have
come due settle before anything else reads the books. The HTTP layer
(:mod:`ledgerrun_sandbox.server`) only moves bytes; everything Stripe-like is decided here.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledgerrun_sandbox import refunds
from ledgerrun_sandbox.accounts import Account
from ledgerrun_sandbox.auth import api_version, authenticate, check_search_version
from ledgerrun_sandbox.endpoints import Endpoints, Write
from ledgerrun_sandbox.errors import ApiError, invalid_request, unrecognized_url
from ledgerrun_sandbox.faults import FaultInjector, FaultPlan
from ledgerrun_sandbox.helpers import helper, helper_params
from ledgerrun_sandbox.idempotency import MAX_KEY_LENGTH, Outcome, SavedAnswer
from ledgerrun_sandbox.limits import RateLimiter
from ledgerrun_sandbox.routes import Route, route
from ledgerrun_sandbox.state import SandboxState
from ledgerrun_sandbox.wire import decode_form, http_date, render_json

log = logging.getLogger("ledgerrun_sandbox")


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
    def __init__(
        self, state: SandboxState, injector: FaultInjector, limiter: RateLimiter | None = None
    ) -> None:
        self.state = state
        self.injector = injector
        self.limiter = limiter or RateLimiter("off")
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
            if err.code == "rate_limit":
                with self.state.lock:
                    self.state.stats.rate_limited += 1
            return self._answer(err.status, err.payload(), extra)

    def _pipeline(
        self, request: Request, plan: FaultPlan, extra: list[tuple[str, str]]
    ) -> Response:
        state = self.state
        if plan.rate_limited:
            self.injector.record("rate_limit")
            raise ApiError(
                429,
                "Too many requests hit the sandbox too quickly (its --max-rps cap). "
                "Slow down and retry.",
                code="rate_limit",
                should_retry=True,
            )
        authenticate(request.headers.get("authorization"), state.api_keys)
        version = api_version(request.headers.get("stripe-version"), state.api_version)
        extra.append(("Stripe-Version", version))
        with state.lock:
            state.stats.api_versions[version] += 1
            refunds.settle_due(state)
        ctx = state.context(request.headers.get("stripe-account"))
        target = route(request.method, request.path)
        if target is None:
            raise unrecognized_url(request.method, request.path)
        with state.lock:
            state.stats.operations[target.operation] += 1
        self.limiter.admit(target.operation)
        if target.name == "charge_search":
            check_search_version(version)
        if target.is_write:
            params = decode_form(_text(request.body))
            write = self.endpoints.write(target, ctx, params)
            _check_key_length(request.headers.get("idempotency-key"))
        else:
            params = decode_form(request.query)
            work = self.endpoints.read(target, ctx, params)
        if plan.error and not (target.is_write and plan.error_saved):
            self.injector.record("error")
            raise ApiError(
                500,
                "An injected server error (--error-rate): nothing was executed. Retry.",
                type="api_error",
                # error_mode "saved": a read's 500 (nothing to save) says nothing either way
                should_retry=not plan.error_saved,
            )
        if not target.is_write:
            self._nap(plan)
            with state.lock:
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
                if plan.error:  # error_mode "saved": the 500 is the request's answer
                    self.injector.record("error")
                    status, payload = 500, _injected_error()
                else:
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
            # Saved under a key, the 500 is all a retry with that key would get back. An
            # injected one (error_mode saved) says the same without a key: as on Stripe, the
            # request may have begun executing, so a blind retry could do it twice.
            retry = not saved and not plan.error
            extra.append(("Stripe-Should-Retry", "true" if retry else "false"))
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

    def _nap(self, plan: FaultPlan) -> None:
        """Sleep the request's injected latency, once, with no lock held."""
        if plan.latency_s > 0:
            delay, plan.latency_s = plan.latency_s, 0.0
            self.injector.record("latency")
            time.sleep(delay)

    # --- /_sandbox ---------------------------------------------------------------------------

    def _sandbox(self, request: Request) -> Response:
        def params() -> dict[str, Any]:
            content_type = request.headers.get("content-type", "")
            return helper_params(content_type, request.body, request.query)

        try:
            body = helper(self.state, request.method, request.path, params, self.injector.snapshot)
            return self._answer(200, body, [])
        except ApiError as err:
            return self._answer(err.status, err.payload(), [])

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


def _injected_error() -> dict[str, Any]:
    return ApiError(
        500,
        "An injected server error (--error-rate), saved under the request's idempotency key: "
        "a retry with this key gets this answer again.",
        type="api_error",
    ).payload()


def _internal_error() -> dict[str, Any]:
    return ApiError(
        500, "The sandbox failed unexpectedly while executing this request.", type="api_error"
    ).payload()
