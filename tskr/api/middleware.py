import logging

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware

from .exception_handler import error_body, exception_to_response

logger = logging.getLogger("tskr.errors")

STAFF_PATH_PREFIX = "/staff/"


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


#: The staff screens' and the interactive docs' own files only (Swagger UI is served by the application,
#: not a CDN); inline <style> blocks are allowed (both pages have one), inline scripts are not.
STAFF_AND_DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                      "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
                      "form-action 'self'; frame-ancestors 'none'")
DOCS_PATH = "/docs"


class SecurityHeadersMiddleware:
    """Headers for what the API answers, set once for every response:

    - `Cache-Control: no-store` on every answer to a request carrying `Authorization`: it holds one
      caller's data, which no shared or browser cache may keep;
    - `Strict-Transport-Security` when the API's public URL (TSKR_PUBLIC_URL) is https;
    - a restrictive `Content-Security-Policy` on the HTML pages, /docs and /staff/.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "HTTP_AUTHORIZATION" in request.META:
            response["Cache-Control"] = "no-store"
        if settings.TSKR_HSTS_SECONDS and settings.TSKR_PUBLIC_URL.startswith("https://"):
            response["Strict-Transport-Security"] = f"max-age={settings.TSKR_HSTS_SECONDS}"
        path = request.path_info
        if path == DOCS_PATH or path.startswith(STAFF_PATH_PREFIX):
            response["Content-Security-Policy"] = STAFF_AND_DOCS_CSP
        return response


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


class _StaffScreensOnly:
    """Runs the middleware it is mixed into for the staff screens (Django admin) only.

    The API is stateless and token-authenticated: it reads no session, cookie or CSRF token. Sessions,
    CSRF, Django authentication and messages on every API request cost a measurable share of a small
    request's time and did nothing. Subclasses, so Django's admin checks still find them in MIDDLEWARE.
    """

    def __call__(self, request):
        if request.path_info.startswith(STAFF_PATH_PREFIX):
            return super().__call__(request)
        return self.get_response(request)


class StaffSessionMiddleware(_StaffScreensOnly, SessionMiddleware):
    pass


class StaffCsrfViewMiddleware(_StaffScreensOnly, CsrfViewMiddleware):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if request.path_info.startswith(STAFF_PATH_PREFIX):
            return super().process_view(request, callback, callback_args, callback_kwargs)
        return None


class StaffAuthenticationMiddleware(_StaffScreensOnly, AuthenticationMiddleware):
    pass


class StaffMessageMiddleware(_StaffScreensOnly, MessageMiddleware):
    pass
