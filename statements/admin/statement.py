"""Statements: the list, the upload form, the credits no statement confirms."""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from payments.admin.console import ReadOnlyAdmin, when
from payments.admin.links import admin_url as payments_admin_url
from payments.models import Payment
from statements.errors import StatementInvalid
from statements.imports import statement_file_import
from statements.models import Statement
from statements.selectors import credits_unconfirmed_list


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        help_text="A 1C client-bank exchange file (.txt) or a camt.053 document (.xml)."
    )


def lines_url(statement_id: int, **filters: str) -> str:
    query = urlencode({"statement__id__exact": statement_id, **filters})
    return reverse("admin:statements_statementline_changelist") + "?" + query


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = [
        "statement",
        "period",
        "accounts_display",
        "format_display",
        "lines_total",
        "matched",
        "credited",
        "discrepancies",
        "imported_list",
    ]
    list_display_links = ["statement"]
    list_filter = ["format"]
    ordering = ["-id"]
    fields = [
        "filename",
        "format_display",
        "accounts_display",
        "period",
        "created_display",
        "imported_display",
        "lines_link",
        "sha256",
    ]
    readonly_fields = fields
    change_list_template = "admin/statements/statement_change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # A statement's counts by result: one aggregate over its lines, per row shown.
        counts = {
            f"{name}_count": Count("lines", filter=Q(lines__result=name))
            for name in ("matched", "credited", "conflict")
        }
        return super().get_queryset(request).annotate(**counts)

    def get_urls(self):
        own = [
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="statements_statement_upload",
            ),
            path(
                "unconfirmed/",
                self.admin_site.admin_view(self.unconfirmed_view),
                name="statements_statement_unconfirmed",
            ),
        ]
        return own + super().get_urls()

    def upload_view(self, request: HttpRequest) -> TemplateResponse:
        """Import a file as the API does; show its report, or why it was refused."""
        report, refusal = None, None
        form = StatementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = statement_file_import(data=upload.read(), filename=upload.name)
            except StatementInvalid as exc:
                refusal = exc.message
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a bank statement",
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "refusal": refusal,
            "lines_url": lines_url(report.statement.id) if report else None,
            "payment_urls": _payment_urls(report) if report else {},
        }
        return TemplateResponse(request, "admin/statements/upload.html", context)

    def unconfirmed_view(self, request: HttpRequest) -> TemplateResponse:
        credits = credits_unconfirmed_list()
        urls = _payment_urls_by_operation([credit.operation_id for credit in credits])
        context = {
            **self.admin_site.each_context(request),
            "title": "Credits no statement confirms",
            "opts": self.model._meta,
            "credits": [(credit, urls.get(credit.operation_id)) for credit in credits],
        }
        return TemplateResponse(request, "admin/statements/unconfirmed.html", context)

    @admin.display(description="statement", ordering="id")
    def statement(self, obj: Statement) -> str:
        return f"#{obj.id} {obj.filename}".strip()

    @admin.display(description="period", ordering="period_start")
    def period(self, obj: Statement) -> str:
        if obj.period_start == obj.period_end:
            return f"{obj.period_start:%d.%m.%Y}"
        return f"{obj.period_start:%d.%m.%Y} – {obj.period_end:%d.%m.%Y}"

    @admin.display(description="accounts")
    def accounts_display(self, obj: Statement) -> str:
        return ", ".join(obj.accounts)

    @admin.display(description="format", ordering="format")
    def format_display(self, obj: Statement) -> str:
        return f"{obj.format} {obj.version}"

    @admin.display(description="matched", ordering="matched_count")
    def matched(self, obj: Statement) -> int:
        return obj.matched_count

    @admin.display(description="credited", ordering="credited_count")
    def credited(self, obj: Statement) -> str:
        return format_html(
            '<a href="{}">{}</a>', lines_url(obj.id, result="credited"), obj.credited_count
        )

    @admin.display(description="conflicts", ordering="conflict_count")
    def discrepancies(self, obj: Statement) -> str:
        if not obj.conflict_count:
            return "0"
        return format_html(
            '<a href="{}"><strong>{}</strong></a>',
            lines_url(obj.id, result="conflict"),
            obj.conflict_count,
        )

    @admin.display(description="lines")
    def lines_link(self, obj: Statement) -> str:
        return format_html(
            '<a href="{}">{} lines</a> ({} incoming, {} outgoing)',
            lines_url(obj.id),
            obj.lines_total,
            obj.lines_incoming,
            obj.lines_outgoing,
        )

    imported_list = when("imported_at", "imported", in_list=True)
    imported_display = when("imported_at", "imported")
    created_display = when("created_at", "made by the bank")


def _payment_urls(report) -> dict[str, str]:
    """Each credited or matched line's payment page, by operation id."""
    ids = [line.operation_id for line in (*report.credited, *report.matched)]
    return {str(k): v for k, v in _payment_urls_by_operation(ids).items()}


def _payment_urls_by_operation(operation_ids) -> dict:
    payments = Payment.objects.filter(operation_id__in=operation_ids).only("id", "operation_id")
    return {payment.operation_id: payments_admin_url(payment) for payment in payments}
