"""The staff screens' sign-in (Django admin at /staff/), throttled against password guessing."""
import hashlib

from django.contrib import admin
from django.core.cache import cache

from .middleware import json_error

#: Failed sign-ins allowed per client address and username within a window; more are refused.
STAFF_LOGIN_MAX_FAILURES = 5
STAFF_LOGIN_WINDOW_SECONDS = 15 * 60


def _failures_key(request) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a client writes that header itself, and could rotate it.
    username = request.POST.get("username", "").strip().lower()
    digest = hashlib.sha256(f"{request.META.get('REMOTE_ADDR', '')}\n{username}".encode()).hexdigest()
    return f"staff-login-failures:{digest}"


def staff_login(request, **kwargs):
    """Django admin's login view, refusing (429 `rate_limited`) a client address and username pair
    after STAFF_LOGIN_MAX_FAILURES failures in STAFF_LOGIN_WINDOW_SECONDS, correct password or not,
    until the window (counted from the first failure) ends. A success clears the count.

    Django's form answers a failed sign-in by showing itself again (200) and a success by a redirect.
    """
    if request.method != "POST":
        return admin.site.login(request, **kwargs)
    key = _failures_key(request)
    if (cache.get(key) or 0) >= STAFF_LOGIN_MAX_FAILURES:
        return json_error("Too many failed sign-ins; retry after the number of seconds in Retry-After",
                          "rate_limited", 429, {"Retry-After": str(STAFF_LOGIN_WINDOW_SECONDS)})
    response = admin.site.login(request, **kwargs)
    if response.status_code == 200:
        cache.add(key, 0, timeout=STAFF_LOGIN_WINDOW_SECONDS)
        cache.incr(key)
    elif response.status_code == 302:
        cache.delete(key)
    return response
