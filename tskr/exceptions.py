"""The one error hierarchy: services raise `ApplicationError` subclasses (a message, an `error_code`, a
status) and never build error bodies; `tskr.api.exception_handler` turns them, and every other
failure, into the error envelope. Also the two rules for writes that race a concurrent one
(`conflict_on_duplicate`, `retry_concurrent_changes`)."""
import functools
import logging
import random
import time
from contextlib import contextmanager

from django.db import IntegrityError, OperationalError, transaction
from rest_framework import status

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
