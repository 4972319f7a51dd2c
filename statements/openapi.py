"""What the API docs say about the statement endpoints, in the shape of statements.report."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers

from core.errors import ErrorCode
from core.http.exception_handler import PAYLOAD_TOO_LARGE_MESSAGE, error_body
from core.openapi import ErrorDetailSerializer, error_response
from payments.errors import PaymentsErrorCode
from statements.errors import StatementsErrorCode
from statements.types import StatementFormat

IMPORT_TOKEN_SCHEME = "importToken"  # noqa: S105 (a name, not a secret)
READ_TOKEN_SCHEME = "readToken"  # noqa: S105
STATEMENT_MEDIA_TYPES = ("text/plain", "application/xml", "text/xml")


class _Summary(serializers.Serializer):
    id = serializers.IntegerField()
    accounts = serializers.ListField(child=serializers.CharField())
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    format = serializers.ChoiceField(choices=[f.value for f in StatementFormat])
    version = serializers.CharField()
    created_at = serializers.DateTimeField(allow_null=True, help_text="When the bank made it.")
    imported_at = serializers.DateTimeField()
    lines_total = serializers.IntegerField()
    lines_incoming = serializers.IntegerField()
    lines_outgoing = serializers.IntegerField()


class _Matched(serializers.Serializer):
    position = serializers.IntegerField()
    where = serializers.CharField(help_text="The line (1C) or element (camt.053) in the file.")
    operation_id = serializers.UUIDField()
    payer_inn = serializers.CharField()
    amount = serializers.IntegerField(help_text="Minor units (kopecks).")


class _Credited(_Matched):
    document_number = serializers.CharField()
    document_date = serializers.DateField()


class _Conflict(serializers.Serializer):
    position = serializers.IntegerField()
    where = serializers.CharField()
    operation_id = serializers.UUIDField(allow_null=True)
    differing_fields = serializers.ListField(child=serializers.CharField())
    line_amount = serializers.IntegerField()
    line_payer_inn = serializers.CharField(allow_null=True)
    payment_operation_id = serializers.UUIDField(allow_null=True)
    payment_amount = serializers.IntegerField(allow_null=True)
    payment_payer_inn = serializers.CharField(allow_null=True)


class _Unconfirmed(serializers.Serializer):
    operation_id = serializers.UUIDField()
    payer_inn = serializers.CharField()
    amount = serializers.IntegerField()
    document_number = serializers.CharField()
    document_date = serializers.DateTimeField()
    credited_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="StatementReport")
class StatementReportSerializer(serializers.Serializer):
    statement = _Summary()
    matched = _Matched(many=True, help_text="Lines the ledger already had.")
    credited = _Credited(many=True, help_text="Missed webhooks: credited by this import.")
    conflicts = _Conflict(many=True, help_text="Lines the ledger has otherwise: not credited.")
    unconfirmed = _Unconfirmed(
        many=True, help_text="Credits that the imported statements should list and do not."
    )
    already_imported = serializers.BooleanField()


class _StatementInvalidDetail(ErrorDetailSerializer):
    where = serializers.CharField(help_text="The line (1C) or element (camt.053) at fault.")


@extend_schema_serializer(component_name="StatementInvalidError")
class StatementInvalidErrorSerializer(serializers.Serializer):
    error = _StatementInvalidDetail()


TOKEN_REQUIRED = error_response(
    "Tokens are on and `Authorization: Bearer <token>` is missing or not one of them: "
    "importing needs one of `STATEMENT_IMPORT_TOKENS` (a read token of `API_TOKENS` is refused); "
    "reading a report takes either.",
    error_body(
        PaymentsErrorCode.INVALID_TOKEN,
        "A valid `Authorization: Bearer <token>` header is required.",
        reason="unknown_token",
    ),
)


def statement_import_schema():
    """extend_schema for StatementImportApi.post."""
    return extend_schema(
        operation_id="statement_import",
        summary="Import a bank statement (idempotent)",
        description=(
            "The body is the statement file as the bank gave it: a 1C client-bank exchange file "
            "(`text/plain`, windows-1251 or cp866 as its `Кодировка` says) or an ISO 20022 "
            "camt.053 document (`application/xml` or `text/xml`, .001.02 or .001.08). Its "
            "incoming lines are matched to payments; the missed ones are credited exactly once "
            "(a later webhook of them answers `duplicate`). The same file again credits "
            "nothing and answers 200 with `already_imported: true`. Bodies up to "
            "`STATEMENT_MAX_BYTES` (64 MiB by default). Needs an import token (Authorize)."
        ),
        tags=["statements"],
        auth=[{IMPORT_TOKEN_SCHEME: []}],
        request={media_type: OpenApiTypes.BINARY for media_type in STATEMENT_MEDIA_TYPES},
        responses={
            201: OpenApiResponse(StatementReportSerializer, "Imported now."),
            200: OpenApiResponse(
                StatementReportSerializer,
                "This file was imported before: its report as the ledger stands now.",
            ),
            400: error_response(
                "The file is refused whole, nothing imported: it does not parse, or its totals "
                "disagree with its lines. `where` names the line or element.",
                error_body(
                    StatementsErrorCode.STATEMENT_INVALID,
                    "line 14: ВсегоПоступило is 1500.50 but the incoming documents sum to 1450.00",
                    where="line 14",
                ),
                serializer=StatementInvalidErrorSerializer,
            ),
            401: TOKEN_REQUIRED,
            413: error_response(
                "The body is larger than `STATEMENT_MAX_BYTES` (64 MiB by default).",
                error_body(ErrorCode.PAYLOAD_TOO_LARGE, PAYLOAD_TOO_LARGE_MESSAGE),
            ),
            415: error_response(
                "`Content-Type` is none of `text/plain`, `application/xml`, `text/xml`.",
                error_body(
                    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    'Unsupported media type "application/json" in request.',
                ),
            ),
        },
    )


def statement_get_schema():
    """extend_schema for StatementReportApi.get."""
    return extend_schema(
        operation_id="statement_report_get",
        summary="An imported statement's report",
        description=(
            "The report of an imported statement as the ledger stands now (`unconfirmed` lists "
            "every unconfirmed credit at this moment). Needs an import or a read token."
        ),
        tags=["statements"],
        auth=[{IMPORT_TOKEN_SCHEME: []}, {READ_TOKEN_SCHEME: []}],
        responses={
            200: OpenApiResponse(StatementReportSerializer, "The report."),
            401: TOKEN_REQUIRED,
            404: error_response(
                "No statement has this id.",
                error_body(
                    StatementsErrorCode.STATEMENT_NOT_FOUND,
                    "No statement with this id.",
                    statement_id=7,
                ),
            ),
        },
    )
