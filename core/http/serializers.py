"""A DRF Serializer that builds its fields once per class instead of once per request."""

import copy

from rest_framework import serializers
from rest_framework.fields import empty

from core.http.fastpath.serializers import fields_accepted


class PrototypeFieldsSerializer(serializers.Serializer):
    """A flat Serializer whose fields are built once per class, then shallow-copied for each
    instance (and bound to it, as DRF binds its own copies).

    DRF's get_fields() deep-copies the declared fields for every instance, which runs each
    field's __init__ again (its validators, its error messages): on the webhook, about 4% of
    a delivery. A field holds no per-instance state until bind(), which sets attributes on
    the copy; validation only reads the shared parts (validators, messages). A nested
    serializer does hold state, so one as a field is refused.

    Data every field accepts is validated on the prototypes themselves, with no copies at all
    (core.http.fastpath.serializers): on the webhook, that halves what the serializer costs.
    """

    def run_validation(self, data=empty):
        # Valid data is validated on the prototypes themselves, without building this
        # instance's fields; anything else takes DRF's path, which says why.
        accepted = fields_accepted(self, self._prototypes(), data)
        return super().run_validation(data) if accepted is None else accepted

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._prototypes().items()}

    @classmethod
    def prototype(cls, name: str) -> serializers.Field:
        """The class's own field `name`, which its instances share: validate with it (its
        run_validation reads only its own rules), never bind it."""
        return cls()._prototypes()[name]

    def _prototypes(self) -> dict:
        cls = type(self)
        prototypes = cls.__dict__.get("_field_prototypes")
        if prototypes is None:
            prototypes = super().get_fields()
            nested = [name for name, field in prototypes.items() if _is_serializer(field)]
            if nested:
                raise TypeError(f"{cls.__qualname__}: nested serializers {nested} hold state")
            cls._field_prototypes = prototypes  # on this class only, never a subclass
        return prototypes


def _is_serializer(field) -> bool:
    return isinstance(field, serializers.BaseSerializer)
