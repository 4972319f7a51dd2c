"""HTTP endpoints of statements: the file in, the report out (statements.report's JSON shape)."""

from asgiref.sync import sync_to_async
from rest_framework import status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from core.http.fastpath.views import APIView
from statements.auth import HasStatementToken
from statements.imports import statement_file_import
from statements.openapi import statement_get_schema, statement_import_schema
from statements.selectors import statement_report_get


class _StatementFileParser(BaseParser):
    """The body's bytes as they are: the statement's own parser reads its encoding."""

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        # HttpRequest.read(), not .body: the body limit here is REQUEST_BODY_LIMITS' (already
        # applied by core.http.body_limit), not DATA_UPLOAD_MAX_MEMORY_SIZE's.
        return stream.read() if stream is not None else b""


class OneCStatementParser(_StatementFileParser):
    media_type = "text/plain"


class Camt053StatementParser(_StatementFileParser):
    media_type = "application/xml"


class Camt053TextXmlParser(_StatementFileParser):
    media_type = "text/xml"


class StatementImportApi(APIView):
    """Import a statement file; the same file again returns its report, crediting nothing."""

    permission_classes = [HasStatementToken]
    parser_classes = [OneCStatementParser, Camt053StatementParser, Camt053TextXmlParser]

    @statement_import_schema()
    async def post(self, request):
        data = request.data
        # One thread hop: parsing and the import's transactions are synchronous.
        report = await sync_to_async(statement_file_import)(data=data)
        answer = status.HTTP_200_OK if report.already_imported else status.HTTP_201_CREATED
        return Response(report.as_dict(), status=answer)


class StatementReportApi(APIView):
    permission_classes = [HasStatementToken]

    @statement_get_schema()
    async def get(self, request, statement_id: int):
        report = await sync_to_async(statement_report_get)(statement_id=statement_id)
        return Response(report.as_dict())
