"""schemathesis: requests generated from the service's own OpenAPI schema, schema-valid and
schema-violating, sent to a real uvicorn. No answer may be a 5xx, and every answer must be one
the schema documents, with the documented content type and body shape.

Driven through schemathesis's strategies with hypothesis directly: its pytest plugin does not
run under pytest 9 yet.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = [
    "POST /api/webhook/bank/",
    "GET /api/organizations/{inn}/balance/",
    "GET /api/operations/{operation_id}/",
]


@pytest.fixture(scope="session")
def api_schema(live_server_url):
    return schemathesis.openapi.from_url(f"{live_server_url}/api/schema/?format=json")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", OPERATIONS)
def test_generated_requests_get_documented_answers_and_never_a_5xx(
    api_schema, live_server_url, label, mode
):
    operations = {op.ok().label: op.ok() for op in api_schema.get_all_operations()}
    assert set(OPERATIONS) <= set(operations), "an endpoint went missing from the schema"

    @given(case=operations[label].as_strategy(generation_mode=mode))
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case):
        case.call_and_validate(base_url=live_server_url, checks=CHECKS)

    check()
