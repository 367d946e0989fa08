"""Reads for the directory. Memories and contacts are per user; identifiers are account-wide."""
from django.db.models import QuerySet

from accounts.models import Account, User

from .models import Contact, IdentifierPreferences, Memory, UserIdentifier


def memory_list(*, account: Account, user: User) -> QuerySet[Memory]:
    return Memory.objects.filter(account=account, user=user).order_by("-created_at", "-id")


def contact_list(*, account: Account, user: User) -> QuerySet[Contact]:
    return Contact.objects.filter(account=account, user=user).order_by("-created_at", "-id")


def identifier_list(*, account: Account) -> QuerySet[UserIdentifier]:
    return UserIdentifier.objects.filter(account=account).select_related("user").order_by("created_at", "id")


def preferences_get(*, identifier: UserIdentifier) -> IdentifierPreferences | None:
    """What is stored for an identifier, or None when nothing was ever set (defaults apply)."""
    return IdentifierPreferences.objects.filter(user_identifier=identifier).first()
