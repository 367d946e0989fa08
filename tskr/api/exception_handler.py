"""The one exception handler: every failure becomes the error envelope `{"error", "error_code"}`
(+ `details` for validation). Our `ApplicationError`s (tskr/exceptions.py), Django's, DRF's and the
dependencies' errors are mapped here; anything else is logged with its traceback and answered as a
500 in the same shape."""
import logging

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from ..exceptions import RATE_LIMITED_MESSAGE, ApplicationError, is_concurrent_change

logger = logging.getLogger("tskr.errors")


def error_body(message: str, error_code: str, details=None) -> dict:
    body = {"error": message, "error_code": error_code}
    if details is not None:
        body["details"] = details
    return body


_DRF_CODES = {
    drf.ParseError: "invalid_json",
    drf.AuthenticationFailed: "authentication_failed",
    drf.NotAuthenticated: "authentication_required",
    drf.PermissionDenied: "forbidden",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "rate_limited",
}


def flatten_details(detail) -> dict:
    """DRF's nested error detail -> {"field.path": ["message", ...]}."""
    flat: dict[str, list[str]] = {}

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            if all(not isinstance(item, (dict, list)) for item in node):
                flat.setdefault(path or "non_field_errors", []).extend(str(item) for item in node)
            else:
                for index, item in enumerate(node):
                    if item:
                        walk(item, f"{path}[{index}]")
        else:
            flat.setdefault(path or "non_field_errors", []).append(str(node))

    walk(detail, "")
    return flat


def _validation_message(details: dict) -> str:
    field, messages = next(iter(details.items()))
    if field == "non_field_errors":
        return messages[0]
    return f"{field}: {messages[0]}"


def exception_to_response(exc) -> Response | None:
    """Map any exception to an envelope response; None means "unexpected" (a 500)."""
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, exc.error_code, exc.details), status=exc.status_code,
                        headers=exc.headers)
    if isinstance(exc, Http404):
        return Response(error_body("Not found", "not_found"), status=404)
    if isinstance(exc, PermissionDenied):
        return Response(error_body("You do not have permission to perform this action", "forbidden"), status=403)
    if isinstance(exc, DjangoValidationError):
        details = flatten_details(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return Response(error_body(_validation_message(details), "validation_error", details), status=400)
    if isinstance(exc, drf.ValidationError):
        details = flatten_details(exc.detail)
        return Response(error_body(_validation_message(details), "validation_error", details), status=400)
    if isinstance(exc, drf.APIException):
        code = getattr(exc, "error_code", None) or _DRF_CODES.get(type(exc)) or next(
            (value for klass, value in _DRF_CODES.items() if isinstance(exc, klass)), "error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = {}
        if isinstance(exc, drf.Throttled):
            message = RATE_LIMITED_MESSAGE
            if exc.wait is not None:
                headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        if isinstance(exc, drf.ParseError):
            message = "Malformed JSON body" if "JSON" in str(exc.detail) else str(exc.detail)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        return Response(error_body(message, code), status=exc.status_code, headers=headers)
    if is_concurrent_change(exc):
        logger.warning("concurrent change reached the handler: %s", str(exc).splitlines()[0] if str(exc) else "")
        return Response(error_body("The request conflicts with a concurrent change; retry it", "concurrent_change"),
                        status=409)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s: %s", exc.__class__.__name__, str(exc).splitlines()[0] if str(exc) else "")
        return Response(error_body("The database is unavailable; retry shortly", "database_unavailable"),
                        status=503, headers={"Retry-After": "5"})
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        logger.warning("redis unavailable: %s", exc.__class__.__name__)
        return Response(error_body("The cache is unavailable; retry shortly", "cache_unavailable"),
                        status=503, headers={"Retry-After": "5"})
    if isinstance(exc, IntegrityError):
        # Uniqueness races are mapped to their own 409s where they can happen (`conflict_on_duplicate`);
        # what reaches here is a row that vanished under the request (a user or parent deleted by a
        # concurrent request, or seen from a process cache): retrying answers the truth.
        logger.warning("integrity error reached the handler: %s", str(exc).splitlines()[0] if str(exc) else "")
        return Response(error_body("The request conflicts with a concurrent change; retry it", "concurrent_change"),
                        status=409)
    if isinstance(exc, DataError):
        # PostgreSQL's "data exception" class: a value out of range or not storable. Input validation
        # should have caught it; answering 400 keeps a gap there from becoming a 500.
        logger.warning("data error reached the database: %s", exc)
        return Response(error_body("A value is out of range or cannot be stored", "invalid_value"), status=400)
    return None


def api_exception_handler(exc, context):
    response = exception_to_response(exc)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__ if context else "?",
                         exc_info=exc)
        response = Response(error_body("Internal server error", "internal_error"), status=500)
    return response
