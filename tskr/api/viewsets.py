"""The base viewset every API resource uses: account (and user) scoping lives here, once.

The base owns `get_queryset` and `get_object` and refuses subclasses that override them (PostHog's
`TeamAndOrgViewSetMixin`): it builds the caller's rows (`scoped`) and hands them to the subclass's
`narrow_queryset` (usually a selector), which can only narrow them. A forgotten filter in a selector
therefore cannot leak another account's rows, and the scope is applied exactly once, by construction.
"""
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import Model, QuerySet
from rest_framework import viewsets
from rest_framework.permissions import SAFE_METHODS

from ..exceptions import NotFound, retry_concurrent_changes
from ..scoping import scoped
from . import idempotency
from .permissions import IsAccountMember, IsDelegated


#: Methods only ScopedViewSet defines: a subclass overriding one could return rows of any account.
OWNED_BY_THE_BASE = ("get_queryset", "get_object")


class ScopedViewSet(viewsets.GenericViewSet):
    envelope_key = "data"
    envelope_list_key = "items"
    #: "account": rows of the caller's account; "user": rows of the calling user (delegated only).
    scope = "account"
    account_field = "account"
    user_field = "user"
    lookup_field = "pk"
    lookup_value_regex = "[^/]+"
    permission_classes = [IsAccountMember]

    def __init_subclass__(cls, **kwargs):
        """Fail closed at import time: scoping cannot be bypassed by redefining what the base owns."""
        super().__init_subclass__(**kwargs)
        overridden = [name for name in OWNED_BY_THE_BASE if name in cls.__dict__]
        if overridden:
            raise ImproperlyConfigured(
                f"{cls.__name__} overrides {', '.join(overridden)}: account scoping belongs to ScopedViewSet. "
                "Narrow the scoped rows in narrow_queryset(), or, for rows of no account, name the bypass "
                "with dangerously_get_queryset() (see UnscopedPlatformViewSet).")

    # -- who is calling ------------------------------------------------------------------
    @property
    def account(self):
        return self.request.user.account

    @property
    def acting_user(self):
        return self.request.user.user

    def check_permissions(self, request):
        # Count the request before permission checks, so a 403 is rate limited and carries the headers too
        # (the throttle counts a request once: DRF checks throttles again after permissions).
        self.check_throttles(request)
        super().check_permissions(request)

    # -- idempotency keys (tskr/api/idempotency.py) and lost deadlocks --------------------------------
    def initial(self, request, *args, **kwargs):
        """After authentication, permissions and the rate limit (each counted once): claim the write's
        Idempotency-Key, or replay its stored response; then a write action runs again when the database
        picked it as a deadlock's or a serialization check's loser. Reads open no transaction that could
        lose one."""
        self.idempotency_claim = None
        super().initial(request, *args, **kwargs)
        self.idempotency_claim = idempotency.begin(request)
        handler = getattr(self, request.method.lower(), None)
        if request.method not in SAFE_METHODS and handler is not None:
            setattr(self, request.method.lower(), retry_concurrent_changes(handler))

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replayed):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        claim, self.idempotency_claim = getattr(self, "idempotency_claim", None), None
        if claim is not None:
            idempotency.finish(claim, response)
        return response

    # -- scoping ---------------------------------------------------------------------------
    def get_permissions(self):
        if self.scope == "user" and IsDelegated not in self.permission_classes:
            return [IsDelegated()] + [permission() for permission in self.permission_classes]
        return super().get_permissions()

    def narrow_queryset(self, queryset: QuerySet) -> QuerySet:
        """What the subclass lists, given the caller's rows (already scoped): usually a selector that
        filters, orders and joins them. It may narrow, never widen: it only sees scoped rows."""
        return queryset

    def dangerously_get_queryset(self) -> QuerySet | None:
        """The named bypass: rows of no account at all, for platform-wide resources only. None (scoped) here."""
        return None

    def get_queryset(self):
        queryset = self.dangerously_get_queryset()
        if queryset is None:
            queryset = scoped(self.queryset, account=self.account,
                              user=self.acting_user if self.scope == "user" else None,
                              account_field=self.account_field, user_field=self.user_field)
        return self.narrow_queryset(queryset)

    def get_scoped(self, model_or_queryset, message: str | None = None, **lookup) -> Model:
        """Fetch one row of another resource (a parent, a referenced ID) within the caller's account."""
        queryset = scoped(model_or_queryset, account=self.account)
        obj = queryset.filter(**lookup).first()
        if obj is None:
            raise NotFound(message or f"{queryset.model._meta.verbose_name.capitalize()} not found")
        return obj

    def get_object(self):
        queryset = self.get_queryset()
        obj = queryset.filter(**{self.lookup_field: self.kwargs[self.lookup_url_kwarg or self.lookup_field]}).first()
        if obj is None:
            raise NotFound(f"{queryset.model._meta.verbose_name.capitalize()} not found")
        self._attach_account(obj)
        self.check_object_permissions(self.request, obj)
        return obj

    def _attach_account(self, obj: Model) -> None:
        """A row found in the caller's account gets that account as its `account`, so that the services
        reading `obj.account` do not load it again."""
        try:
            field = obj._meta.get_field(self.account_field)
        except FieldDoesNotExist:  # a path through a parent (`calendar__account`), or a platform-wide row
            return
        if field.many_to_one and getattr(obj, field.attname) == self.account.pk and not field.is_cached(obj):
            field.set_cached_value(obj, self.account)

    # -- responses -------------------------------------------------------------------------
    def paginate_rows(self, queryset, fields: tuple[str, ...]) -> list[dict]:
        """A page of `.values(*fields)` rows of `queryset`, for lists built without a serializer."""
        return self.paginator.paginate_queryset(queryset, self.request, view=self, fields=fields)

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


def deleted(object_id: str, message: str) -> dict:
    """The contract's delete body: `{"id", "message"}` under the resource key."""
    return {"id": object_id, "message": message}


class UnscopedPlatformViewSet(ScopedViewSet):
    """The one named bypass of account scoping: for platform-wide rows (the admin catalog).

    Subclasses must guard access another way (`IsSuperAdmin`); there is no account filter at all.
    """

    def dangerously_get_queryset(self) -> QuerySet:
        return self.queryset.all()

