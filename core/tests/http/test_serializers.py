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


def test_valid_data_gives_what_drfs_own_path_gives():
    for data in ({"amount": 3, "code": "ab"}, {"amount": 10, "code": "z", "extra": 1}):
        serializer = Amount(data=data)
        assert serializer.is_valid()
        drf = serializers.Serializer.run_validation(Amount(data=data), data)
        assert serializer.validated_data == drf == {"amount": data["amount"], "code": data["code"]}


def test_a_serializer_that_customizes_validation_takes_drfs_path():
    class Hooks(PrototypeFieldsSerializer):
        amount = serializers.IntegerField()

        def validate_amount(self, value):
            return value * 100

    class Whole(PrototypeFieldsSerializer):
        amount = serializers.IntegerField()

        def validate(self, attrs):
            raise serializers.ValidationError("refused as a whole")

    class Renamed(PrototypeFieldsSerializer):
        amount = serializers.IntegerField(source="cents")

    hooks, whole, renamed = (
        Hooks(data={"amount": 2}),
        Whole(data={"amount": 2}),
        Renamed(data={"amount": 2}),
    )

    assert hooks.is_valid() and hooks.validated_data == {"amount": 200}
    assert not whole.is_valid() and whole.errors == {"non_field_errors": ["refused as a whole"]}
    assert renamed.is_valid() and renamed.validated_data == {"cents": 2}
    with_validator = Amount(data={"amount": 3, "code": "ab"}, validators=[_refuse])
    assert not with_validator.is_valid()
    assert with_validator.errors == {"non_field_errors": ["no"]}


def _refuse(value):
    raise serializers.ValidationError("no")
