"""One log line plus metrics per webhook delivery, read from the answer the bank gets.

An ASGI layer (settings.ASGI_MIDDLEWARE) inside core.http.request_id's request id and outside the
body-size limit, so each delivery, a 413 too, is counted and logged exactly once, from here. The
outcome comes from the stable codes in the JSON body (core.http.exception_handler), never from
messages; what only the view knows (the operation, the balance after it, the time in the
service) it binds with core.observability.logs.request_log_bind. Costs a webhook no query.
"""

import logging
import time
from functools import cache

import msgspec
from django.urls import reverse

from core.errors import ErrorCode
from core.http.layer import HttpLayer, Message, Receive, Scope, Send
from core.observability import metrics as core_metrics
from core.observability.logs import RequestContext, request_context
from payments import metrics
from payments.errors import PaymentsErrorCode
from payments.outcomes import DeliveryFailure, PaymentOutcome

logger = logging.getLogger("payments.webhook")

# Webhook answers are a few hundred bytes; this only bounds what is kept to read the outcome.
_MAX_OBSERVED_BODY = 64 * 1024

# Error codes that name their own failure; any other 4xx is an invalid request.
_FAILURE_BY_ERROR_CODE = {
    PaymentsErrorCode.OPERATION_CONFLICT.value: DeliveryFailure.CONFLICT.value,
    PaymentsErrorCode.BALANCE_OVERFLOW.value: DeliveryFailure.OVERFLOW.value,
    ErrorCode.SERVICE_UNAVAILABLE.value: DeliveryFailure.UNAVAILABLE.value,
    ErrorCode.PAYLOAD_TOO_LARGE.value: DeliveryFailure.TOO_LARGE.value,
}
_SUCCESS_OUTCOMES = frozenset(outcome.value for outcome in PaymentOutcome)
_LOG_LEVELS = {
    DeliveryFailure.CONFLICT.value: logging.WARNING,
    DeliveryFailure.UNAUTHORIZED.value: logging.WARNING,
    DeliveryFailure.UNAVAILABLE.value: logging.WARNING,
    DeliveryFailure.OVERFLOW.value: logging.ERROR,
    DeliveryFailure.ERROR.value: logging.ERROR,
}


def webhook_outcome(status: int | None, body: dict) -> str:
    """Name what happened to one delivery (a WEBHOOK_OUTCOMES value), from the response's
    status and JSON body."""
    if status is not None and 200 <= status < 300:
        reported = body.get("status")
        return reported if reported in _SUCCESS_OUTCOMES else DeliveryFailure.ERROR.value
    if status in (401, 403):
        return DeliveryFailure.UNAUTHORIZED.value
    code = _error_code(body)
    if code in _FAILURE_BY_ERROR_CODE:
        return _FAILURE_BY_ERROR_CODE[code]
    if status is not None and 400 <= status < 500:
        return DeliveryFailure.INVALID.value
    return DeliveryFailure.ERROR.value


@cache
def _webhook_path() -> str:
    return reverse("webhook-bank")


class WebhookObservationMiddleware(HttpLayer):
    def handles(self, scope: Scope) -> bool:
        return scope["type"] == "http" and scope["path"] == _webhook_path()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = request_context.get() or RequestContext(request_id="")
        # None once this delivery has been counted and logged.
        pending: _Delivery | None = _Delivery()

        async def send_observed(message: Message) -> None:
            nonlocal pending
            if pending is not None:
                pending.see(message)
                if pending.complete:
                    # Before the last byte goes out: whoever has the answer can already see it
                    # counted (a scrape right after it would otherwise race this worker).
                    pending.observe(context)
                    pending = None
            await send(message)

        async def receive_observed() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" and pending is not None:
                pending.disconnected = True
            return message

        try:
            await self.app(scope, receive_observed, send_observed)
        finally:
            if pending is not None:  # no complete answer went out: an error or a disconnect
                pending.observe(context)
            # Here, not with the counters: Django gives the connection back only after the
            # answer is sent.
            core_metrics.db_pool_sample()


class _Delivery:
    """One webhook delivery's answer, as it is sent."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.status: int | None = None
        self.body = bytearray()
        self.complete = False
        # The client closed its side (half or whole) before the whole answer went out.
        self.disconnected = False

    def see(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            if len(self.body) < _MAX_OBSERVED_BODY:
                self.body.extend(message.get("body", b""))
            self.complete = not message.get("more_body", False)

    def observe(self, context: RequestContext) -> None:
        seconds = time.perf_counter() - self.started
        _webhook_observe(
            context,
            self.status,
            bytes(self.body),
            seconds,
            disconnected=self.disconnected and not self.complete,
        )


def _webhook_observe(
    context: RequestContext,
    status: int | None,
    body: bytes,
    seconds: float,
    *,
    disconnected: bool = False,
):
    answer = _json_object(body)
    # Anyone can open a connection and leave: that is the client's doing, logged at INFO and
    # counted apart, so it cannot inflate the error metric. Whatever committed stays committed
    # (a retry is then a duplicate).
    outcome = (
        DeliveryFailure.DISCONNECTED.value if disconnected else webhook_outcome(status, answer)
    )
    fields = context.fields
    metrics.webhook_record(
        outcome=outcome, amount=fields.get("amount"), crediting_ms=fields.get("crediting_ms")
    )
    logger.log(
        _LOG_LEVELS.get(outcome, logging.INFO),
        "webhook %s",
        outcome,
        extra={
            "request_id": context.request_id,
            "outcome": outcome,
            "status": status,
            "error_code": _error_code(answer),
            "operation_id": fields.get("operation_id"),
            "payer_inn": fields.get("payer_inn"),
            "amount": fields.get("amount"),
            "balance_after": fields.get("balance_after"),
            "crediting_ms": fields.get("crediting_ms"),
            "duration_ms": round(seconds * 1000, 3),
        },
    )


def _json_object(body: bytes) -> dict:
    try:
        # msgspec's decoder: the answer is the service's own JSON, read again for every delivery.
        parsed = _JSON.decode(body)
    except msgspec.DecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


_JSON = msgspec.json.Decoder()


def _error_code(body: dict) -> str | None:
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None
