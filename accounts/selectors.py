from django.db.models import QuerySet

from .models import Account, Assistant, User


def user_list(*, account: Account) -> QuerySet[User]:
    return User.objects.filter(account=account).order_by("-created_at", "-id")


def assistant_list(*, account: Account) -> QuerySet[Assistant]:
    return Assistant.objects.filter(account=account).order_by("created_at", "id")
