"""OpenAPI pieces every endpoint shares: the one error shape (core.http.exception_handler)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema_serializer
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable and machine-readable: branch on this.")
    message = serializers.CharField(help_text="For people; the wording may change.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="`invalid_request` only: every invalid field with its messages.",
    )


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_response(
    description: str, *examples: dict, serializer: type[serializers.Serializer] = ErrorSerializer
) -> OpenApiResponse:
    """Document one error status: when it happens, and an example body for each code it carries.

    Build the example bodies with core.http.exception_handler.error_body, the function that
    renders the real ones, so the docs cannot drift from what the handler sends.
    """
    return OpenApiResponse(
        response=serializer,
        description=description,
        examples=[OpenApiExample(body["error"]["code"], value=body) for body in examples],
    )
