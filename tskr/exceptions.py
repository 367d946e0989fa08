"""The one error hierarchy and the one handler that turns every failure into the error envelope.

Services raise `ApplicationError` subclasses; views never build error bodies. Django, DRF and
dependency errors are mapped here to `{"error", "error_code"}` (+ `details` for validation).
"""
import functools
import logging
import random
import time
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, transaction
from django.http import Http404
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf, status
from rest_framework.response import Response

logger = logging.getLogger("tskr.errors")

RATE_LIMITED_MESSAGE = "Rate limit exceeded; retry after the number of seconds in Retry-After"


class ApplicationError(Exception):
    status_code = status.HTTP_400_BAD_REQUEST
    error_code = "bad_request"
    default_message = "The request could not be processed"

    def __init__(self, message: str | None = None, *, error_code: str | None = None,
                 status_code: int | None = None, details: dict | None = None, headers: dict | None = None):
        self.message = message or self.default_message
        if error_code:
            self.error_code = error_code
        if status_code:
            self.status_code = status_code
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(ApplicationError):
    pass


class ValidationFailed(ApplicationError):
    error_code = "validation_error"
    default_message = "Validation failed"


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    error_code = "forbidden"
    default_message = "You do not have permission to perform this action"


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    error_code = "not_found"
    default_message = "Not found"


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    error_code = "conflict"
    default_message = "The request conflicts with the current state"


@contextmanager
def conflict_on_duplicate(conflict: Conflict):
    """A savepoint around a write that a uniqueness check guards: when a concurrent request wins the
    race between the check and the write, the unique constraint fails it, and the caller gets the same
    409 as the check gives (`conflict`), not a 500."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        raise conflict from None


#: How many times a write that lost a deadlock or a serialization check is run in all.
CONCURRENT_CHANGE_ATTEMPTS = 3


def is_concurrent_change(exc: BaseException) -> bool:
    """Whether `exc` is the database refusing a transaction for a concurrent one, not an outage:
    PostgreSQL's SQLSTATE class 40 (40P01 deadlock detected, 40001 serialization failure), or
    SQLite's busy timeout running out ("database is locked")."""
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    return sqlstate.startswith("40") or "database is locked" in str(exc)


def retry_concurrent_changes(func):
    """Runs `func` again (at most CONCURRENT_CHANGE_ATTEMPTS times in all, after a short random pause)
    when the database rolled it back for a concurrent transaction: the loser of a deadlock succeeds
    on its next try. Only around code that opens its own transactions and does nothing outside the
    database that cannot be repeated; inside an open transaction it cannot retry, and does not.
    The last failure is raised, and the handler answers it with 409 `concurrent_change`.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, CONCURRENT_CHANGE_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if (not is_concurrent_change(exc) or attempt == CONCURRENT_CHANGE_ATTEMPTS
                        or transaction.get_connection().in_atomic_block):
                    raise
                logger.info("concurrent change, attempt %d of %d: %s", attempt, CONCURRENT_CHANGE_ATTEMPTS,
                            str(exc).splitlines()[0] if str(exc) else "")
                time.sleep(random.uniform(0.01, 0.05) * attempt)  # jitter: the two losers do not meet again
    return wrapper


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    error_code = "service_unavailable"
    default_message = "A required service is unavailable; retry shortly"


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


def _flatten_details(detail) -> dict:
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
        details = _flatten_details(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return Response(error_body(_validation_message(details), "validation_error", details), status=400)
    if isinstance(exc, drf.ValidationError):
        details = _flatten_details(exc.detail)
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
