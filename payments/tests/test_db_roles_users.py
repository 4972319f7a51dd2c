"""The serving role and the users' tables: it reads users and updates only what a login
updates; creating or changing a user takes the owner. Checked with the real role."""

import os
import subprocess
import sys

import psycopg
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from psycopg import errors

from testsupport.database import serving_role_only, test_database_url
from testsupport.launch import ROOT

pytestmark = [pytest.mark.django_db(transaction=True), serving_role_only]

ALLOWED = [
    "SELECT count(*) FROM auth_user",
    "SELECT count(*) FROM auth_user_groups",
    "SELECT count(*) FROM auth_permission",
    "UPDATE auth_user SET last_login = now()",
    "INSERT INTO django_session (session_key, session_data, expire_date)"
    " VALUES ('k-serving-role-test', 'x', now())",
    "DELETE FROM django_session WHERE session_key = 'k-serving-role-test'",
    "INSERT INTO axes_accessattempt (username, ip_address, user_agent, http_accept, path_info,"
    " attempt_time, get_data, post_data, failures_since_start)"
    " VALUES ('x', '127.0.0.1', '', '', '/', now(), '', '', 1)",
    "DELETE FROM axes_accessattempt",
]
REFUSED = [
    "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,"
    " is_staff, is_active, date_joined) VALUES ('x', true, 'intruder', '', '', '', true, true,"
    " now())",
    "UPDATE auth_user SET is_superuser = true",
    "UPDATE auth_user SET password = 'pbkdf2_sha256$1$salt$known'",
    "UPDATE auth_user SET is_active = true",
    "DELETE FROM auth_user",
    "INSERT INTO auth_user_groups (user_id, group_id) VALUES (1, 1)",
    "INSERT INTO auth_user_user_permissions (user_id, permission_id) VALUES (1, 1)",
    "INSERT INTO auth_group (name) VALUES ('intruders')",
    "INSERT INTO auth_permission (name, content_type_id, codename) VALUES ('x', 1, 'x')",
]


def as_serving_role(statement: str) -> None:
    with psycopg.connect(test_database_url(), autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture
def operator() -> User:
    return User.objects.create_superuser("operator", password="correct-horse-battery-42")


@pytest.mark.parametrize("statement", ALLOWED)
def test_the_serving_role_may_do_what_a_login_does(operator, statement):
    as_serving_role(statement)


@pytest.mark.parametrize("statement", REFUSED)
def test_the_serving_role_may_not_create_or_change_a_user(operator, statement):
    with pytest.raises(errors.InsufficientPrivilege):
        as_serving_role(statement)


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": test_database_url(), **environment}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.processes
def test_createsuperuser_runs_as_the_owner():
    created = manage(
        "createsuperuser", "--noinput", "--username", "second-operator", "--email", "",
        DATABASE_OWNER_URL=test_database_url(owner=True),
        DJANGO_SUPERUSER_PASSWORD="correct-horse-battery-42",
    )  # fmt: skip

    assert created.returncode == 0, created.stderr
    assert User.objects.filter(username="second-operator", is_superuser=True).exists()


def test_db_roles_sql_never_demotes_the_role_it_connects_as(settings, capsys):
    """The default DATABASE_URL logs in as "postgres", a superuser: the SQL must not recreate
    it NOSUPERUSER, but name a serving role of its own."""
    settings.DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/payments"
    settings.DATABASE_OWNER_URL = ""

    call_command("db_roles_sql")
    out = capsys.readouterr().out

    assert 'ROLE "postgres"' not in out
    assert 'CREATE ROLE "payments_app" LOGIN' in out
    assert "DATABASE_URL logs in as postgres" in out
