from django.urls import path

from statements.apis import StatementImportApi, StatementReportApi

urlpatterns = [
    path("statements/", StatementImportApi.as_view(), name="statement-import"),
    path("statements/<int:statement_id>/", StatementReportApi.as_view(), name="statement-report"),
]
