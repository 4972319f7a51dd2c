"""HTTP endpoints: validate, call one service or selector, serialize. Nothing else, except that
the webhook hands what it learned to its summary log line (payments.webhook_observation)."""

from functools import cache
from typing import Annotated
from uuid import UUID

import msgspec
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response

from core.http.fastpath.compiled import CompiledBody
from core.http.fastpath.views import APIView
from core.http.serializers import PrototypeFieldsSerializer
from core.observability.logs import request_log_bind, request_log_timed
from core.private_apis import django_request
from payments.auth import HasApiToken, HasBankWebhookSignature
from payments.models import Payment
from payments.openapi import balance_schema, operation_schema, webhook_schema
from payments.outcomes import PaymentOutcome
from payments.selectors import organization_balance_get, payment_get
from payments.serializer_fields import (
    NON_BLANK_PATTERN,
    PAYER_INN_REGEX,
    AwareDateTimeField,
    ExactCharField,
    StrictIntegerField,
    StrictRegexField,
    StrictUUIDField,
)
from payments.services.crediting import PaymentData, payment_receive

MAX_AMOUNT = 10**15
DOCUMENT_NUMBER_MAX_LENGTH = 64


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
        document_number = ExactCharField(max_length=DOCUMENT_NUMBER_MAX_LENGTH)
        document_date = AwareDateTimeField()

    class CompiledInput(msgspec.Struct, forbid_unknown_fields=True):
        """InputSerializer's rules, compiled (msgspec), for the deliveries it can judge exactly
        as the serializer does (core.http.fastpath.compiled); document_date is left to the
        serializer's own field. payments/tests/test_apis_validation.py holds the two equal."""

        operation_id: UUID
        amount: Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT)]
        payer_inn: Annotated[str, msgspec.Meta(pattern=PAYER_INN_REGEX)]
        document_number: Annotated[
            str,
            msgspec.Meta(
                min_length=1, max_length=DOCUMENT_NUMBER_MAX_LENGTH, pattern=NON_BLANK_PATTERN
            ),
        ]
        document_date: str

    @extend_schema_serializer(component_name="PaymentDeliveryResult")
    class OutputSerializer(serializers.Serializer):
        operation_id = serializers.UUIDField()
        status = serializers.ChoiceField(choices=[outcome.value for outcome in PaymentOutcome])

    @webhook_schema(request=InputSerializer, response=OutputSerializer)
    async def post(self, request):
        data = delivery_compiled(django_request(request))
        if data is None:  # anything the compiled rules cannot judge as DRF would, and refusals
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


def delivery_compiled(request) -> PaymentData | None:
    """The delivery in Django's request, validated by PaymentWebhookApi.CompiledInput and the
    serializer's document_date field; None when DRF's path must judge it (it then answers any
    refusal, with its own errors)."""
    decoded = _compiled_input().decode(request)
    if decoded is None:
        return None
    try:
        document_date = _document_date_field().run_validation(decoded.document_date)
    except (serializers.ValidationError, DjangoValidationError):
        return None
    return PaymentData(
        operation_id=decoded.operation_id,
        amount=decoded.amount,
        payer_inn=decoded.payer_inn,
        document_number=decoded.document_number,
        document_date=document_date,
    )


@cache
def _compiled_input() -> CompiledBody:
    return CompiledBody(PaymentWebhookApi.CompiledInput)


@cache
def _document_date_field() -> serializers.Field:
    return PaymentWebhookApi.InputSerializer.prototype("document_date")


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
