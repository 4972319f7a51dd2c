"""The admin's password check: never writes to the users' table beyond the last login.

Django's ModelBackend rehashes a password at login when its hasher's parameters have changed
(after a Django upgrade), saving the new hash with the request's database role. The serving
role may not write password hashes (a role that can set one can take over any admin account;
docs/security.md, "Database roles"), so here a login verifies and never rehashes: an old hash
keeps working, and is upgraded when the owner changes the password (`manage.py changepassword`).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password, make_password


class LoginBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user_model = get_user_model()
        if username is None:
            username = kwargs.get(user_model.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = user_model.objects.get_by_natural_key(username)
        except user_model.DoesNotExist:
            # Hash once anyway, so an unknown name costs what a known one does: the answer's
            # timing does not tell which names exist.
            make_password(password)
            return None
        # No setter: a hash due for an upgrade is not written back.
        if check_password(password, user.password) and self.user_can_authenticate(user):
            return user
        return None
