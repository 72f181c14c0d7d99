"""The partner API's OpenAPI document, errors included: every operation lists each error it can answer, with
its JSON body, so a partner's client can rely on the document (and the tests hold the API to it). This is
the project's drf-spectacular schema class (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``)."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer but a 400's."""

    detail = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer):
    """The body of a 400: each field in error named with its messages (``non_field_errors`` for the body as
    a whole), or ``detail`` alone when the body is not JSON at all. Described by ``FieldErrorsScheme``."""


class FieldErrorsScheme(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {
            "type": "object",
            "description": (
                "Each field in error with its messages (`non_field_errors` for the body as a whole); "
                "`detail` alone when the body is not JSON."
            ),
            "properties": {"detail": {"type": "string"}},
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "example": {"occurred_at": ["Give the time zone too, e.g. 2026-05-01T09:30:00+08:00."]},
        }


class PartnerAPISchema(AutoSchema):
    """drf-spectacular's schema, plus the error answers of each operation that its view does not document
    itself (an operation's own ``@extend_schema`` responses, such as a 404 worded for it, are kept)."""

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = {**self._error_responses(operation), **operation["responses"]}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_responses(self, operation: dict) -> dict[str, dict]:
        located = {parameter["in"] for parameter in operation.get("parameters", [])}
        has_body = "requestBody" in operation
        security = operation.get("security", [])
        errors = {}
        if has_body or "query" in located:
            errors["400"] = self._error(
                FieldErrorsSerializer,
                "A field or query parameter is missing or malformed (each named with its errors), "
                "or the body is not valid JSON.",
            )
        if security and {} not in security:
            errors["401"] = self._error(
                ErrorSerializer,
                "No token, or a token that is unknown, revoked or of a partner no longer working with the "
                "market.",
                headers={"WWW-Authenticate": ("string", "The scheme to authenticate with: `Token`.")},
            )
        if "path" in located:
            errors["404"] = self._error(ErrorSerializer, "No such object, or not this partner's.")
        elif self.method == "GET" and getattr(self.view, "paginator", None) is not None:
            errors["404"] = self._error(ErrorSerializer, "No such page.")
        errors["406"] = self._error(ErrorSerializer, "The `Accept` header asks for something but JSON.")
        if has_body:
            errors["415"] = self._error(ErrorSerializer, "The body is not `application/json`.")
        if security or getattr(self.view, "throttle_classes", None):
            errors["429"] = self._error(
                ErrorSerializer,
                "Too many requests: this partner's rate, or, before any token is looked up, too many "
                "requests without a working token from this address.",
                headers={"Retry-After": ("integer", "Seconds to wait before trying again.")},
            )
        return errors

    def _error(
        self,
        serializer: type[serializers.Serializer],
        description: str,
        headers: dict[str, tuple[str, str]] | None = None,
    ) -> dict:
        """A response object: the body's schema in each media type the view renders, and the headers that
        always come with it (name → JSON type, description)."""
        body = self.resolve_serializer(serializer, "response").ref
        response = {
            "description": description,
            "content": {media_type: {"schema": body} for media_type in self.map_renderers("media_type")},
        }
        if headers:
            response["headers"] = {
                name: {"description": text, "required": True, "schema": {"type": json_type}}
                for name, (json_type, text) in headers.items()
            }
        return response
