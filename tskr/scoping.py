"""The tenant filter, written once: ScopedViewSet builds every request's rows with it, and code outside a
request (services, the engine's context) uses it to hand selectors the rows of one account."""
from django.db.models import QuerySet


def scoped(model_or_queryset, *, account, user=None, account_field: str = "account",
           user_field: str = "user") -> QuerySet:
    """The rows of `account` (and of `user` when given): the one place the tenant filter is written, for
    viewsets and for the services and engines that list rows outside a request."""
    queryset = model_or_queryset if isinstance(model_or_queryset, QuerySet) else model_or_queryset.objects.all()
    lookup = {account_field: account}
    if user is not None:
        lookup[user_field] = user
    return queryset.filter(**lookup)
