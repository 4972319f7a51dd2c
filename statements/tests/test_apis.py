"""POST /api/statements/ and GET /api/statements/<id>/ through a real uvicorn, on real files."""

import json

import httpx
import pytest

from payments.models import Payment
from statements.models import Statement
from statements.tests.files import FILES, FORMATS, INN, camt, incoming, one_c
from testsupport.api import OPERATION, STATEMENT, STATEMENTS, WEBHOOK
from testsupport.database import count_rows
from testsupport.deliveries import payload, signed_json
from testsupport.servers import PRODUCTION_ENV, PRODUCTION_SECRET, uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

CONTENT_TYPES = {
    "1c-windows": "text/plain",
    "1c-dos": "text/plain",
    "camt053.001.02": "application/xml",
    "camt053.001.08": "text/xml",
}
# The identity the generated lines carry: a webhook with it is the same payment.
IDENTITY = {"payer_inn": INN, "document_number": "PAY-328", "amount": 145000}
IMPORT_TOKEN = PRODUCTION_ENV["STATEMENT_IMPORT_TOKENS"]
READ_TOKEN = PRODUCTION_ENV["API_TOKENS"]


def post(client: httpx.Client, body: bytes, content_type: str, **headers) -> httpx.Response:
    return client.post(STATEMENTS, content=body, headers={"content-type": content_type, **headers})


@pytest.fixture
def client(live_server_url):
    with httpx.Client(base_url=live_server_url, timeout=60) as client:
        yield client


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_missed_webhook_is_credited_201_then_the_same_file_is_200_already_imported(client, fmt):
    body = FORMATS[fmt](incoming())

    first = post(client, body, CONTENT_TYPES[fmt])
    again = post(client, body, CONTENT_TYPES[fmt])

    assert first.status_code == 201
    report = first.json()
    assert [c["amount"] for c in report["credited"]] == [145000]
    assert report["already_imported"] is False
    assert again.status_code == 200
    assert again.json() == {**report, "already_imported": True}
    balance = client.get(f"/api/organizations/{INN}/balance/").json()["balance"]
    assert balance == 145000


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_late_webhook_after_the_import_is_a_duplicate_and_found_by_its_operation_id(client, fmt):
    post(client, FORMATS[fmt](incoming()), CONTENT_TYPES[fmt])
    late = payload(**IDENTITY)

    delivered = client.post(WEBHOOK, json=late)
    found = client.get(OPERATION.format(operation_id=late["operation_id"]))

    assert (delivered.status_code, delivered.json()["status"]) == (200, "duplicate")
    assert found.status_code == 200
    assert (found.json()["status"], found.json()["amount"]) == ("credited", 145000)
    assert client.get(f"/api/organizations/{INN}/balance/").json()["balance"] == 145000


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_line_the_webhook_credited_is_matched(client, fmt):
    client.post(WEBHOOK, json=payload(**IDENTITY))

    response = post(client, FORMATS[fmt](incoming()), CONTENT_TYPES[fmt])

    assert response.status_code == 201
    assert (len(response.json()["matched"]), response.json()["credited"]) == (1, [])
    assert client.get(f"/api/organizations/{INN}/balance/").json()["balance"] == 145000


def test_an_overlapping_statement_credits_only_what_the_first_did_not(client):
    post(client, one_c(incoming()), "text/plain")

    month = post(client, one_c(incoming(), incoming(900, "PAY-329")), "text/plain")

    assert month.status_code == 201
    assert (len(month.json()["matched"]), len(month.json()["credited"])) == (1, 1)
    assert client.get(f"/api/organizations/{INN}/balance/").json()["balance"] == 145900


@pytest.mark.parametrize("version", ["02", "08"])
def test_a_conflict_is_reported_and_not_credited(client, version):
    recorded = payload(**IDENTITY)
    client.post(WEBHOOK, json=recorded)

    response = post(
        client,
        camt(incoming(999, operation_id=recorded["operation_id"]), version=version),
        "application/xml",
    )

    assert response.status_code == 201
    (conflict,) = response.json()["conflicts"]
    assert (conflict["differing_fields"], conflict["line_amount"]) == (["amount"], 999)
    assert client.get(f"/api/organizations/{INN}/balance/").json()["balance"] == 145000


@pytest.mark.parametrize(
    ("name", "content_type", "where"),
    [
        ("one_c_totals_mismatch.txt", "text/plain", "line "),
        ("one_c_truncated.txt", "text/plain", "line "),
        ("camt053_totals_mismatch.xml", "application/xml", "TxsSummry"),
        ("camt053_billion_laughs.xml", "application/xml", ""),
        ("camt053_external_entity.xml", "application/xml", ""),
    ],
)
def test_a_refused_file_is_400_statement_invalid_naming_where_and_imports_nothing(
    client, name, content_type, where
):
    response = post(client, (FILES / name).read_bytes(), content_type)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "statement_invalid"
    assert where in error["where"]
    assert error["message"].startswith(error["where"])


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_totals_mismatch_of_each_format_is_400_and_credits_nothing(live_server_url, fmt):
    declared = "declared_incoming" if fmt.startswith("1c") else "declared_credits"
    body = FORMATS[fmt](incoming(), **{declared: 1})
    async with httpx.AsyncClient(base_url=live_server_url) as client:
        response = await client.post(
            STATEMENTS, content=body, headers={"content-type": CONTENT_TYPES[fmt]}
        )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "statement_invalid"
    assert (await count_rows(Statement), await count_rows(Payment)) == (0, 0)


def test_another_content_type_is_415(client):
    response = post(client, json.dumps({"x": 1}).encode(), "application/json")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_get_returns_the_report_and_404_for_an_unknown_id(client):
    created = post(client, one_c(incoming()), "text/plain").json()

    found = client.get(STATEMENT.format(statement_id=created["statement"]["id"]))
    missing = client.get(STATEMENT.format(statement_id=999999))

    assert found.status_code == 200
    assert found.json() == {**created, "already_imported": True}
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "statement_not_found"


def test_the_schema_lists_both_endpoints_with_their_content_types(client):
    schema = client.get("/api/schema/").json()

    post_op = schema["paths"]["/api/statements/"]["post"]
    assert set(post_op["requestBody"]["content"]) == {"text/plain", "application/xml", "text/xml"}
    assert {"200", "201", "400", "401", "413", "415"} <= set(post_op["responses"])
    get_op = schema["paths"]["/api/statements/{statement_id}/"]["get"]
    assert {"200", "404"} <= set(get_op["responses"])


def test_production_import_needs_an_import_token_and_a_read_token_is_refused(
    production_server_url,
):
    body = one_c(incoming())
    with httpx.Client(base_url=production_server_url, timeout=60) as client:
        anonymous = post(client, body, "text/plain")
        reader = post(client, body, "text/plain", authorization=f"Bearer {READ_TOKEN}")
        nothing_yet = client.get(
            f"/api/organizations/{INN}/balance/", headers={"authorization": f"Bearer {READ_TOKEN}"}
        )
        importer = post(client, body, "text/plain", authorization=f"Bearer {IMPORT_TOKEN}")
        statement = STATEMENT.format(statement_id=importer.json()["statement"]["id"])
        read = client.get(statement, headers={"authorization": f"Bearer {READ_TOKEN}"})
        read_anonymous = client.get(statement)

    assert (anonymous.status_code, anonymous.json()["error"]["reason"]) == (401, "missing_token")
    assert (reader.status_code, reader.json()["error"]["reason"]) == (401, "unknown_token")
    assert nothing_yet.status_code == 404
    assert importer.status_code == 201
    assert read.status_code == 200
    assert read_anonymous.status_code == 401


def test_a_late_signed_webhook_in_production_is_a_duplicate(production_server_url):
    auth = {"authorization": f"Bearer {IMPORT_TOKEN}"}
    late = payload(**IDENTITY)
    body, headers = signed_json(late, secret=PRODUCTION_SECRET)
    with httpx.Client(base_url=production_server_url, timeout=60) as client:
        post(client, one_c(incoming()), "text/plain", **auth)
        delivered = client.post(WEBHOOK, content=body, headers=headers)

    assert (delivered.status_code, delivered.json()["status"]) == (200, "duplicate")


def test_the_statement_path_has_its_own_body_limit(django_db_setup):
    """A statement over STATEMENT_MAX_BYTES is 413; one over the webhooks' 64 KiB is not."""
    lines = [incoming(100 + n, f"PAY-{n}") for n in range(400)]  # about 140 KB of 1C
    body = one_c(*lines)
    assert 64 * 1024 < len(body) < 400_000
    with (
        uvicorn_server(workers=1, STATEMENT_MAX_BYTES="400000") as url,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        accepted = post(client, body, "text/plain")
        too_large = post(client, body + b" " * 400_000, "text/plain")
        webhook_too_large = client.post(
            WEBHOOK, content=b"{" + b" " * (64 * 1024) + b"}",
            headers={"content-type": "application/json"},
        )  # fmt: skip

    assert accepted.status_code == 201
    assert len(accepted.json()["credited"]) == 400
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "payload_too_large"
    assert webhook_too_large.status_code == 413
