"""Reading scheduling language (conversations.engine.scheduling): pure functions, no database."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from conversations.engine.scheduling import (
    choose_slot, read_duration, read_meeting_type, read_shift, read_when, read_window, rejects_all,
)
from conversations.engine.types import SlotOption

NY = ZoneInfo("America/New_York")
#: Monday, November 30 2026, 1 pm in New York.
NOW = datetime(2026, 11, 30, 13, 0, tzinfo=NY)


def slots(*starts: datetime) -> tuple[SlotOption, ...]:
    return tuple(SlotOption(number=index, start=start, end=start + timedelta(minutes=30))
                 for index, start in enumerate(starts, start=1))


OFFERED = slots(datetime(2026, 12, 1, 10, 0, tzinfo=NY), datetime(2026, 12, 2, 14, 30, tzinfo=NY),
                datetime(2026, 12, 3, 11, 0, tzinfo=NY))


@pytest.mark.parametrize(("text", "day", "clock"), [
    ("next Tuesday at 10am", date(2026, 12, 1), time(10)),
    ("Thursday 11 works", date(2026, 12, 3), time(11)),
    ("Wednesday at 2:30", date(2026, 12, 2), time(14, 30)),
    ("How about Dec 4 at 3pm?", date(2026, 12, 4), time(15)),
    # a full date wins over the weekday beside it, and the day of the month is not a clock time
    ("Monday 14 December at 11am works", date(2026, 12, 14), time(11)),
    ("Mon 14 Dec at 11am", date(2026, 12, 14), time(11)),
    ("Monday, December 14 at 11am", date(2026, 12, 14), time(11)),
    ("tomorrow at noon", date(2026, 12, 1), time(12)),
    ("can we do 4pm?", None, time(16)),
    ("let's talk next week", None, None),
])
def test_days_and_clock_times_are_read_in_the_zone_relative_to_the_message(text, day, clock):
    when = read_when(text, zone=NY, now=NOW)
    assert (when.day, when.clock) == (day, clock)


def test_a_part_of_the_day_is_read_as_a_range():
    when = read_when("tomorrow afternoon", zone=NY, now=NOW)
    assert when.day == date(2026, 12, 1) and when.clock is None and when.part == (time(12), time(17))


@pytest.mark.parametrize(("text", "number"), [
    ("Wednesday at 2:30 works", 2), ("the second one", 2), ("option 2 please", 2), ("#3", 3),
    ("The last one is best", 3), ("11am is great", 1 + 2), ("Tuesday works for me", 1),
    ("first option", 1), ("Thursday at 4pm?", None), ("sounds good", None), ("option 7", None),
])
def test_a_reply_picks_a_slot_by_number_ordinal_day_and_time(text, number):
    assert choose_slot(text, OFFERED, zone=NY, now=NOW) == number


def test_a_time_alone_picks_only_when_one_slot_has_it():
    same_hour = slots(datetime(2026, 12, 1, 10, 0, tzinfo=NY), datetime(2026, 12, 2, 10, 0, tzinfo=NY))
    assert choose_slot("10am works", same_hour, zone=NY, now=NOW) is None
    assert choose_slot("Wednesday 10am works", same_hour, zone=NY, now=NOW) == 2


@pytest.mark.parametrize("text", ["None of these work for me", "Sorry, none of those times suit",
                                  "Could you send other times?", "I can't do any of them"])
def test_turning_every_slot_down_is_recognised(text):
    assert rejects_all(text)


def test_a_choice_is_not_a_rejection():
    assert not rejects_all("The second one works")


@pytest.mark.parametrize(("text", "minutes"), [("find 30 minutes", 30), ("an hour", 60), ("1.5 hours", 90),
                                                ("half an hour", 30), ("a call", None)])
def test_durations(text, minutes):
    assert read_duration(text) == minutes


def test_meeting_types():
    assert read_meeting_type("coffee next week?") == "inPerson"
    assert read_meeting_type("a quick call") == "virtual"
    assert read_meeting_type("find us some time") is None


def test_windows_are_local_days():
    start, end = read_window("sometime next week", zone=NY, now=NOW)
    assert (start, end) == (datetime(2026, 12, 7, tzinfo=NY), datetime(2026, 12, 12, tzinfo=NY))
    start, end = read_window("Thursday?", zone=NY, now=NOW)
    assert (start, end) == (datetime(2026, 12, 3, tzinfo=NY), datetime(2026, 12, 4, tzinfo=NY))
    assert read_window("whenever suits", zone=NY, now=NOW) is None


@pytest.mark.parametrize(("text", "shift"), [
    ("could we push that back a week?", timedelta(weeks=1)), ("push my 3pm back half an hour", timedelta(minutes=30)),
    ("move it 30 minutes later", timedelta(minutes=30)), ("bring it forward a day", timedelta(days=-1)),
    ("an hour earlier please", timedelta(hours=-1)), ("bump it by two days", timedelta(days=2)),
    ("find 30 minutes next week", None), ("push it to Thursday", None), ("make it a 45 minute call", None),
])
def test_how_far_a_meeting_moves_is_read_only_with_a_direction(text, shift):
    assert read_shift(text) == shift
