"""document_number is stored and compared exactly as the bank sent it (docs/architecture.md,
"Document numbers"); an empty or all-blank one is refused."""

import json

import pytest
from django.test import Client

from payments.models import Payment
from testsupport.api import WEBHOOK
from testsupport.deliveries import payload

pytestmark = pytest.mark.django_db


def post(body: dict):
    return Client().post(WEBHOOK, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("number", [" PAY-1", "PAY-1 ", "\tPAY-1\n", "PAY  1"])
def test_document_number_is_stored_exactly_as_sent(mode, number):
    delivery = payload(document_number=number)

    response = post(delivery)

    assert response.status_code == 200
    assert Payment.objects.get(operation_id=delivery["operation_id"]).document_number == number


def test_document_number_differing_only_in_whitespace_is_a_conflict(mode):
    delivery = payload(document_number="PAY-1")
    post(delivery)

    response = post({**delivery, "document_number": " PAY-1"})

    assert response.status_code == 409
    assert response.json()["error"]["differing_fields"] == ["document_number"]


@pytest.mark.parametrize("number", ["", " ", "\t\n", "\u00a0\u2003"])
def test_empty_or_blank_document_number_is_400_naming_the_field(mode, number):
    response = post(payload(document_number=number))

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "document_number": ["This field may not be blank."]
    }
    assert Payment.objects.count() == 0


def test_document_number_of_64_characters_with_spaces_is_kept_whole(mode):
    number = " " + "x" * 62 + " "
    delivery = payload(document_number=number)

    assert post(delivery).status_code == 200
    assert post({**delivery, "document_number": number + " "}).status_code == 400
    assert Payment.objects.get().document_number == number
