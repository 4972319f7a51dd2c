"""The OpenAPI schema: valid, complete, and true to what the running service answers."""

import json
from pathlib import Path

import httpx
import jsonschema
import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

from testsupport.api import BALANCE, OPERATION, WEBHOOK
from testsupport.deliveries import EXAMPLE, payload, signing_snippet_run
from testsupport.servers import PRODUCTION_SECRET


@pytest.fixture(scope="module")
def schema() -> dict:
    return Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def response_schema(schema: dict, path: str, method: str, status: int) -> dict:
    """The documented JSON schema of one response, with the components its $refs point into."""
    responses = schema["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} returns {status}, undocumented"
    body = responses[str(status)]["content"]["application/json"]["schema"]
    return {**body, "components": schema["components"]}


def assert_matches(schema: dict, path: str, method: str, response: httpx.Response) -> None:
    jsonschema.validate(
        response.json(),
        response_schema(schema, path, method, response.status_code),
        format_checker=jsonschema.FormatChecker(),
    )


def test_schema_is_valid_openapi_with_no_generator_warnings(tmp_path):
    # --validate checks the document against the OpenAPI 3 JSON Schema; --fail-on-warn turns any
    # view or field spectacular could not introspect into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")


def test_schema_documents_every_status_each_endpoint_returns(schema):
    webhook = schema["paths"][WEBHOOK]["post"]["responses"]
    balance = schema["paths"][BALANCE]["get"]["responses"]

    assert sorted(webhook) == ["200", "400", "401", "405", "409", "413", "415", "422", "503"]
    assert sorted(balance) == ["200", "401", "404", "405", "503"]
    for status, response in [*webhook.items(), *balance.items()]:
        if status != "200":
            assert response["content"]["application/json"]["examples"], status


def test_request_schema_is_introspected_from_the_input_serializer(schema):
    body = schema["paths"][WEBHOOK]["post"]["requestBody"]["content"]["application/json"]
    request_schema = {**body["schema"], "components": schema["components"]}

    assert [example["value"] for example in body["examples"].values()] == [EXAMPLE]
    jsonschema.validate(EXAMPLE, request_schema, format_checker=jsonschema.FormatChecker())
    delivery = schema["components"]["schemas"]["PaymentDelivery"]
    assert sorted(delivery["required"]) == sorted(EXAMPLE)
    assert delivery["properties"]["amount"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10**15,
        "format": "int64",
    }


def test_error_examples_match_the_shared_error_schema(schema):
    for path, method in [(WEBHOOK, "post"), (BALANCE, "get")]:
        for status, response in schema["paths"][path][method]["responses"].items():
            content = response["content"]["application/json"]
            for example in content["examples"].values():
                jsonschema.validate(
                    example["value"], {**content["schema"], "components": schema["components"]}
                )
                if status != "200":
                    assert set(example["value"]) == {"error"}, status


@pytest.mark.django_db(transaction=True)
async def test_real_responses_of_the_running_service_match_the_schema(schema, live_server_url):
    conflicting = {**EXAMPLE, "amount": EXAMPLE["amount"] + 1}
    async with httpx.AsyncClient(base_url=live_server_url) as client:
        webhook = [
            await client.post(WEBHOOK, json=EXAMPLE),
            await client.post(WEBHOOK, json=EXAMPLE),
            await client.post(WEBHOOK, json=payload(amount="145000")),
            await client.post(WEBHOOK, content=b"{", headers={"content-type": "application/json"}),
            await client.post(WEBHOOK, json=conflicting),
            await client.post(
                WEBHOOK, content=json.dumps(EXAMPLE), headers={"content-type": "text/plain"}
            ),
            await client.post(
                WEBHOOK,
                content=b" " * (64 * 1024 + 1),
                headers={"content-type": "application/json"},
            ),
            await client.get(WEBHOOK),
        ]
        balance = [
            await client.get(BALANCE.format(inn=EXAMPLE["payer_inn"])),
            await client.get(BALANCE.format(inn="0000000000")),
            await client.post(BALANCE.format(inn=EXAMPLE["payer_inn"])),
        ]

    assert [r.status_code for r in webhook] == [200, 200, 400, 400, 409, 415, 413, 405]
    assert [r.status_code for r in balance] == [200, 404, 405]
    for response in webhook:
        assert_matches(schema, WEBHOOK, "post", response)
    for response in balance:
        assert_matches(schema, BALANCE, "get", response)


def test_docs_page_serves_swagger_ui_from_this_server_not_a_cdn():
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "//cdn" not in html
    assert "https://" not in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")


# --- What an integrator reads in the docs --------------------------------------------------------

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_endpoint_has_a_description_written_for_integrators(schema):
    for label, operation in operations(schema):
        description = operation.get("description", "")
        assert len(description) > 100, label
        for internal in ("thread", "hop", "adrf", "initial()"):
            assert internal not in description, (label, internal)


def test_read_endpoints_declare_the_bearer_token_scheme(schema):
    """What makes Swagger UI's Authorize button appear."""
    assert schema["components"]["securitySchemes"]["readToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "One of API_TOKENS, sent as `Authorization: Bearer <token>`.",
    }
    for path in (BALANCE, OPERATION):
        assert schema["paths"][path]["get"]["security"] == [{"readToken": []}]
    assert "security" not in schema["paths"][WEBHOOK]["post"]


def test_webhook_declares_the_standard_webhooks_headers(schema):
    parameters = schema["paths"][WEBHOOK]["post"]["parameters"]

    assert sorted((p["name"], p["in"]) for p in parameters) == [
        ("webhook-id", "header"),
        ("webhook-signature", "header"),
        ("webhook-timestamp", "header"),
    ]


def test_schema_url_opened_in_a_browser_shows_json_instead_of_downloading():
    response = Client().get("/api/schema/", HTTP_ACCEPT=BROWSER_ACCEPT)
    yaml = Client().get("/api/schema/?format=yaml")

    assert response["Content-Type"] == "application/json"
    assert response.json()["openapi"].startswith("3.")
    assert yaml["Content-Type"].startswith("application/vnd.oai.openapi")


@pytest.mark.django_db(transaction=True)
def test_the_documented_signing_snippet_signs_a_delivery_production_accepts(
    schema, production_server_url
):
    """The Python in the webhook's description, run as printed (with the real secret), makes a
    delivery that a production server (signatures required) credits."""
    description = schema["paths"][WEBHOOK]["post"]["description"]
    snippet = description.split("```python\n")[1].split("```")[0]
    body, headers = signing_snippet_run(snippet, secret=PRODUCTION_SECRET)

    response = httpx.post(
        f"{production_server_url}{WEBHOOK}",
        content=body.encode(),
        headers={**headers, "content-type": "application/json"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "credited"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", "javascript"),
        ("/static/admin/css/base.css", "text/css"),
    ],
)
def test_static_files_of_swagger_ui_and_admin_are_served_by_the_app_server(
    live_server_url, path, content_type
):
    """ServeStatic's async middleware serves them from the uvicorn process itself (no CDN, no
    separate web server); what the docs page and the admin load must answer 200 with its file."""
    response = httpx.get(f"{live_server_url}{path}")

    assert response.status_code == 200
    assert content_type in response.headers["content-type"]
    assert Path(finders.find(path.removeprefix("/static/"))).read_bytes() == response.content
