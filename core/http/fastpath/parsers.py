import codecs
import json

from rest_framework.exceptions import ParseError, UnsupportedMediaType, ValidationError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils.json import strict_constant

# The upstream code SafeJSONParser.parse copies (core/tests/http/test_fastpath.py checks that it
# is unchanged): json.load is called there without an object_pairs_hook, which cannot be passed in.
UPSTREAM = {"rest_framework.parsers.JSONParser.parse": "djangorestframework 3.16"}

REPEATED_KEY_MESSAGE = "This key appears more than once in one object; send it once."


class SafeJSONParser(JSONParser):
    """DRF's strict JSON parser (no NaN/Infinity), and also:

    - a key repeated in one object, at any depth, is a 400 naming it (fields). json keeps the
      last one; another parser (the bank's) may keep the first, and the two would disagree
      about the amount or the operation.
    - a compressed body (any Content-Encoding but identity) is a 415: it is never decoded.
    - absurdly nested input is a 400: json.loads raises RecursionError, not ValueError, for
      arrays nested a few thousand deep, which DRF would let through as a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context.get("request")
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "") if request is not None else ""
        if encoding.strip().lower() not in ("", "identity"):
            raise UnsupportedMediaType(media_type, detail="Compressed bodies are not accepted.")
        try:
            # DRF's JSONParser.parse, with the repeat check added.
            return json.load(
                codecs.getreader(get_encoding(parser_context))(stream),
                parse_constant=strict_constant if self.strict else None,
                object_pairs_hook=_object_without_repeats,
            )
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        except RecursionError as exc:
            raise ParseError("JSON nested too deeply.") from exc


def _object_without_repeats(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ValidationError({key: [REPEATED_KEY_MESSAGE]})
            seen.add(key)
    return obj
