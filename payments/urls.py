from django.urls import path, register_converter

from payments.apis import OperationStatusApi, OrganizationBalanceApi, PaymentWebhookApi
from payments.fields import INN_PATTERN


class InnConverter:
    """10 or 12 ASCII digits; any other path segment falls through to the JSON 404."""

    regex = INN_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(InnConverter, "inn")

urlpatterns = [
    path("webhook/bank/", PaymentWebhookApi.as_view(), name="webhook-bank"),
    path(
        "organizations/<inn:inn>/balance/",
        OrganizationBalanceApi.as_view(),
        name="organization-balance",
    ),
    path("operations/<uuid:operation_id>/", OperationStatusApi.as_view(), name="operation-status"),
]
