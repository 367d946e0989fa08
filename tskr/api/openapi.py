"""OpenAPI generation that tells the truth about the envelopes.

- Success bodies are wrapped as the renderer wraps them: `{"ok": true, <envelope_key>: ...}`, lists
  under `envelope_list_key`, paginated lists with `page`, `perPage`, `total`.
- A serializer with `envelope = True` describes the whole body already (irregular contract shapes).
- DELETE answers 200 with `{"id", "message"}` under the resource key (the contract), not 204.
- Every operation documents the error envelope for the statuses it can answer, and the rate-limit
  and Cache-Control headers (postprocessing hook below).
"""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from .serializers import DeletedSerializer

ERROR_STATUSES = {
    "400": ("Bad request: malformed JSON (`invalid_json`, also for a body nested too deeply to decode), invalid "
            "parameters or a validation error (`validation_error`, `details` names every field's problems; a "
            "free-form object nested deeper than 32 levels or larger than TSKR_MAX_METADATA_BYTES is one)"),
    "401": "Missing, malformed or rejected token (see `error_code`)",
    "403": ("The token may not do this (e.g. `user_context_required`, `super_admin_required`, "
            "`management_token_required`, `identifier_not_owned`)"),
    "404": "No such resource in the caller's account",
    "405": "Method not allowed on this path",
    "409": ("Conflict with the current state (duplicate, lock held, illegal transition, "
            "`idempotency_key_in_use`: a request with this Idempotency-Key is still running, or "
            "`concurrent_change`: a row the request needs was deleted meanwhile, or the write lost a deadlock or "
            "serialization check on each of its 3 runs; retry)"),
    "413": "Request body too large",
    "415": "Unsupported media type (send application/json)",
    "429": "Rate limit exceeded; see Retry-After",
    "503": "A dependency (database, cache, AI engine) is unreachable or unavailable; retry shortly",
}

RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests allowed per minute for the account", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "Unix time (seconds) when the window resets", "schema": {"type": "integer"}},
}

NO_STORE_HEADER = {"Cache-Control": {"description": "`no-store`: every answer to an authenticated request",
                                     "schema": {"type": "string", "enum": ["no-store"]}}}


class CertificateJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.CertificateJWTAuthentication"
    name = "certificateJWT"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "RS256 JWT signed with your certificate's private key; `kid` header names the "
                           "certificate. Add an `email` claim (and optional firstName/lastName) for delegated APIs.",
        }


class EnvelopeAutoSchema(AutoSchema):
    def _get_paginator(self):
        paginator = super()._get_paginator()
        if paginator is not None:
            paginator.schema_list_key = getattr(self.view, "envelope_list_key", "items")
        return paginator

    def _get_response_bodies(self, direction="response"):
        response_serializers = self.get_response_serializers()
        if self.method == "DELETE" and not isinstance(response_serializers, dict):
            declared = response_serializers if getattr(response_serializers, "envelope", False) else DeletedSerializer
            return {"200": self._get_response_for_code(declared, "200", direction=direction)}
        return super()._get_response_bodies(direction)

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        if not ("200" <= status_code < "300") or "content" not in response:
            return response
        declared = serializer.response if isinstance(serializer, OpenApiResponse) else serializer
        instance = declared() if isinstance(declared, type) else declared
        if getattr(getattr(instance, "child", instance), "envelope", False):
            return response
        for media_type, media in response["content"].items():
            if media_type != "application/json":  # a stream (text/event-stream) has no envelope
                continue
            schema = media.get("schema", {})
            if "$ref" in schema and schema["$ref"].split("/")[-1].startswith("Paginated"):
                continue
            is_list = schema.get("type") == "array"
            key = getattr(self.view, "envelope_list_key" if is_list else "envelope_key", "data")
            media["schema"] = {
                "type": "object",
                "required": ["ok", key],
                "properties": {"ok": {"type": "boolean", "enum": [True]}, key: schema},
            }
        return response


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: the Error component, error responses and rate-limit headers everywhere."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = {
        "type": "object",
        "required": ["error", "error_code"],
        "properties": {
            "error": {"type": "string", "description": "Human-readable message"},
            "error_code": {"type": "string", "description": "Stable machine-readable code to branch on"},
            "details": {
                "type": "object",
                "description": "Validation errors: field path -> messages",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            public_operation = operation.get("security") in (None, [], [{}])
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_STATUSES.items():
                if public_operation and code in {"401", "403", "429"}:
                    continue
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code[0] in "45":  # an operation's own error statuses (e.g. 502) carry the envelope too
                    response.setdefault("content", {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}})
            if not public_operation:
                for code, response in responses.items():
                    headers = response.setdefault("headers", {})
                    headers.update(NO_STORE_HEADER)
                    if code != "401":
                        headers.update(RATE_LIMIT_HEADERS)
    return result


def allow_empty_query_enums(result, generator, request, public):
    """Postprocessing hook: an empty enum query parameter (`?status=`) means "no filter", as django-filter
    treats it; say so in the schema instead of listing only the non-empty values."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") != "query":
                    continue
                if "enum" in schema and "" not in schema["enum"]:
                    schema["enum"] = [*schema["enum"], ""]
                elif "$ref" in schema:
                    parameter["schema"] = {"anyOf": [schema, {"type": "string", "enum": [""]}]}
    return result



IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": ("1 to 255 printable ASCII characters, unique per write you mean (e.g. a UUID). A retry with the "
                    "same key, method, path and body within TSKR_IDEMPOTENCY_TTL_HOURS (24 h) is not run again: it "
                    "gets the first response's status and body, with `Idempotent-Replayed: true`. Keys are per "
                    "account and caller; 5xx responses are not kept."),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
IDEMPOTENCY_ERRORS = {
    "400": "`invalid_idempotency_key`: the Idempotency-Key header is empty, too long or not printable ASCII",
    "422": "`idempotency_key_reused`: this Idempotency-Key was used with a different method, path or body",
}
REPLAYED_HEADER = {"Idempotent-Replayed": {"description": "`true` when this is the stored response of an earlier "
                                                         "request with the same Idempotency-Key",
                                          "schema": {"type": "string", "enum": ["true"]}}}


def add_idempotency_header(result, generator, request, public):
    """Postprocessing hook: every authenticated write declares the Idempotency-Key header, the replay
    header on its responses and the 422 of a reused key (`tskr/api/idempotency.py`)."""
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"post", "put", "patch", "delete"} or operation.get("security") in (None, [], [{}]):
                continue
            operation.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
            responses = operation.setdefault("responses", {})
            for code, description in IDEMPOTENCY_ERRORS.items():
                response = responses.setdefault(code, {"description": description, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
                if description not in response["description"]:
                    response["description"] += f"; {description}"
            for code, response in responses.items():
                if code < "500":
                    response.setdefault("headers", {}).update(REPLAYED_HEADER)
    return result
