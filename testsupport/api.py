"""The service's API paths, as its clients (the tests, the load tester) call them."""

WEBHOOK = "/api/webhook/bank/"
BALANCE = "/api/organizations/{inn}/balance/"
OPERATION = "/api/operations/{operation_id}/"
STATEMENTS = "/api/statements/"
STATEMENT = "/api/statements/{statement_id}/"

# httpx's default keepalive_expiry: how long the client reuses an idle connection.
CLIENT_IDLE_REUSE_SECONDS = 5.0
