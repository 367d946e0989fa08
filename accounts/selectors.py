from django.db.models import QuerySet

from .models import Assistant, User


def user_list(*, queryset: QuerySet[User]) -> QuerySet[User]:
    """Users of one account (`queryset`, already scoped), newest first."""
    return queryset.order_by("-created_at", "-id")


def assistant_list(*, queryset: QuerySet[Assistant]) -> QuerySet[Assistant]:
    """Assistants of one account (`queryset`, already scoped), oldest first."""
    return queryset.order_by("created_at", "id")
