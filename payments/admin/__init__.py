"""Operators' view of organizations, payments and the balance log.

Money is never edited here: payments and balance-log rows are view-only (the database refuses
changes to them anyway), and an organization's balance is read-only and never written back by a
save, so a credit that lands while an operator edits the name is not lost. Nothing is deletable.

Amounts read as roubles (payments.display) with the raw minor units beside them on detail
pages, where an operator compares with the bank's data; dates read in DISPLAY_TIME_ZONE with
the zone named. Every INN and operation id links to its record, and every record to its
neighbours. Lists never count a whole table (CappedCountPaginator) and search only by prefixes
that an index serves (migration 0004_admin_search_indexes; operation ids as a range of their
unique index, 0006).
"""

from django.contrib import admin

from payments.admin import balance_log, organization, payment, users  # noqa: F401 (registers them)
from payments.admin.login import AdminLoginForm

admin.site.site_header = "Payments console"
admin.site.site_title = "Payments console"
admin.site.index_title = "Organizations, payments and the balance log"
# "View site" opens the API docs: this service has no public site of its own.
admin.site.site_url = "/api/docs/"
# The app list beside every page takes a fifth of a 1366 px screen, and the payments list needs
# it; the home page and the breadcrumbs lead everywhere it does.
admin.site.enable_nav_sidebar = False
admin.site.login_form = AdminLoginForm
