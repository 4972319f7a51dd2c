"""The suite's fixtures, one definition for core/, payments/ and loadtest/ tests alike, so that
the session's shared servers start once (each holds database connections)."""

pytest_plugins = ["payments.tests.fixtures"]
