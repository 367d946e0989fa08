"""Reminder and follow-up times in people's words, measured from when they were said, in the owner's zone."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conversations.engine.reminder_times import reminder_time

#: Monday 30 November 2026, 18:00 UTC (18:00 in London, 23:45 in Kathmandu)
SAID = datetime(2026, 11, 30, 18, 0, tzinfo=ZoneInfo("UTC"))
LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize("text, wall", [
    ("Remind me to send the invoice tomorrow at 9am", datetime(2026, 12, 1, 9, 0)),
    ("remind me on Friday to call mum", datetime(2026, 12, 4, 9, 0)),  # a date alone: 09:00
    ("remind me in 2 hours to stretch", datetime(2026, 11, 30, 20, 0)),
    ("Remind me on Friday at 3pm to pay", datetime(2026, 12, 4, 15, 0)),
    ("remind me to pay rent on December 3", datetime(2026, 12, 3, 9, 0)),
    ("remind me at 8pm to call", datetime(2026, 11, 30, 20, 0)),  # a time alone: today while ahead
    ("remind me at 5pm to call", datetime(2026, 12, 1, 17, 0)),  # ... else tomorrow
    ("if Raj hasn't replied by Friday, follow up with him", datetime(2026, 12, 4, 9, 0)),
    ("Remind me Dec 3 at 10:30 to pay", datetime(2026, 12, 3, 10, 30)),
])
def test_a_request_names_its_local_wall_time(text, wall):
    assert reminder_time(text, now=SAID, zone=LONDON) == wall


@pytest.mark.parametrize("text", ["remind me to book the flight", "Remind me about the report",
                                  "remind me to call Sun Li"])
def test_a_request_without_a_time_names_none(text):
    assert reminder_time(text, now=SAID, zone=LONDON) is None


def test_tomorrow_is_the_owners_tomorrow():
    # 23:45 on Monday in Kathmandu: tomorrow is Tuesday there, as in London
    assert reminder_time("remind me tomorrow", now=SAID, zone=ZoneInfo("Asia/Kathmandu")) == datetime(2026, 12, 1, 9)
    # 05:00 on Tuesday in Auckland already: tomorrow is Wednesday
    assert reminder_time("remind me tomorrow", now=SAID, zone=ZoneInfo("Pacific/Auckland")) == datetime(2026, 12, 2, 9)
