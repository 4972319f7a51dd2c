"""HTTP endpoints: validate, call one service or selector, serialize. Nothing else, except that
the webhook hands what it learned to its summary log line (payments.webhook_observation)."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response

from core.http.fastpath.views import APIView
from core.http.serializers import PrototypeFieldsSerializer
from core.observability.logs import request_log_bind, request_log_timed
from payments.auth import HasApiToken, HasBankWebhookSignature
from payments.models import Payment
from payments.openapi import balance_schema, operation_schema, webhook_schema
from payments.outcomes import PaymentOutcome
from payments.selectors import organization_balance_get, payment_get
from payments.serializer_fields import (
    PAYER_INN_REGEX,
    AwareDateTimeField,
    ExactCharField,
    StrictIntegerField,
    StrictRegexField,
    StrictUUIDField,
)
from payments.services.crediting import PaymentData, payment_receive

MAX_AMOUNT = 10**15


class PaymentWebhookApi(APIView):
    """The bank's delivery endpoint; safe to call any number of times for one operation."""

    # Checked in initial(), before post() parses the body: an unsigned body is never parsed.
    permission_classes = [HasBankWebhookSignature]

    @extend_schema_serializer(component_name="PaymentDelivery")
    class InputSerializer(PrototypeFieldsSerializer):
        operation_id = StrictUUIDField()
        amount = StrictIntegerField(min_value=1, max_value=MAX_AMOUNT)
        payer_inn = StrictRegexField(
            PAYER_INN_REGEX,
            trim_whitespace=False,
            error_messages={"invalid": "Must be a string of 10 or 12 digits."},
        )
        # Stored and compared exactly as sent (docs/architecture.md, "Document numbers").
        document_number = ExactCharField(max_length=64)
        document_date = AwareDateTimeField()

    @extend_schema_serializer(component_name="PaymentDeliveryResult")
    class OutputSerializer(serializers.Serializer):
        operation_id = serializers.UUIDField()
        status = serializers.ChoiceField(choices=[outcome.value for outcome in PaymentOutcome])

    @webhook_schema(request=InputSerializer, response=OutputSerializer)
    async def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = PaymentData(**serializer.validated_data)
        # For the delivery's one summary log line (payments.webhook_observation writes it).
        request_log_bind(
            operation_id=str(data.operation_id), payer_inn=data.payer_inn, amount=data.amount
        )
        with request_log_timed("crediting"):
            result = await payment_receive(data=data)
        request_log_bind(balance_after=result.balance_after)
        # OutputSerializer's representation, written out: the class documents the answer
        # (OpenAPI); building one per delivery cost 6% of it (docs/performance.md).
        return self.rendered(
            {"operation_id": str(data.operation_id), "status": result.outcome.value}
        )


class OrganizationBalanceApi(APIView):
    permission_classes = [HasApiToken]

    @extend_schema_serializer(component_name="OrganizationBalance")
    class OutputSerializer(serializers.Serializer):
        inn = serializers.CharField()
        balance = serializers.IntegerField(help_text="Minor units (kopecks).")

    @balance_schema(response=OutputSerializer)
    async def get(self, request, inn: str):
        balance = await organization_balance_get(inn=inn)
        return Response(self.OutputSerializer({"inn": inn, "balance": balance}).data)


class OperationStatusApi(APIView):
    """Where an operation stands: lets the bank or an operator check a delivery's fate."""

    permission_classes = [HasApiToken]

    @extend_schema_serializer(component_name="OperationStatus")
    class OutputSerializer(serializers.Serializer):
        operation_id = serializers.UUIDField()
        status = serializers.ChoiceField(choices=Payment.Status.values)
        amount = serializers.IntegerField(help_text="Minor units (kopecks).")
        payer_inn = serializers.CharField(source="organization_id")
        created_at = serializers.DateTimeField()
        credited_at = serializers.DateTimeField(allow_null=True)

    @operation_schema(response=OutputSerializer)
    async def get(self, request, operation_id):
        payment = await payment_get(operation_id=operation_id)
        return Response(self.OutputSerializer(payment).data)
