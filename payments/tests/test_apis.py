"""The HTTP contract: status codes, exact bodies, and that a refused request writes nothing."""

import json

import pytest
from django.db import connection
from django.test import Client

from payments.models import BalanceLog, Organization, Payment
from testsupport.api import WEBHOOK
from testsupport.deliveries import EXAMPLE, credit_jobs_run, payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client()


def post(client: Client, body, *, raw: bool = False, content_type: str = "application/json"):
    data = body if raw else json.dumps(body)
    return client.post(WEBHOOK, data=data, content_type=content_type)


def assert_nothing_written() -> None:
    assert Payment.objects.count() == 0
    assert BalanceLog.objects.count() == 0
    assert Organization.objects.count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs")
        assert cursor.fetchone()[0] == 0


NEW_STATUS = {"sync": "credited", "background": "accepted"}


def test_example_payload_is_credited_and_balance_is_served(client, mode):
    response = post(client, EXAMPLE)
    credit_jobs_run()

    assert response.status_code == 200
    assert response.json() == {"operation_id": EXAMPLE["operation_id"], "status": NEW_STATUS[mode]}
    balance = client.get("/api/organizations/1234567890/balance/")
    assert balance.status_code == 200
    assert balance.json() == {"inn": "1234567890", "balance": 145000}


@pytest.mark.parametrize("settle_first", [True, False], ids=["after-credit", "while-pending"])
def test_repeat_delivery_answers_duplicate_and_credits_nothing(client, mode, settle_first):
    post(client, EXAMPLE)
    if settle_first:
        credit_jobs_run()
    response = post(client, EXAMPLE)
    credit_jobs_run()

    assert response.status_code == 200
    assert response.json() == {"operation_id": EXAMPLE["operation_id"], "status": "duplicate"}
    assert Organization.objects.get(inn="1234567890").balance == 145000
    assert BalanceLog.objects.count() == 1


def test_repeat_with_equivalent_timezone_spelling_is_a_duplicate(client, mode):
    post(client, EXAMPLE)
    response = post(client, {**EXAMPLE, "document_date": "2024-04-28T00:00:00+03:00"})

    assert response.json()["status"] == "duplicate"


def test_repeat_with_uppercase_operation_id_is_a_duplicate(client, mode):
    post(client, EXAMPLE)
    response = post(client, {**EXAMPLE, "operation_id": EXAMPLE["operation_id"].upper()})

    assert response.json()["status"] == "duplicate"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 145001),
        ("payer_inn", "0987654321"),
        ("document_number", "PAY-329"),
        ("document_date", "2024-04-27T21:00:01Z"),
    ],
)
@pytest.mark.parametrize("settle_first", [True, False], ids=["after-credit", "while-pending"])
def test_repeat_with_different_content_is_409_and_changes_nothing(
    client, mode, settle_first, field, value
):
    post(client, EXAMPLE)
    if settle_first:
        credit_jobs_run()
    response = post(client, {**EXAMPLE, field: value})
    credit_jobs_run()

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "operation_conflict"
    assert error["differing_fields"] == [field]
    assert Payment.objects.count() == 1
    assert Organization.objects.get(inn="1234567890").balance == 145000
    assert not Organization.objects.filter(inn="0987654321").exists()


def test_unknown_extra_fields_are_ignored(client, mode):
    response = post(client, payload(comment="ignored", currency="RUB"))

    assert response.status_code == 200


def test_twelve_digit_inn_is_accepted(client, mode):
    response = post(client, payload(payer_inn="123456789012"))
    credit_jobs_run()

    assert response.status_code == 200
    assert Organization.objects.get(inn="123456789012").balance == 145000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("operation_id", "not-a-uuid"),
        ("operation_id", 12345),
        ("operation_id", None),
        ("operation_id", ""),
        ("amount", 0),
        ("amount", -1),
        ("amount", 10**15 + 1),
        ("amount", 1.5),
        ("amount", 145000.0),
        ("amount", "145000"),
        ("amount", "abc"),
        ("amount", True),
        ("amount", None),
        ("amount", [1]),
        ("payer_inn", 1234567890),
        ("payer_inn", "123456789"),
        ("payer_inn", "12345678901"),
        ("payer_inn", "1234567890123"),
        ("payer_inn", "12345abcde"),
        ("payer_inn", "1234567890\n"),
        ("payer_inn", "١٢٣٤٥٦٧٨٩٠"),  # Arabic-Indic digits are not ASCII digits
        ("payer_inn", None),
        ("document_number", ""),
        ("document_number", "   "),
        ("document_number", "x" * 65),
        ("document_number", 328),
        ("document_number", "PAY\x00328"),
        ("document_number", "\ud800"),
        ("document_number", None),
        ("document_date", "2024-04-27T21:00:00"),
        ("document_date", "2024-04-27"),
        ("document_date", "yesterday"),
        ("document_date", "2024-13-01T00:00:00Z"),
        ("document_date", "0001-01-01T00:00:00+05:00"),
        ("document_date", 1714251600),
        ("document_date", None),
    ],
)
def test_invalid_field_is_400_naming_the_field_and_writes_nothing(client, mode, field, value):
    response = post(client, payload(**{field: value}))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert list(error["fields"]) == [field]
    assert_nothing_written()


def test_missing_fields_are_each_named(client, mode):
    response = post(client, {})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {
        "operation_id",
        "amount",
        "payer_inn",
        "document_number",
        "document_date",
    }
    assert_nothing_written()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"amount": NaN}',
        b'{"amount": Infinity}',
        b"\xff\xfe{}",
        b'{"operation_id": "\xff"}',
        b"[1, 2]",
        b'"a string"',
        b"null",
        b"123",
    ],
)
def test_malformed_body_is_400_json_and_writes_nothing(client, mode, body):
    response = post(client, body, raw=True)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] in {"malformed_json", "invalid_request"}
    assert_nothing_written()


def test_non_json_content_type_is_415(client):
    response = post(client, "operation_id=1", raw=True, content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert_nothing_written()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_405(client, method):
    response = getattr(client, method)(WEBHOOK)

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/organizations/5555555555/balance/", "organization_not_found"),
        (f"/api/operations/{EXAMPLE['operation_id']}/", "operation_not_found"),
        ("/api/operations/not-a-uuid/", "not_found"),
    ],
    ids=["unknown-inn", "unknown-operation", "malformed-operation-id"],
)
def test_read_of_what_does_not_exist_is_json_404_with_its_code(client, path, code):
    response = client.get(path)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("inn", ["abc", "1" * 40, "%00"])
def test_balance_of_malformed_inn_is_404(client, inn):
    response = client.get(f"/api/organizations/{inn}/balance/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_unknown_path_is_json_404(client):
    response = client.post("/api/webhook/bank", data="{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_balance_overflow_is_422_and_records_nothing(client, ledger_unguarded):
    Organization.objects.create(inn="1234567890", balance=2**63 - 100)
    response = post(client, payload(amount=1000))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "balance_overflow"
    assert Payment.objects.count() == 0
    assert BalanceLog.objects.count() == 0
    assert Organization.objects.get(inn="1234567890").balance == 2**63 - 100


def test_operation_status_follows_the_payment(client, mode):
    post(client, EXAMPLE)
    before = client.get(f"/api/operations/{EXAMPLE['operation_id']}/").json()
    credit_jobs_run()
    after = client.get(f"/api/operations/{EXAMPLE['operation_id']}/").json()

    expected_before = "pending" if mode == "background" else "credited"
    assert before["status"] == expected_before
    assert (before["credited_at"] is None) == (mode == "background")
    assert after["status"] == "credited"
    assert after["credited_at"] is not None
    assert {k: after[k] for k in ("operation_id", "amount", "payer_inn")} == {
        "operation_id": EXAMPLE["operation_id"],
        "amount": 145000,
        "payer_inn": "1234567890",
    }
    assert set(after) == {
        "operation_id", "status", "amount", "payer_inn", "created_at", "credited_at"
    }  # fmt: skip


def test_the_answer_is_the_output_serializers_representation(client, mode):
    """The view writes the answer out by hand; the schema documents OutputSerializer's."""
    from uuid import UUID

    from payments.apis import PaymentWebhookApi

    response = post(client, {**EXAMPLE, "operation_id": EXAMPLE["operation_id"].upper()})

    expected = PaymentWebhookApi.OutputSerializer(
        {"operation_id": UUID(EXAMPLE["operation_id"]), "status": NEW_STATUS[mode]}
    ).data
    assert response.json() == expected
