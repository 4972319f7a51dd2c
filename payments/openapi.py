"""What the API docs say about each endpoint: every status it can return, with example bodies.

The request example is the task's own payload; error examples are rendered by
core.http.exception_handler.error_body, like the real responses. payments/tests/test_openapi.py
validates the schema and checks real responses against it.
"""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers

from core.errors import ErrorCode
from core.http.exception_handler import (
    PAYLOAD_TOO_LARGE_MESSAGE,
    SERVICE_UNAVAILABLE_MESSAGE,
    error_body,
)
from core.openapi import ErrorDetailSerializer, error_response
from payments.errors import PaymentsErrorCode
from payments.outcomes import PaymentOutcome
from payments.serializer_fields import INN_PATTERN

TASK_EXAMPLE = {
    "operation_id": "ccf0a86d-041b-4991-bcf7-e2352f7b8a4a",
    "amount": 145000,
    "payer_inn": "1234567890",
    "document_number": "PAY-328",
    "document_date": "2024-04-27T21:00:00Z",
}
# Names the `status` enum of the webhook's answer (SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
PAYMENT_STATUSES = [outcome.value for outcome in PaymentOutcome]
# OpenAPI patterns are ECMAScript regexes: no Python-only \Z.
INN_SCHEMA_PATTERN = f"^{INN_PATTERN}$"
# The usual spellings of a UUID; the endpoint takes every one the webhook takes (payments.urls).
OPERATION_ID_SCHEMA_PATTERN = (
    r"^(urn:uuid:)?\{?[0-9A-Fa-f]{8}(-?[0-9A-Fa-f]{4}){3}-?[0-9A-Fa-f]{12}\}?$"
)

# The read endpoints' security requirement; the scheme itself is SPECTACULAR_SETTINGS'
# APPEND_COMPONENTS (it is what makes Swagger UI's Authorize button appear).
READ_TOKEN_SCHEME = "readToken"  # noqa: S105 (a name, not a secret)

# Runs as printed (payments/tests/test_openapi.py executes it against a real server).
SIGNING_SNIPPET = """\
import base64, hashlib, hmac, json, time, uuid

secret = "whsec_..."  # the secret the service was given in BANK_WEBHOOK_SECRETS
body = json.dumps({
    "operation_id": str(uuid.uuid4()), "amount": 145000, "payer_inn": "1234567890",
    "document_number": "PAY-328", "document_date": "2024-04-27T21:00:00Z",
})
msg_id, timestamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
key = base64.b64decode(secret.removeprefix("whsec_"))
digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
print(body)
print("webhook-id:", msg_id)
print("webhook-timestamp:", timestamp)
print("webhook-signature:", "v1," + base64.b64encode(digest).decode())
"""

WEBHOOK_DESCRIPTION = f"""\
Records the operation and credits `amount` to the payer organization's balance, exactly once
per `operation_id`, however many times and however simultaneously it is delivered. An unknown
`payer_inn` gets its organization created. Unknown extra fields are ignored. Amounts are
integers in minor units (kopecks): `145000` is 1 450,00 ₽.

**Signing** ([Standard Webhooks](https://www.standardwebhooks.com/)). With signing on (always
in production) every delivery carries three headers, and a delivery without a valid signature
is refused with 401 before its body is read:

- `webhook-id`: this message's unique id, e.g. `msg_<uuid>`;
- `webhook-timestamp`: the time of signing in Unix seconds, at most `WEBHOOK_TOLERANCE_SECONDS`
  (300 by default) from the server's clock either way;
- `webhook-signature`: `v1,` + base64 of HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<raw
  body bytes>`, keyed with the base64-decoded part of the secret after `whsec_`. Several
  space-separated signatures may be sent (during a key rotation); one valid one is enough.

**A test delivery from this page**: run this (Python 3.9+, standard library only) with the
service's secret, paste the first line it prints into the request body *as printed* (the
signature covers the exact bytes) and the three header values into their fields, then Execute
within five minutes.

```python
{SIGNING_SNIPPET}```
"""


def _signing_header(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        str,
        OpenApiParameter.HEADER,
        required=False,
        description=f"{description} Required when signing is on (always in production).",
    )


WEBHOOK_SIGNING_HEADERS = [
    _signing_header("webhook-id", "This message's unique id, e.g. `msg_<uuid>`."),
    _signing_header("webhook-timestamp", "Unix seconds at signing."),
    _signing_header(
        "webhook-signature",
        "`v1,<base64 HMAC-SHA256>` over `<webhook-id>.<webhook-timestamp>.<body>` (see above).",
    ),
]


class OperationConflictDetailSerializer(ErrorDetailSerializer):
    operation_id = serializers.UUIDField()
    differing_fields = serializers.ListField(
        child=serializers.ChoiceField(
            choices=["amount", "payer_inn", "document_number", "document_date"]
        ),
        help_text="The fields whose stored value differs from this delivery.",
    )


@extend_schema_serializer(component_name="OperationConflictError")
class OperationConflictErrorSerializer(serializers.Serializer):
    error = OperationConflictDetailSerializer()


def _method_not_allowed(allowed: str) -> OpenApiResponse:
    return error_response(
        f"Any method other than {allowed} (listed here because OpenAPI has no place for "
        "undeclared methods).",
        error_body(ErrorCode.METHOD_NOT_ALLOWED, 'Method "PUT" not allowed.'),
    )


SERVICE_UNAVAILABLE = error_response(
    "The database is unreachable, the connection pool is exhausted, or a lock or statement "
    "timed out. The transaction was rolled back, so nothing is half-written; `Retry-After` "
    "says when to retry, and retrying is safe.",
    error_body(ErrorCode.SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE_MESSAGE),
)


def webhook_schema(*, request: type[serializers.Serializer], response):
    """extend_schema for the bank's delivery endpoint (PaymentWebhookApi.post)."""
    operation_id = TASK_EXAMPLE["operation_id"]
    return extend_schema(
        operation_id="webhook_bank_deliver",
        summary="Deliver one bank operation (idempotent)",
        description=WEBHOOK_DESCRIPTION,
        tags=["webhook"],
        # Signed, not token-authenticated: no bearer token applies here.
        auth=[],
        parameters=WEBHOOK_SIGNING_HEADERS,
        request=request,
        examples=[
            OpenApiExample("Task example", value=TASK_EXAMPLE, request_only=True),
        ],
        responses={
            200: OpenApiResponse(
                response=response,
                description=(
                    "`credited`: new operation, the balance was credited. `accepted` "
                    "(background mode): new operation, durably recorded; a worker credits it. "
                    "`duplicate`: already recorded with the same content; nothing changed."
                ),
                examples=[
                    OpenApiExample(
                        outcome.value,
                        value={"operation_id": operation_id, "status": outcome.value},
                    )
                    for outcome in PaymentOutcome
                ],
            ),
            400: error_response(
                "`invalid_request`: a field is missing or invalid (`fields` names each one). "
                "`malformed_json`: the body is not valid JSON (empty, truncated, NaN, bad UTF-8).",
                error_body(
                    ErrorCode.INVALID_REQUEST,
                    "The request body is invalid.",
                    fields={"amount": ["Must be a JSON integer."]},
                ),
                error_body(
                    ErrorCode.MALFORMED_JSON, "The request body is not a valid JSON document."
                ),
            ),
            401: error_response(
                "Signature verification is on (`BANK_WEBHOOK_SECRETS` is set) and the "
                "`webhook-signature` is missing or invalid, or `webhook-timestamp` is outside "
                "the tolerance. The code names the reason; nothing was recorded.",
                error_body(
                    PaymentsErrorCode.INVALID_SIGNATURE,
                    "The webhook signature is invalid.",
                    reason="no_matching_signature",
                ),
            ),
            405: _method_not_allowed("POST"),
            409: error_response(
                "The `operation_id` is already recorded with different content. Nothing changed.",
                error_body(
                    PaymentsErrorCode.OPERATION_CONFLICT,
                    "This operation_id was already received with different content.",
                    operation_id=operation_id,
                    differing_fields=["amount"],
                ),
                serializer=OperationConflictErrorSerializer,
            ),
            413: error_response(
                "The body is larger than `MAX_REQUEST_BODY_BYTES` (64 KiB by default).",
                error_body(ErrorCode.PAYLOAD_TOO_LARGE, PAYLOAD_TOO_LARGE_MESSAGE),
            ),
            415: error_response(
                "`Content-Type` is not `application/json`.",
                error_body(
                    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    'Unsupported media type "text/plain" in request.',
                ),
            ),
            422: error_response(
                "Crediting would overflow the balance column (not expected in practice: amounts "
                "are capped at 10^15). Nothing was recorded.",
                error_body(
                    PaymentsErrorCode.BALANCE_OVERFLOW,
                    "Crediting this amount would overflow the organization's balance.",
                    payer_inn=TASK_EXAMPLE["payer_inn"],
                ),
            ),
            503: SERVICE_UNAVAILABLE,
        },
    )


READ_TOKEN_REQUIRED = error_response(
    "Read tokens are on (`API_TOKENS` is set) and `Authorization: Bearer <token>` is missing or "
    "not one of them (`reason`: `missing_token` or `unknown_token`).",
    error_body(
        PaymentsErrorCode.INVALID_TOKEN,
        "A valid `Authorization: Bearer <token>` header is required.",
        reason="missing_token",
    ),
)


def balance_schema(*, response):
    """extend_schema for OrganizationBalanceApi.get."""
    inn = TASK_EXAMPLE["payer_inn"]
    return extend_schema(
        operation_id="organization_balance_get",
        summary="An organization's current balance",
        description=(
            "The organization's balance now, in minor units (kopecks): `145000` is 1 450,00 ₽. "
            "It is the sum of every credited operation of this INN; an operation accepted in "
            "background mode counts once a worker has credited it (see "
            "`GET /api/operations/{operation_id}/`). Needs a read token (Authorize)."
        ),
        tags=["organizations"],
        auth=[{READ_TOKEN_SCHEME: []}],
        parameters=[
            OpenApiParameter(
                "inn",
                str,
                OpenApiParameter.PATH,
                description="10 or 12 digits. Any other value is a 404 `not_found`.",
                pattern=INN_SCHEMA_PATTERN,
            )
        ],
        responses={
            200: OpenApiResponse(
                response=response,
                description="The balance in minor units (kopecks).",
                examples=[OpenApiExample("balance", value={"inn": inn, "balance": 145000})],
            ),
            401: READ_TOKEN_REQUIRED,
            404: error_response(
                "No organization has this INN.",
                error_body(
                    PaymentsErrorCode.ORGANIZATION_NOT_FOUND,
                    "No organization with this INN.",
                    inn="0000000000",
                ),
            ),
            405: _method_not_allowed("GET"),
            503: SERVICE_UNAVAILABLE,
        },
    )


def operation_schema(*, response):
    """extend_schema for OperationStatusApi.get."""
    operation_id = TASK_EXAMPLE["operation_id"]
    return extend_schema(
        operation_id="operation_status_get",
        summary="Where a bank operation stands (pending or credited)",
        description=(
            "What became of one bank operation: `pending` only in background mode, between "
            "the acknowledgement and the worker's credit; `credited_at` is set once the "
            "balance was credited. Amounts in minor units (kopecks), times in UTC. Needs a "
            "read token (Authorize)."
        ),
        tags=["operations"],
        parameters=[
            OpenApiParameter(
                "operation_id",
                str,
                OpenApiParameter.PATH,
                description=(
                    "The operation's UUID, in any spelling the webhook accepts (any case, with "
                    "or without hyphens, braces or a `urn:uuid:` prefix). Anything else is a "
                    "404 `not_found`."
                ),
                pattern=OPERATION_ID_SCHEMA_PATTERN,
            )
        ],
        auth=[{READ_TOKEN_SCHEME: []}],
        responses={
            200: OpenApiResponse(
                response=response,
                description="The recorded operation.",
                examples=[
                    OpenApiExample(
                        "credited",
                        value={
                            "operation_id": operation_id,
                            "status": "credited",
                            "amount": TASK_EXAMPLE["amount"],
                            "payer_inn": TASK_EXAMPLE["payer_inn"],
                            "created_at": "2024-04-27T21:00:01.123456Z",
                            "credited_at": "2024-04-27T21:00:01.123456Z",
                        },
                    )
                ],
            ),
            401: READ_TOKEN_REQUIRED,
            404: error_response(
                "No operation has this id (or the id is not a UUID: `not_found`).",
                error_body(
                    PaymentsErrorCode.OPERATION_NOT_FOUND,
                    "No operation with this operation_id.",
                    operation_id=operation_id,
                ),
            ),
            405: _method_not_allowed("GET"),
            503: SERVICE_UNAVAILABLE,
        },
    )
