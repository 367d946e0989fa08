"""Reads of the calendars app. A calendar is listed through its UserCalendar link (role, isPrimary,
userIdentifier come from the link), so every list is of links with the calendar joined in."""
from django.db.models import QuerySet

from accounts.models import Account, User
from directory.models import UserIdentifier

from .models import UserCalendar


def _links(*, account: Account) -> QuerySet[UserCalendar]:
    return (UserCalendar.objects.filter(account=account).select_related("calendar")
            .order_by("-is_primary", "calendar__name", "id"))


def user_calendar_list(*, account: Account, user: User) -> QuerySet[UserCalendar]:
    return _links(account=account).filter(user=user)


def identifier_calendar_list(*, account: Account, identifier: UserIdentifier) -> QuerySet[UserCalendar]:
    return _links(account=account).filter(identifier=identifier)
