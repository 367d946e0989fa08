from datetime import timedelta

import factory

from calendars_app.models import Calendar, CalendarEvent, UserCalendar


class CalendarFactory(factory.django.DjangoModelFactory):
    """A synced calendar row (for list and scoping tests that need no provider round trip)."""

    class Meta:
        model = Calendar

    platform = "google"
    reference_id = factory.Sequence(lambda n: f"cal{n}@group.calendar.google.com")
    name = factory.Sequence(lambda n: f"Calendar {n}")
    timezone = "America/New_York"
    background_color = "#9E69AF"
    event_count = 3


class UserCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserCalendar

    calendar = factory.SubFactory(CalendarFactory, account=factory.SelfAttribute("..identifier.account"))
    account = factory.SelfAttribute("identifier.account")
    user = factory.SelfAttribute("identifier.user")
    role = "owner"


class CalendarEventFactory(factory.django.DjangoModelFactory):
    """A synced occurrence: one busy hour unless told otherwise."""

    class Meta:
        model = CalendarEvent

    provider_id = factory.Sequence(lambda n: f"event{n}")
    title = factory.Sequence(lambda n: f"Meeting {n}")
    end = factory.LazyAttribute(lambda event: event.start + timedelta(hours=1))
