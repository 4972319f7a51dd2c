"""Users and groups in the console: shown, not edited.

The console's requests log in as the serving role, which may read users and record a login,
nothing more (payments/db_roles.py): a user is created or changed by an operator with the owner's
login (`make manage ARGS="createsuperuser"`, `changepassword <name>`), so these pages offer no
add, change or delete, and the "change password" page says where that is done.
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from core.http.exception_handler import admin_refusal


class ViewOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ViewOnlyUserAdmin(ViewOnlyMixin, UserAdmin):
    pass


class ViewOnlyGroupAdmin(ViewOnlyMixin, GroupAdmin):
    pass


def password_change_elsewhere(request, extra_context=None):
    return admin_refusal(
        request,
        title="Password change",
        explanation="Passwords are changed by an operator with the database owner's login: "
        'make manage ARGS="changepassword <username>" (or manage.py changepassword with '
        "DATABASE_OWNER_URL set).",
    )


for model, model_admin in ((User, ViewOnlyUserAdmin), (Group, ViewOnlyGroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
# An instance attribute: AdminSite.get_urls() routes password_change/ to it.
admin.site.password_change = password_change_elsewhere
