"""The base viewset every API resource uses: account (and user) scoping lives here, once.

Subclasses describe what to list (`get_base_queryset`, usually a selector) and the scope is applied
on top of it, so a forgotten filter in a selector still cannot leak another account's rows.
"""
from django.db.models import Model, QuerySet
from django.db.models.expressions import Col
from django.db.models.lookups import Exact
from django.db.models.sql.where import AND
from rest_framework import viewsets
from rest_framework.permissions import SAFE_METHODS

from . import idempotency
from .exceptions import NotFound, retry_concurrent_changes
from .permissions import IsAccountMember, IsDelegated


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

    # -- who is calling ------------------------------------------------------------------
    @property
    def account(self):
        return self.request.user.account

    @property
    def acting_user(self):
        return self.request.user.user

    def check_permissions(self, request):
        # Count the request before permission checks, so a 403 is rate limited and carries the headers too.
        self.check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request):
        if getattr(request, "_tskr_throttle_checked", False):
            return
        request._tskr_throttle_checked = True
        super().check_throttles(request)

    # -- idempotency keys (tskr/idempotency.py) and lost deadlocks --------------------------------
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

    def get_base_queryset(self) -> QuerySet:
        return self.queryset.all()

    def apply_scope(self, queryset: QuerySet) -> QuerySet:
        queryset = _scoped(queryset, self.account_field, self.account)
        if self.scope == "user":
            queryset = _scoped(queryset, self.user_field, self.acting_user)
        return queryset

    def get_queryset(self):
        return self.apply_scope(self.get_base_queryset())

    def get_scoped(self, model_or_queryset, message: str | None = None, **lookup) -> Model:
        """Fetch one row of another resource (a parent, a referenced ID) within the caller's account."""
        queryset = model_or_queryset if isinstance(model_or_queryset, QuerySet) else model_or_queryset.objects.all()
        obj = queryset.filter(account=self.account, **lookup).first()
        if obj is None:
            raise NotFound(message or f"{queryset.model._meta.verbose_name.capitalize()} not found")
        return obj

    def get_object(self):
        obj = self.get_queryset().filter(**{self.lookup_field: self.kwargs[self.lookup_url_kwarg or self.lookup_field]}).first()
        if obj is None:
            raise NotFound(f"{self.get_queryset().model._meta.verbose_name.capitalize()} not found")
        self.check_object_permissions(self.request, obj)
        return obj

    # -- responses -------------------------------------------------------------------------
    def paginate_rows(self, queryset, fields: tuple[str, ...]) -> list[dict]:
        """A page of `.values(*fields)` rows of `queryset`, for lists built without a serializer."""
        return self.paginator.paginate_queryset(queryset, self.request, view=self, fields=fields)

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


def _scoped(queryset: QuerySet, field_name: str, owner: Model) -> QuerySet:
    """`queryset` limited to rows whose `field_name` is `owner`.

    Selectors already filter on the account, so most querysets arrive scoped: the condition is then
    found among the query's top-level AND conditions, a column of the queried table, and not added a
    second time (an ORM filter was a tenth of a list's own cost). Anything else is filtered, as is a
    scope through a relation (`calendar__account`).
    """
    query = queryset.query
    if ("__" not in field_name and not query.where.negated and query.where.connector == AND
            and query.combinator is None):
        column, base_table = queryset.model._meta.get_field(field_name), query.base_table
        for condition in query.where.children:
            if (isinstance(condition, Exact) and isinstance(condition.lhs, Col) and condition.lhs.target is column
                    and condition.lhs.alias == base_table and condition.rhs == owner.pk):
                return queryset
    return queryset.filter(**{field_name: owner})


def deleted(object_id: str, message: str) -> dict:
    """The contract's delete body: `{"id", "message"}` under the resource key."""
    return {"id": object_id, "message": message}


class UnscopedPlatformViewSet(ScopedViewSet):
    """The one named bypass of account scoping: for platform-wide rows (the admin catalog).

    Subclasses must guard access another way (`IsSuperAdmin`); there is no account filter at all.
    """

    def apply_scope(self, queryset: QuerySet) -> QuerySet:
        return queryset

