"""What availability asks of the app above calendars_app that keeps the meetings TSKR books (tasks_app),
without importing it (README, "Architecture")."""
from typing import NamedTuple

from django.db.models import QuerySet

from tskr.hooks import Hook


class BookedMeetings(NamedTuple):
    """The meetings booked through TSKR, as querysets whose rows have `id`, `owner_id`, `title`,
    `start_at`, `end_at`, `calendar_id` and `provider_event_id`."""

    #: Every meeting, whatever its status: a synced event one of them wrote is counted through it, never twice.
    all: QuerySet
    #: The meetings holding their owner's time (pending or booked).
    holding_time: QuerySet


booked_meetings = Hook("booked_meetings", "The meetings TSKR booked, for availability and conflicts: exactly one "
                                          "receiver (tasks_app) answers a `BookedMeetings`.")

events_synced = Hook("events_synced", "A sync of `user_id`'s (of `account_id`) calendars wrote their events: the "
                                      "apps above re-plan what depends on them (tasks_app's meeting reminders).")
