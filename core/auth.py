"""The admin's password check: never writes to the users' table beyond the last login.

Django's ModelBackend rehashes a password at login when its hasher's parameters have changed
(after a Django upgrade), saving the new hash with the request's database role. The serving
role may not write password hashes (a role that can set one can take over any admin account;
docs/security.md, "Database roles"), so here a login verifies and never rehashes: an old hash
keeps working, and is upgraded when the owner changes the password (`manage.py changepassword`).

Hashes run one at a time on this host (password_hashing): a flood of logins spends one core at
most, never every core the webhook's workers run on (core.http.admin_login throttles each
address before it gets here).
"""

import contextlib
import fcntl
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password, make_password
from django.db import connection

# Every worker process of every instance on this host takes this file's lock to hash.
HASHING_LOCK_PATH = Path(tempfile.gettempdir()) / "payments-password-hashing.lock"
# How long a login waits for its turn before the console answers "busy" (503).
HASHING_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.01
_in_process = threading.Lock()


class LoginBusy(Exception):
    """Other logins held the hashing turn for HASHING_WAIT_SECONDS: answered 503, retried."""


@contextlib.contextmanager
def password_hashing() -> Iterator[None]:
    """Hold this host's one hashing turn for the block; LoginBusy if it does not come."""
    deadline = time.monotonic() + HASHING_WAIT_SECONDS
    # The wait and the hash need no database: the request's pooled connection goes back to the
    # pool meanwhile, or a burst of logins would hold every connection while it waits.
    if not connection.in_atomic_block:
        connection.close()
    if not _in_process.acquire(timeout=HASHING_WAIT_SECONDS):
        raise LoginBusy
    try:
        with HASHING_LOCK_PATH.open("a") as lock_file:
            while True:
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LoginBusy from None
                    time.sleep(_POLL_SECONDS)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
    finally:
        _in_process.release()


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
            with password_hashing():
                make_password(password)
            return None
        # No setter: a hash due for an upgrade is not written back.
        with password_hashing():
            verified = check_password(password, user.password)
        return user if verified and self.user_can_authenticate(user) else None
