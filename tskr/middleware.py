import logging

from django.conf import settings
from django.http import JsonResponse

from .exceptions import error_body, exception_to_response

logger = logging.getLogger("tskr.errors")


def json_error(message: str, error_code: str, status: int, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(error_body(message, error_code), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class JsonErrorMiddleware:
    """Exceptions that escape a non-DRF view still answer in the error envelope, never HTML."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        response = exception_to_response(exception)
        if response is None:
            logger.exception("unhandled error on %s %s", request.method, request.path, exc_info=exception)
            return json_error("Internal server error", "internal_error", 500)
        return json_error(response.data["error"], response.data["error_code"], response.status_code,
                          dict(response.headers))


class BodySizeLimitMiddleware:
    """Refuse bodies over TSKR_MAX_BODY_BYTES before anything reads them (413 `payload_too_large`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return json_error("Content-Length must be an integer", "invalid_content_length", 400)
        if length < 0:
            return json_error("Content-Length must be an integer", "invalid_content_length", 400)
        if length > settings.TSKR_MAX_BODY_BYTES:
            return json_error(f"The request body is larger than {settings.TSKR_MAX_BODY_BYTES} bytes",
                              "payload_too_large", 413)
        return self.get_response(request)


class RateLimitHeadersMiddleware:
    """Puts X-RateLimit-* on every response of an authenticated request (set by the throttle)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        state = getattr(request, "tskr_rate_limit", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response
