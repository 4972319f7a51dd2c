"""A JSON request body decoded and checked by a compiled msgspec Struct that restates a
serializer's rules, for the bodies it can judge exactly as DRF's parser and the serializer do.

Whenever it cannot, decode() returns None and the view takes DRF's own path, so every refusal
and its body are DRF's (and the service's JSON parser's: core.http.fastpath.parsers). It
returns None for:

- a Content-Type other than exactly `application/json` (DRF reads a charset parameter, and
  answers 415 for other types) or a Content-Encoding (SafeJSONParser's 415);
- a body holding a `\\u` escape: a key spelt with one would hide a repeated key from the count
  below (a string value with one goes through DRF's path, no slower than before);
- a body in which a field's key, as `"name"`, does not appear exactly once. msgspec keeps the
  last of a repeated key, where the service refuses it (SafeJSONParser). With unknown fields
  forbidden and every field a scalar there is no nested object, and without `\\u` escapes a key
  is spelt only one way, so a key that appears once is not repeated;
- anything msgspec refuses (malformed JSON, a wrong type, a value outside a constraint).

The Struct must forbid unknown fields and hold only strings, integers and UUIDs (checked when
the CompiledBody is built). A view compares what it accepts with DRF's path in a property test
(payments/tests/test_apis_validation.py for the webhook).
"""

import msgspec
from django.http import HttpRequest

_SCALARS = (msgspec.inspect.StrType, msgspec.inspect.IntType, msgspec.inspect.UUIDType)
_NO_ENCODING = ("", "identity")


class CompiledBody:
    def __init__(self, struct_type: type[msgspec.Struct]) -> None:
        info = msgspec.inspect.type_info(struct_type)
        if not info.forbid_unknown_fields:
            raise TypeError(f"{struct_type.__qualname__} must forbid unknown fields")
        nested = [field.name for field in info.fields if not isinstance(field.type, _SCALARS)]
        if nested:
            raise TypeError(f"{struct_type.__qualname__}: {nested} are not strings, ints or UUIDs")
        self._decoder = msgspec.json.Decoder(struct_type)
        self._keys = tuple(f'"{field.encode_name}"'.encode() for field in info.fields)

    def decode(self, request: HttpRequest) -> msgspec.Struct | None:
        """request's body as the Struct, or None when DRF's path must judge it."""
        meta = request.META
        if meta.get("CONTENT_TYPE") != "application/json":
            return None
        if meta.get("HTTP_CONTENT_ENCODING", "").strip().lower() not in _NO_ENCODING:
            return None
        body = request.body
        if b"\\u" in body or any(body.count(key) != 1 for key in self._keys):
            return None
        try:
            return self._decoder.decode(body)
        except msgspec.MsgspecError:
            return None
