"""A DRF Serializer that builds its fields once per class instead of once per request."""

import copy

from rest_framework import serializers


class PrototypeFieldsSerializer(serializers.Serializer):
    """A flat Serializer whose fields are built once per class, then shallow-copied for each
    instance (and bound to it, as DRF binds its own copies).

    DRF's get_fields() deep-copies the declared fields for every instance, which runs each
    field's __init__ again (its validators, its error messages): on the webhook, about 4% of
    a delivery. A field holds no per-instance state until bind(), which sets attributes on
    the copy; validation only reads the shared parts (validators, messages). A nested
    serializer does hold state, so one as a field is refused.
    """

    def get_fields(self):
        cls = type(self)
        prototypes = cls.__dict__.get("_field_prototypes")
        if prototypes is None:
            prototypes = super().get_fields()
            nested = [name for name, field in prototypes.items() if _is_serializer(field)]
            if nested:
                raise TypeError(f"{cls.__qualname__}: nested serializers {nested} hold state")
            cls._field_prototypes = prototypes  # on this class only, never a subclass
        return {name: copy.copy(field) for name, field in prototypes.items()}


def _is_serializer(field) -> bool:
    return isinstance(field, serializers.BaseSerializer)
