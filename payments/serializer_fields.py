"""Serializer fields that accept exactly the JSON types the bank contract names.

DRF's stock fields are lenient: IntegerField takes "145000" and 145000.0, CharField takes
numbers, UUIDField takes integers, DateTimeField takes naive datetimes. For money and identity
that leniency hides sender bugs, so these fields check the JSON type first.
"""

from django.core.validators import RegexValidator
from rest_framework import serializers

# An INN is 10 (organization) or 12 (individual) ASCII digits; the checksum is not enforced.
INN_PATTERN = "[0-9]{10}(?:[0-9]{2})?"
PAYER_INN_REGEX = rf"^{INN_PATTERN}\Z"
# Some character that is not whitespace, and no NUL (DRF refuses it; PostgreSQL cannot store it).
# A validator, so that the OpenAPI schema states it as the field's `pattern` (drf-spectacular).
NON_BLANK_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Must be a JSON integer."}

    def to_internal_value(self, data):
        # bool is a subclass of int in Python; JSON true/false are not amounts.
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class _StrictStringMixin:
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        try:
            # JSON may carry lone surrogates ("\ud800"), which PostgreSQL cannot store.
            data.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictCharField(_StrictStringMixin, serializers.CharField):
    default_error_messages = {"not_a_string": "Must be a valid JSON string."}


class ExactCharField(StrictCharField):
    """A string kept exactly as sent: never trimmed, so what is stored and compared is what the
    sender wrote. Empty or only whitespace is still refused as blank."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_length", 1)  # for the schema: "" is refused as blank first
        super().__init__(trim_whitespace=False, **kwargs)
        self.validators.append(
            RegexValidator(NON_BLANK_PATTERN, message=self.error_messages["blank"], code="blank")
        )


class StrictRegexField(_StrictStringMixin, serializers.RegexField):
    default_error_messages = {"not_a_string": "Must be a valid JSON string."}


class StrictUUIDField(_StrictStringMixin, serializers.UUIDField):
    default_error_messages = {"not_a_string": "Must be a UUID string."}


class AwareDateTimeField(_StrictStringMixin, serializers.DateTimeField):
    default_error_messages = {
        "not_a_string": "Must be an ISO 8601 date-time string.",
        "naive": "Must include a timezone (for example 2024-04-27T21:00:00Z).",
    }

    def enforce_timezone(self, value):
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail("naive")
        return super().enforce_timezone(value)
