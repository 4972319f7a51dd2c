"""HTTP endpoints: validate, call one service or selector, serialize. Nothing else."""

from adrf.views import APIView
from asgiref.sync import sync_to_async
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response

from payments.fields import (
    PAYER_INN_REGEX,
    AwareDateTimeField,
    StrictCharField,
    StrictIntegerField,
    StrictRegexField,
    StrictUUIDField,
)
from payments.openapi import balance_schema, webhook_schema
from payments.selectors import organization_balance_get
from payments.services import PaymentOutcome, payment_process

MAX_AMOUNT = 10**15


class PaymentWebhookApi(APIView):
    """The bank's delivery endpoint; safe to call any number of times for one operation."""

    @extend_schema_serializer(component_name="PaymentDelivery")
    class InputSerializer(serializers.Serializer):
        operation_id = StrictUUIDField()
        amount = StrictIntegerField(min_value=1, max_value=MAX_AMOUNT)
        payer_inn = StrictRegexField(
            PAYER_INN_REGEX,
            trim_whitespace=False,
            error_messages={"invalid": "Must be a string of 10 or 12 digits."},
        )
        document_number = StrictCharField(max_length=64)
        document_date = AwareDateTimeField()

    @extend_schema_serializer(component_name="PaymentDeliveryResult")
    class OutputSerializer(serializers.Serializer):
        operation_id = serializers.UUIDField()
        status = serializers.ChoiceField(choices=[outcome.value for outcome in PaymentOutcome])

    @webhook_schema(request=InputSerializer, response=OutputSerializer)
    async def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Django transactions are sync-only: the whole service runs in one thread hop.
        outcome = await sync_to_async(payment_process)(**serializer.validated_data)
        operation_id = serializer.validated_data["operation_id"]
        return Response(
            self.OutputSerializer({"operation_id": operation_id, "status": outcome.value}).data
        )


class OrganizationBalanceApi(APIView):
    @extend_schema_serializer(component_name="OrganizationBalance")
    class OutputSerializer(serializers.Serializer):
        inn = serializers.CharField()
        balance = serializers.IntegerField(help_text="Minor units (kopecks).")

    @balance_schema(response=OutputSerializer)
    async def get(self, request, inn: str):
        balance = await organization_balance_get(inn=inn)
        return Response(self.OutputSerializer({"inn": inn, "balance": balance}).data)
