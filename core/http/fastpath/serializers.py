"""A flat serializer's validation when every field accepts its value, on its class's prototype
fields (core.http.serializers), without building, copying and binding them for the instance.

Mirrors, for the case without errors, DRF 3.18's Serializer.run_validation and
Serializer.to_internal_value (guarded by a drift test): each field's own run_validation (its
parsing, its validators) on the value the field would read, the results in a dict by field
name, then the serializer's validators and validate(). Whenever a value is missing or a field
refuses one, nothing is returned and DRF's own path runs, so every error and its body are
DRF's. A serializer with validate_<field> methods, its own validate(), validators or a field
with another source never takes this path. Unnecessary once DRF stops deep-copying a
serializer's fields for every instance.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField, empty

UPSTREAM = {
    "rest_framework.serializers.Serializer.run_validation": "DRF 3.18.3",
    "rest_framework.serializers.Serializer.to_internal_value": "DRF 3.18.3",
}

Plan = tuple[tuple[str, serializers.Field], ...]


def fields_accepted(serializer: serializers.Serializer, prototypes: dict, data) -> dict | None:
    """serializer.run_validation(data)'s result if each of prototypes (name -> field) accepts
    data's value; None when one does not, or when the serializer's class customizes validation."""
    if type(data) is not dict:  # a Mapping that is not a plain dict (a QueryDict): DRF's path
        return None
    plan = _plan(type(serializer), prototypes)
    if plan is None or serializer.validators:
        return None
    validated = {}
    try:
        for name, field in plan:
            value = data.get(name, empty)  # Field.get_value, for a dict
            if value is empty:  # required, or a default: DRF's path decides
                return None
            validated[name] = field.run_validation(value)
    except (ValidationError, DjangoValidationError, SkipField):
        return None
    return validated


def _plan(cls: type, prototypes: dict) -> Plan | None:
    plan = cls.__dict__.get("_accept_plan", empty)
    if plan is empty:
        plan = _plan_build(cls, prototypes)
        cls._accept_plan = plan  # on this class only, never a subclass
    return plan


def _plan_build(cls: type, prototypes: dict) -> Plan | None:
    customized = (
        cls.validate is not serializers.Serializer.validate
        or cls.run_validators is not serializers.Serializer.run_validators
        or any(hasattr(cls, f"validate_{name}") for name in prototypes)
        or any(
            field.read_only or field.source not in (None, name)
            for name, field in prototypes.items()
        )
    )
    return None if customized else tuple(prototypes.items())
