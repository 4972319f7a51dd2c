"""The one place that turns failures into HTTP responses.

Every error body has the same shape, so the bank's client and operators can rely on it:
    {"error": {"code": "<stable_code>", "message": "<human text>", "fields": {...}, ...}}
`fields` appears for invalid input and names every bad field. No stack trace or SQL ever leaves.
"""

import functools
import logging
from enum import Enum

import psycopg
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.csrf import csrf_exempt
from procrastinate.exceptions import ConnectorException
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.errors import ApplicationError, ErrorCode
from core.http.paths import is_admin_path

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "2"
PAYLOAD_TOO_LARGE_MESSAGE = "Request body is larger than the allowed limit."
# Database down, pool exhausted, lock or statement timeout, not ready: the sender may retry.
SERVICE_UNAVAILABLE_MESSAGE = "Temporarily unavailable, retry later."


def error_body(code: Enum | str, message: str, **extra) -> dict:
    """The one error shape: {"error": {"code", "message", ...}}."""
    return {"error": {"code": getattr(code, "value", code), "message": message, **extra}}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER; returning None lets Django answer (and log) a real 500."""
    if isinstance(exc, ApplicationError):
        return Response(
            error_body(exc.code, exc.message, **exc.details),
            status=exc.status_code,
            headers=exc.headers,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(
            error_body(ErrorCode.INVALID_REQUEST, "The request body is invalid.", fields=fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.ParseError):
        return Response(
            error_body(ErrorCode.MALFORMED_JSON, "The request body is not a valid JSON document."),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(ErrorCode.PAYLOAD_TOO_LARGE, PAYLOAD_TOO_LARGE_MESSAGE),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(exc.wait)
        return Response(
            error_body(exc.default_code, str(exc.detail)), status=exc.status_code, headers=headers
        )
    if isinstance(exc, ConnectorException) and exc.__cause__ is not None:
        # procrastinate wraps the driver's error when a job is enqueued (background mode): judge
        # it by that error, as if it had been raised by the payment's own statements.
        exc = exc.__cause__
    # Django's wrappers, or psycopg's own from the async pool (PoolTimeout is an OperationalError).
    if isinstance(
        exc, (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
    ):
        # Database down, pool exhausted, or a lock/statement timeout: the transaction was rolled
        # back, so nothing is half-written and the sender can safely retry.
        logger.error("database unavailable: %s", type(exc.__cause__ or exc).__name__)
        return Response(
            error_body(ErrorCode.SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE_MESSAGE),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    return None


def bad_request(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body(ErrorCode.BAD_REQUEST, "Bad request."), status=400)


# Exempt: an unknown path is a 404 whatever the method (CSRF would answer a POST with 403).
@csrf_exempt
def not_found(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body(ErrorCode.NOT_FOUND, "Not found."), status=404)


def csrf_failure(request, reason: str = "") -> HttpResponse:
    if is_admin_path(request.path_info):
        return admin_refusal(
            request,
            title="Form refused",
            explanation="This form was not accepted: it was sent from another site, or its "
            "security token expired. Reload the page and send it again.",
        )
    return JsonResponse(error_body(ErrorCode.CSRF_FAILED, "CSRF verification failed."), status=403)


def permission_denied(request, exception=None) -> HttpResponse:
    if is_admin_path(request.path_info):
        return admin_refusal(
            request,
            title="Not allowed",
            explanation="This action is not allowed. Payments and the balance log are a "
            "permanent record: they cannot be added, changed or deleted here, and neither can "
            "organizations be deleted.",
        )
    return JsonResponse(error_body(ErrorCode.PERMISSION_DENIED, "Permission denied."), status=403)


def admin_refusal(request, *, title: str, explanation: str, status: int = 403) -> HttpResponse:
    """The admin's own page with the reason, instead of a bare 4xx or an API error body."""
    from django.contrib import admin

    context = {**admin.site.each_context(request), "title": title, "explanation": explanation}
    return TemplateResponse(request, "admin/403.html", context, status=status).render()


def server_error(request) -> JsonResponse:
    return JsonResponse(error_body(ErrorCode.SERVER_ERROR, "Internal server error."), status=500)


def get_only(view):
    """Let an async plain-Django view answer GET and HEAD; any other method gets the JSON 405."""

    @functools.wraps(view)
    async def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return JsonResponse(
                error_body(ErrorCode.METHOD_NOT_ALLOWED, f'Method "{request.method}" not allowed.'),
                status=405,
                headers={"Allow": "GET, HEAD"},
            )
        return await view(request, *args, **kwargs)

    return wrapper
