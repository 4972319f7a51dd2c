"""The console's login form: a username longer than any account's is refused by the form."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.validators import MaxLengthValidator


class AdminLoginForm(AdminAuthenticationForm):
    """Django's admin login form, whose username length limit is real.

    AuthenticationForm sets the username field's max_length after the field is built, so the
    limit reaches the HTML attribute but not the validators: a longer name went on to
    authenticate(), cost a password hash, and broke django-axes' record of the attempt (its
    column is 255 wide) with a 500. Here it is a form error, before any hashing.
    """

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))
