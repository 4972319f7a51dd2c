"""schemathesis: requests generated from the service's own OpenAPI schema, schema-valid and
schema-violating, sent to a real uvicorn in development and in production configuration, with
every check schemathesis has: no 5xx, every schema-valid request accepted, every invalid one
refused, every answer (status, content type, headers, body) one the schema documents, and a
read without its token refused. Methods the schema does not list get 405 with an Allow header.

Driven through schemathesis's strategies with hypothesis directly: its pytest plugin does not
run under pytest 9 yet.
"""

import time
import uuid

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation import GenerationMode

from payments.webhook_signing import webhook_sign_headers
from testsupport.servers import PRODUCTION_ENV, PRODUCTION_SECRET

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

OPERATIONS = [
    "POST /api/webhook/bank/",
    "GET /api/organizations/{inn}/balance/",
    "GET /api/operations/{operation_id}/",
]
HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE"]
# Per operation, mode and configuration: 12 runs in about a minute on 2 busy CPUs.
MAX_EXAMPLES = 25


def all_checks() -> list:
    load_all_checks()
    return CHECKS.get_all()


class _Signed(requests.auth.AuthBase):
    """Sign every request body as the bank does (Standard Webhooks), over the exact bytes."""

    def __call__(self, request):
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        request.headers.update(
            webhook_sign_headers(
                secret=PRODUCTION_SECRET,
                body=body,
                msg_id=f"msg_{uuid.uuid4().hex}",
                timestamp=int(time.time()),
            )
        )
        return request


@pytest.fixture(params=["development", "production"])
def server(request) -> tuple[str, dict]:
    """The base URL of a real uvicorn and how a legitimate client calls it (transport kwargs)."""
    if request.param == "development":
        return request.getfixturevalue("live_server_url"), {}
    url = request.getfixturevalue("production_server_url")
    return url, {
        "headers": {"Authorization": f"Bearer {PRODUCTION_ENV['API_TOKENS']}"},
        "auth": _Signed(),
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", OPERATIONS)
def test_generated_requests_get_documented_answers_and_never_a_5xx(server, label, mode):
    url, client = server
    api_schema = schemathesis.openapi.from_url(f"{url}/api/schema/?format=json")
    operations = {op.ok().label: op.ok() for op in api_schema.get_all_operations()}
    assert set(OPERATIONS) <= set(operations), "an endpoint went missing from the schema"
    checks = all_checks()

    @given(case=operations[label].as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case):
        case.call_and_validate(base_url=url, checks=checks, **client)

    check()


def test_methods_the_schema_does_not_list_are_405_with_allow(server):
    url, client = server
    schema = httpx.get(f"{url}/api/schema/?format=json", timeout=10).json()
    concrete = {
        "{inn}": "1234567890",
        "{operation_id}": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "{statement_id}": "1",
    }
    unfilled = [t for t in schema["paths"] if "{" in t and not any(n in t for n in concrete)]
    assert not unfilled, f"path parameters this test does not fill: {unfilled}"
    for template, item in schema["paths"].items():
        path = template
        for name, value in concrete.items():
            path = path.replace(name, value)
        listed = {method.upper() for method in item if method.upper() in HTTP_METHODS}
        if "GET" in listed:
            listed.add("HEAD")
        for method in sorted(set(HTTP_METHODS) - listed):
            response = httpx.request(
                method, f"{url}{path}", headers=client.get("headers"), timeout=10
            )
            assert response.status_code == 405, (method, path, response.status_code)
            assert response.headers["Allow"], (method, path)
