"""The suite's fixtures, one definition for every test folder, so that the session's shared
servers start once (each holds database connections)."""

pytest_plugins = ["testsupport.fixtures"]
