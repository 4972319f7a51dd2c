"""The HTTP API: request size, Django REST framework, the OpenAPI schema and its docs page."""

from core.settings.env import (
    MAX_REQUEST_BODY_BYTES,
    STATEMENT_MAX_BYTES,
)
from core.settings.project import ADMIN_URL

DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# Paths whose bodies may exceed MAX_REQUEST_BODY_BYTES (core.http.body_limit), each with its own
# cap: a bank statement's upload, by the API and by the admin's form.
REQUEST_BODY_LIMITS = {
    "/api/statements/": STATEMENT_MAX_BYTES,
    f"/{ADMIN_URL}statements/statement/upload/": STATEMENT_MAX_BYTES,
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.http.fastpath.parsers.SafeJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "core.http.exception_handler.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Bank webhook payments",
    "DESCRIPTION": (
        "Receives the bank's payment notifications and credits each operation to the payer "
        "organization's balance exactly once. Amounts are integers in minor units (kopecks). "
        'Every error has the shape {"error": {"code", "message", ...}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {"PaymentStatusEnum": "payments.openapi.PAYMENT_STATUSES"},
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    # Swagger UI's JavaScript and CSS come from the drf-spectacular-sidecar wheel, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The read endpoints' bearer token, declared so that Swagger UI offers Authorize
    # (payments/openapi.py puts it on each read endpoint).
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "readToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "One of API_TOKENS, sent as `Authorization: Bearer <token>`.",
            },
            "importToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "One of STATEMENT_IMPORT_TOKENS: imports a bank statement.",
            },
        }
    },
}
