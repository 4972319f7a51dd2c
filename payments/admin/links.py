"""Links between records: every INN and operation id leads to its record."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import format_html

from payments.models import Organization, Payment


def admin_url(obj, action: str = "change") -> str:
    return reverse(f"admin:payments_{obj._meta.model_name}_{action}", args=[obj.pk])


def changelist_url(model, **params: str) -> str:
    return reverse(f"admin:payments_{model._meta.model_name}_changelist") + "?" + urlencode(params)


def link(url: str, text, title: str = "") -> str:
    if title:
        return format_html('<a href="{}" title="{}">{}</a>', url, title, text)
    return format_html('<a href="{}">{}</a>', url, text)


def organization_link(organization: Organization) -> str:
    return link(admin_url(organization), organization.inn, organization.name)


def payment_link(payment: Payment) -> str:
    return link(admin_url(payment), payment.operation_id)
