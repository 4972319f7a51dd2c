"""The service's API paths, as its clients (the tests, the load tester) call them."""

WEBHOOK = "/api/webhook/bank/"
BALANCE = "/api/organizations/{inn}/balance/"
OPERATION = "/api/operations/{operation_id}/"
