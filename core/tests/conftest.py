"""The shared test fixtures (payments/tests/conftest.py): the database, real servers, payloads."""

from payments.tests.conftest import *  # noqa: F403
