"""The admin resists password guessing and can be switched off; through a real uvicorn in
production configuration (DEBUG=0, secure cookies).
"""

import os
import re
import subprocess
import sys

import httpx
import pytest
from django.contrib.auth.models import User

from testsupport.database import test_database_url
from testsupport.launch import ROOT
from testsupport.servers import PRODUCTION_ENV, uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple-42"
LOGIN = "/admin/login/"


class AdminBrowser:
    """Logs in as a browser would. The cookies are Secure (production), which httpx rightly
    keeps to HTTPS; the service sits behind TLS termination, so they are sent back by hand."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)
        self.cookies: dict[str, str] = {}

    def _remember(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]

    def login(self, username: str, password: str) -> httpx.Response:
        form = self.client.get(LOGIN, headers=self._cookie_header())
        self._remember(form)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        response = self.client.post(
            LOGIN,
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": token,
                "next": "/admin/",
            },
            headers=self._cookie_header(),
        )
        self._remember(response)
        return response

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}


def manage(*args: str) -> subprocess.CompletedProcess:
    """An operator's command, on the test database as the serving role."""
    env = {**os.environ, "DATABASE_URL": test_database_url(), "DATABASE_OWNER_URL": ""}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_admin_login_is_locked_after_repeated_failures_until_an_operator_unlocks_it():
    User.objects.create_superuser("operator", password=PASSWORD)
    User.objects.create_superuser("other", password=PASSWORD)
    with uvicorn_server(workers=1, **PRODUCTION_ENV, ADMIN_LOGIN_FAILURE_LIMIT="3") as base:
        browser = AdminBrowser(base)
        failures = [browser.login("operator", "wrong-guess").status_code for _ in range(3)]
        locked = browser.login("operator", PASSWORD)
        other_user = AdminBrowser(base).login("other", PASSWORD)

        reset = manage("axes_reset_username", "operator")
        unlocked = AdminBrowser(base).login("operator", PASSWORD)

    assert failures == [200, 200, 429]
    assert locked.status_code == 429
    assert "Account locked: too many login attempts" in locked.text
    assert other_user.status_code == 302  # the lock is per username and address
    assert reset.returncode == 0, reset.stderr
    assert unlocked.status_code == 302
    assert unlocked.headers["location"] == "/admin/"


def test_admin_disabled_exposes_no_admin_and_sets_no_cookie():
    with uvicorn_server(workers=1, **PRODUCTION_ENV, ADMIN_ENABLED="0") as base:
        page = httpx.get(f"{base}{LOGIN}", timeout=10)
        post = httpx.post(f"{base}{LOGIN}", data={"username": "x", "password": "y"}, timeout=10)

    for response in (page, post):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert "set-cookie" not in response.headers


def test_admin_disabled_removes_the_app_and_its_middleware():
    printed = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.conf import settings; print(settings.INSTALLED_APPS, settings.MIDDLEWARE)"],
        cwd=ROOT, env={**os.environ, "ADMIN_ENABLED": "0"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert printed.returncode == 0, printed.stderr
    assert "django.contrib.admin" not in printed.stdout
    for middleware in ("Session", "Csrf", "Authentication", "Message", "Axes"):
        assert f"Admin{middleware}" not in printed.stdout
