from uuid import UUID

from django.urls import path, register_converter
from rest_framework.exceptions import ValidationError

from payments.apis import OperationStatusApi, OrganizationBalanceApi, PaymentWebhookApi
from payments.serializer_fields import INN_PATTERN, StrictUUIDField


class InnConverter:
    """10 or 12 ASCII digits; any other path segment falls through to the JSON 404."""

    regex = INN_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class OperationIdConverter:
    """Every spelling of an operation_id that the webhook accepts (upper case, no hyphens...),
    parsed by the webhook's own field; any other path segment falls through to the JSON 404."""

    regex = "[^/]+"

    def to_python(self, value: str) -> UUID:
        try:
            return StrictUUIDField().to_internal_value(value)
        except ValidationError:
            raise ValueError(value) from None  # Django's "no match"

    def to_url(self, value: UUID) -> str:
        return str(value)


register_converter(InnConverter, "inn")
register_converter(OperationIdConverter, "operation_id")

urlpatterns = [
    path("webhook/bank/", PaymentWebhookApi.as_view(), name="webhook-bank"),
    path(
        "organizations/<inn:inn>/balance/",
        OrganizationBalanceApi.as_view(),
        name="organization-balance",
    ),
    path(
        "operations/<operation_id:operation_id>/",
        OperationStatusApi.as_view(),
        name="operation-status",
    ),
]
