"""PrototypeFieldsSerializer: fields built once per class behave as DRF's per-instance ones."""

import pytest
from rest_framework import serializers

from core.http.serializers import PrototypeFieldsSerializer


class Amount(PrototypeFieldsSerializer):
    amount = serializers.IntegerField(min_value=1, max_value=10)
    code = serializers.RegexField(r"^[a-z]+\Z", error_messages={"invalid": "Letters only."})


def _errors(data) -> dict:
    serializer = Amount(data=data)
    serializer.is_valid()
    return serializer.errors


def test_each_instance_validates_its_own_data_with_the_declared_rules():
    first, second = Amount(data={"amount": 3, "code": "ab"}), Amount(data={"amount": 11})

    assert first.is_valid()
    assert not second.is_valid()
    assert first.validated_data == {"amount": 3, "code": "ab"}
    assert second.errors == {
        "amount": ["Ensure this value is less than or equal to 10."],
        "code": ["This field is required."],
    }
    assert first.fields["amount"] is not second.fields["amount"]
    assert first.fields["amount"].parent is first
    assert second.fields["amount"].parent is second


def test_errors_are_drfs_own():
    class Stock(serializers.Serializer):
        amount = serializers.IntegerField(min_value=1, max_value=10)
        code = serializers.RegexField(r"^[a-z]+\Z", error_messages={"invalid": "Letters only."})

    for data in ({"amount": 0, "code": "1"}, {"amount": "x"}, {}, {"amount": 5, "code": "ok"}):
        stock = Stock(data=data)
        stock.is_valid()
        assert _errors(data) == stock.errors


def test_a_nested_serializer_is_refused():
    class Nested(PrototypeFieldsSerializer):
        inner = Amount()

    with pytest.raises(TypeError, match="inner"):
        Nested(data={}).is_valid()
