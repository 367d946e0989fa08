"""The staff screens (Django admin at /staff/): a sign-in throttled against password guessing, and the
base of the screens that write through services."""
import hashlib
from contextlib import contextmanager

from django.contrib import admin, messages
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponseRedirect

from .api.middleware import json_error
from .exceptions import ApplicationError

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


class ServiceAdmin(admin.ModelAdmin):
    """A staff screen whose saves and deletes go through the app's services (HackSoft's users/admin.py).

    Subclasses implement `service_create(request, data)`, `service_update(request, obj, changes)` and
    `service_delete(request, obj)`, so a staff member meets the same rules as the API: an
    ApplicationError a service raises is shown as an error message, nothing is written (the admin's
    history entry included), and the page goes back to the form (or the object, for a delete). Fields
    a service owns belong in `readonly_fields`. Relations (many-to-many) are saved by the service too:
    `save_related` saves only the inlines.
    """

    def save_model(self, request, obj, form, change):
        with self._service_call(request):
            if change:
                saved = self.service_update(request, obj, {name: form.cleaned_data[name] for name in form.changed_data})
            else:
                saved = self.service_create(request, dict(form.cleaned_data))
            obj.__dict__.update(saved.__dict__)  # the admin goes on with `obj` (its log, its redirect)

    def delete_model(self, request, obj):
        with self._service_call(request):
            self.service_delete(request, obj)

    def get_actions(self, request):
        """No bulk delete: it would delete rows without their service's checks and follow-ups."""
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_related(self, request, form, formsets, change):
        """The service saved the object's relations; only the inlines' own rows are saved here."""
        if getattr(request, "_tskr_service_error", False):
            return
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @contextmanager
    def _service_call(self, request):
        try:
            yield
        except ApplicationError as error:
            # The admin's view runs in one transaction: undo its history entry (written before a delete) too.
            transaction.set_rollback(True)
            request._tskr_service_error = True
            self.message_user(request, f"{error.message} ({error.error_code})", messages.ERROR)

    def log_addition(self, request, obj, message):
        if not getattr(request, "_tskr_service_error", False):  # the transaction is to be rolled back
            return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        if not getattr(request, "_tskr_service_error", False):
            return super().log_change(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_tskr_service_error", False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "_tskr_service_error", False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_change(request, obj)

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_tskr_service_error", False):
            return HttpResponseRedirect(request.get_full_path().rsplit("/delete/", 1)[0] + "/change/")
        return super().response_delete(request, obj_display, obj_id)

