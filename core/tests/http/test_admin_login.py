"""Admin logins are limited per client address before any password is hashed, and hashes run
one at a time on the host (docs/security.md, "Admin")."""

import fcntl
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from axes.models import AccessAttempt
from django.test import Client

from core import auth
from core.http.admin_login import LOGIN_BURST
from testsupport.servers import PRODUCTION_ENV, uvicorn_server

LOGIN = "/admin/login/"


def login_post(client: httpx.Client, username: str, token: str) -> httpx.Response:
    return client.post(
        LOGIN,
        data={"username": username, "password": "wrong", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{client.base_url}{LOGIN}"},
    )


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_guesser_rotating_usernames_is_throttled_before_any_hash():
    """django-axes counts per username and address: a fresh username each time never locks.
    The address's budget does, and the refused attempts never reach authentication (axes,
    which records every authenticated failure, has no record of them)."""
    env = {**PRODUCTION_ENV, "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0"}
    with uvicorn_server(workers=1, **env) as base:
        client = httpx.Client(base_url=base, timeout=30)
        form = client.get(LOGIN)  # one form: its token serves every post
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        # All at once, as a flood arrives: the budget is spent on arrival, not as hashes end.
        with ThreadPoolExecutor(max_workers=LOGIN_BURST + 10) as pool:
            statuses = list(
                pool.map(
                    lambda i: login_post(client, f"guess-{i}", token).status_code,
                    range(LOGIN_BURST + 10),
                )
            )

    assert statuses.count(429) >= 10  # the budget left after the form: LOGIN_BURST - 1
    # 503: a login that waited too long for the host's one hashing turn (never a 500, even
    # with more logins waiting than the pool has connections: they wait without one).
    assert set(statuses) <= {200, 429, 503}
    assert AccessAttempt.objects.count() == statuses.count(200)


@pytest.mark.django_db
def test_a_login_waits_for_the_hosts_hashing_turn_then_answers_busy(monkeypatch, client: Client):
    """Another process holds the hashing turn (here, this test): the login neither hashes
    beside it nor fails with a 500; it waits, then answers 503 with Retry-After."""
    monkeypatch.setattr(auth, "HASHING_WAIT_SECONDS", 0.2)
    client.raise_request_exception = False
    with auth.HASHING_LOCK_PATH.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            response = client.post(LOGIN, {"username": "operator", "password": "anything"})
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
