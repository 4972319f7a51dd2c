"""Fixtures of the tests that run the project's own commands."""

import uuid

import psycopg
import pytest

from tests.processes import suite_database_url


@pytest.fixture
def scratch_database_url():
    """An empty database of its own, so that a `make run` that got as far as migrating and
    seeding would do so there."""
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(suite_database_url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield suite_database_url(dbname=name)
    with psycopg.connect(suite_database_url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
