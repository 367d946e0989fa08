"""Golden tests of the availability engine (pure functions, no database): DST in six zones, wall times
that do not exist or happen twice, days off, all-day events, both buffer types, the daily limit,
several participants in several zones, the slot grid and every emptyReason."""
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from calendars_app.availability.intervals import wall_instant
from calendars_app.availability.slots import Occurrence, Participant, Rules, find_slots, time_issues
from directory.preferences import DEFAULTS, deep_merge

UTC = dt_timezone.utc
EVERY_DAY_NINE_TO_FIVE = {day: [{"start": "09:00", "end": "17:00"}] for day in ("MO", "TU", "WE", "TH", "FR",
                                                                                   "SA", "SU")}
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def rules(**changes) -> Rules:
    """Scheduling preferences as stored (defaults merged in), e.g. rules(buffers={"bufferType": ...})."""
    availability = changes.pop("availability", {})
    return Rules.from_preferences(deep_merge(DEFAULTS["scheduling"], {
        "availability": {"workingHours": EVERY_DAY_NINE_TO_FIVE, **availability}, **changes}))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def slots(participants, start, end, *, zone="UTC", duration=30, interval=30, now=LONG_AGO, notice=0, limit=500):
    found = find_slots(participants, start=utc(start), end=utc(end), now=now, duration=timedelta(minutes=duration),
                       interval=interval, zone=ZoneInfo(zone), minimum_notice=timedelta(minutes=notice), limit=limit)
    return found


def local_days(found, zone: str) -> dict[date, tuple[str, str, int]]:
    """Per local date: (first start, last end, number of slots) as wall-clock HH:MM with the offset."""
    days: dict[date, list] = {}
    for start, end in found.slots:
        local_start, local_end = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
        days.setdefault(local_start.date(), []).append((local_start, local_end))
    return {day: (items[0][0].strftime("%H:%M%z"), items[-1][1].strftime("%H:%M%z"), len(items))
            for day, items in days.items()}


# -- DST: 09:00-17:00 is 09:00-17:00 local on both sides of every 2026-2027 transition -------------------

TRANSITIONS = {
    "America/New_York": ["2026-03-08", "2026-11-01", "2027-03-14", "2027-11-07"],
    "Europe/London": ["2026-03-29", "2026-10-25", "2027-03-28", "2027-10-31"],
    "Australia/Sydney": ["2026-04-05", "2026-10-04", "2027-04-04", "2027-10-03"],
    "Australia/Lord_Howe": ["2026-04-05", "2026-10-04", "2027-04-04", "2027-10-03"],
    "Asia/Kolkata": [],
    "Asia/Kathmandu": [],
}
CASES = [(zone, day) for zone, days in TRANSITIONS.items() for day in days] + [
    ("Asia/Kolkata", "2026-03-08"), ("Asia/Kolkata", "2026-11-01"),
    ("Asia/Kathmandu", "2026-03-29"), ("Asia/Kathmandu", "2027-10-31")]


@pytest.mark.parametrize("zone,transition", CASES)
def test_working_hours_stay_nine_to_five_local_across_the_transition(zone, transition):
    tz, day = ZoneInfo(zone), date.fromisoformat(transition)
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    offsets = {wall_instant(d, time(12), tz).astimezone(tz).utcoffset() for d in (before, after)}
    assert len(offsets) == (2 if TRANSITIONS[zone] else 1)  # the golden dates really are transitions
    found = slots([Participant(tz, rules())], wall_instant(before, time(0), tz).isoformat(),
                  wall_instant(after + timedelta(days=1), time(0), tz).isoformat(), zone=zone)
    days = local_days(found, zone)
    assert sorted(days) == [before, day, after]
    for local in (before, day, after):
        first, last, count = days[local]
        assert (first[:5], last[:5], count) == ("09:00", "17:00", 16)


def test_lord_howe_moves_half_an_hour_and_new_york_an_hour():
    for zone, day, shift in (("Australia/Lord_Howe", date(2026, 10, 4), 30), ("America/New_York",
                                                                              date(2026, 3, 8), 60)):
        tz = ZoneInfo(zone)
        nine_before = wall_instant(day - timedelta(days=1), time(9), tz)
        nine_after = wall_instant(day + timedelta(days=1), time(9), tz)
        assert nine_after - nine_before == timedelta(days=2) - timedelta(minutes=shift)


def test_a_wall_time_that_does_not_exist_starts_at_the_first_valid_instant():
    # New York springs forward at 02:00 -> 03:00 on 2026-03-08: 02:30 does not exist.
    assert wall_instant(date(2026, 3, 8), time(2, 30), ZoneInfo("America/New_York")) == utc("2026-03-08T07:00:00Z")
    # Lord Howe moves 02:00 -> 02:30 on 2026-10-04.
    assert wall_instant(date(2026, 10, 4), time(2, 15), ZoneInfo("Australia/Lord_Howe")) == utc(
        "2026-10-03T15:30:00Z")
    # London springs forward 01:00 -> 02:00 on 2027-03-28.
    assert wall_instant(date(2027, 3, 28), time(1, 30), ZoneInfo("Europe/London")) == utc("2027-03-28T01:00:00Z")
    hours = {"SU": [{"start": "02:30", "end": "04:00"}]}
    found = slots([Participant(ZoneInfo("America/New_York"), rules(availability={"workingHours": hours}))],
                  "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", zone="America/New_York")
    assert local_days(found, "America/New_York") == {date(2026, 3, 8): ("03:00-0400", "04:00-0400", 2)}


def test_an_ambiguous_wall_time_is_its_first_occurrence():
    # New York falls back 02:00 -> 01:00 on 2026-11-01: 01:30 happens twice; the first is EDT.
    assert wall_instant(date(2026, 11, 1), time(1, 30), ZoneInfo("America/New_York")) == utc("2026-11-01T05:30:00Z")
    # Sydney falls back 03:00 -> 02:00 on 2027-04-04.
    assert wall_instant(date(2027, 4, 4), time(2, 30), ZoneInfo("Australia/Sydney")) == utc("2027-04-03T15:30:00Z")
    hours = {"SU": [{"start": "01:00", "end": "02:00"}]}
    found = slots([Participant(ZoneInfo("America/New_York"), rules(availability={"workingHours": hours}))],
                  "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", zone="UTC")
    # 01:00 EDT (05:00Z) to 02:00 EST (07:00Z): two real hours, both 01:xx wall hours
    assert [start.isoformat() for start, _ in found.slots] == [
        "2026-11-01T05:00:00+00:00", "2026-11-01T05:30:00+00:00", "2026-11-01T06:00:00+00:00",
        "2026-11-01T06:30:00+00:00"]


def test_slot_starts_align_to_the_requested_zone_with_45_minute_offsets():
    kathmandu = Participant(ZoneInfo("Asia/Kathmandu"), rules())
    window = ("2026-06-01T00:00:00+05:45", "2026-06-02T00:00:00+05:45")
    found = slots([kathmandu], *window, zone="Asia/Kathmandu")
    assert local_days(found, "Asia/Kathmandu")[date(2026, 6, 1)] == ("09:00+0545", "17:00+0545", 16)
    found = slots([kathmandu], *window, zone="UTC")  # 09:00 local is 03:15Z: the first UTC :00/:30 is 03:30Z
    assert found.slots[0][0] == utc("2026-06-01T03:30:00Z") and len(found.slots) == 15
    found = slots([kathmandu], *window, zone="Asia/Kolkata", interval=60)  # 09:00 NPT = 08:45 IST -> 09:00 IST
    assert found.slots[0][0].astimezone(ZoneInfo("Asia/Kolkata")).strftime("%H:%M") == "09:00"


# -- days off, busy time, all-day events ----------------------------------------------------------------

def test_working_holidays_are_days_off_on_the_participants_local_dates():
    sydney = Participant(ZoneInfo("Australia/Sydney"), rules(availability={"workingHolidays": ["2026-12-25"]}))
    found = slots([sydney], "2026-12-24T00:00:00+11:00", "2026-12-27T00:00:00+11:00", zone="Australia/Sydney")
    assert sorted(local_days(found, "Australia/Sydney")) == [date(2026, 12, 24), date(2026, 12, 26)]
    issues = time_issues(sydney, start=utc("2026-12-25T10:00:00+11:00"), end=utc("2026-12-25T10:30:00+11:00"),
                         now=LONG_AGO)
    assert issues == ["day_off"]


def test_busy_occurrences_block_and_an_all_day_one_blocks_its_local_day():
    busy = [Occurrence(utc("2026-06-01T10:00:00+02:00"), utc("2026-06-01T16:00:00+02:00")),
            # all-day on 2 June: stored at UTC midnights, blocks 2 June in Paris (22:00Z on 1 June onwards)
            Occurrence(utc("2026-06-02T00:00:00Z"), utc("2026-06-03T00:00:00Z"), all_day=True,
                       start_date=date(2026, 6, 2), end_date=date(2026, 6, 3))]
    paris = Participant(ZoneInfo("Europe/Paris"), rules(), busy)
    found = slots([paris], "2026-06-01T00:00:00+02:00", "2026-06-04T00:00:00+02:00", zone="Europe/Paris")
    days = local_days(found, "Europe/Paris")
    assert days[date(2026, 6, 1)] == ("09:00+0200", "17:00+0200", 4)  # 09-10 and 16-17
    assert date(2026, 6, 2) not in days and days[date(2026, 6, 3)][2] == 16


def test_a_weekly_series_crossing_a_transition_blocks_the_same_local_hour():
    zone = ZoneInfo("America/New_York")
    weekly = [Occurrence(wall_instant(day, time(10), zone), wall_instant(day, time(11), zone))
              for day in (date(2026, 10, 26), date(2026, 11, 2))]  # EDT then EST
    found = slots([Participant(zone, rules(), weekly)], "2026-10-26T00:00:00-04:00", "2026-11-03T00:00:00-05:00",
                  zone="America/New_York")
    starts = {start.astimezone(zone).strftime("%m-%d %H:%M") for start, _ in found.slots}
    for day in ("10-26", "11-02"):
        assert f"{day} 09:30" in starts and f"{day} 10:00" not in starts and f"{day} 10:30" not in starts
        assert f"{day} 11:00" in starts


# -- buffers and the daily limit -------------------------------------------------------------------------

def test_meeting_buffer_keeps_minutes_free_before_and_after_every_busy_occurrence():
    meeting = [Occurrence(utc("2026-06-01T12:00:00Z"), utc("2026-06-01T13:00:00Z"))]
    buffered = Participant(ZoneInfo("UTC"), rules(buffers={"bufferType": "meeting", "bufferLength": 15}), meeting)
    found = slots([buffered], "2026-06-01T11:00:00Z", "2026-06-01T14:30:00Z", interval=15)
    starts = [start.strftime("%H:%M") for start, _ in found.slots]
    assert starts == ["11:00", "11:15", "13:15", "13:30", "13:45", "14:00"]
    issues = time_issues(buffered, start=utc("2026-06-01T13:00:00Z"), end=utc("2026-06-01T13:30:00Z"), now=LONG_AGO)
    assert issues == ["buffer"]


def test_time_block_buffer_frees_minutes_after_a_run_of_back_to_back_meetings():
    meeting = [Occurrence(utc("2026-06-01T10:00:00Z"), utc("2026-06-01T10:30:00Z"))]
    block = rules(buffers={"bufferType": "timeBlock", "bufferLength": 15, "bufferBlockLength": 60})
    person = Participant(ZoneInfo("UTC"), block, meeting)
    found = slots([person], "2026-06-01T09:00:00Z", "2026-06-01T12:00:00Z", interval=15)
    starts = [start.strftime("%H:%M") for start, _ in found.slots]
    # 09:30 and 10:30 join the 30-minute meeting into a 60-minute run (allowed); 09:00-09:30 and 09:15-09:45
    # end 30 and 15 minutes before it, and 10:45 starts 15 after it: breaks (only a shorter pause joins).
    assert starts == ["09:00", "09:15", "09:30", "10:30", "10:45", "11:00", "11:15", "11:30"]
    longer = slots([person], "2026-06-01T09:00:00Z", "2026-06-01T12:00:00Z", interval=15, duration=60)
    # a 60-minute slot joining the meeting would make a 90-minute run: it must keep 15 minutes away
    assert [start.strftime("%H:%M") for start, _ in longer.slots] == ["10:45", "11:00"]
    run_of_an_hour = Participant(ZoneInfo("UTC"), block,
                                 [Occurrence(utc("2026-06-01T09:00:00Z"), utc("2026-06-01T10:00:00Z"))])
    assert time_issues(run_of_an_hour, start=utc("2026-06-01T10:00:00Z"), end=utc("2026-06-01T10:30:00Z"),
                       now=LONG_AGO) == ["buffer"]
    assert time_issues(run_of_an_hour, start=utc("2026-06-01T10:15:00Z"), end=utc("2026-06-01T10:45:00Z"),
                       now=LONG_AGO) == []


def test_daily_meeting_limit_counts_busy_minutes_of_the_local_day():
    busy = [Occurrence(utc("2026-06-01T09:00:00-04:00"), utc("2026-06-01T10:30:00-04:00"))]
    person = Participant(ZoneInfo("America/New_York"), rules(buffers={"dailyMeetingLimit": 120}), busy)
    window = ("2026-06-01T00:00:00-04:00", "2026-06-02T00:00:00-04:00")
    assert len(slots([person], *window, duration=30).slots) == 13  # 90 + 30 <= 120
    found = slots([person], *window, duration=60)  # 90 + 60 > 120: nothing on that day
    assert found.slots == [] and found.empty_reason == "daily_limit_reached"
    assert time_issues(person, start=utc("2026-06-01T14:00:00-04:00"), end=utc("2026-06-01T15:00:00-04:00"),
                       now=LONG_AGO) == ["daily_limit"]


# -- several participants --------------------------------------------------------------------------------

def test_three_participants_in_three_zones_get_only_common_free_working_time():
    new_york = Participant(ZoneInfo("America/New_York"), rules())  # 13:00-21:00Z in June
    london = Participant(ZoneInfo("Europe/London"), rules(),  # 08:00-16:00Z
                         [Occurrence(utc("2026-06-01T13:00:00Z"), utc("2026-06-01T14:00:00Z"))])
    sao_paulo = Participant(ZoneInfo("America/Sao_Paulo"), rules())  # 12:00-20:00Z
    found = slots([new_york, london, sao_paulo], "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z")
    assert [start.strftime("%H:%M") for start, _ in found.slots] == ["14:00", "14:30", "15:00", "15:30"]
    kolkata = Participant(ZoneInfo("Asia/Kolkata"), rules())  # 03:30-11:30Z: no common hour with New York
    assert slots([new_york, kolkata], "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z").empty_reason == \
        "no_working_hours"


# -- the window, notice, limit and why nothing is left ---------------------------------------------------

def test_empty_reasons_name_the_first_stage_that_left_no_slot():
    now = utc("2026-06-10T12:00:00Z")
    free = Participant(ZoneInfo("UTC"), rules())
    assert slots([free], "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", now=now).empty_reason == "window_in_past"
    weekend = Participant(ZoneInfo("UTC"), rules(availability={"workingHours": {"SA": [], "SU": []}}))
    assert slots([weekend], "2026-06-13T00:00:00Z", "2026-06-15T00:00:00Z", now=now).empty_reason == \
        "no_working_hours"
    booked = Participant(ZoneInfo("UTC"), rules(), [Occurrence(utc("2026-06-11T08:00:00Z"),
                                                               utc("2026-06-11T18:00:00Z"))])
    assert slots([booked], "2026-06-11T00:00:00Z", "2026-06-12T00:00:00Z", now=now).empty_reason == "fully_booked"


def test_minimum_notice_and_limit_bound_the_slots():
    now = utc("2026-06-10T12:10:00Z")
    free = Participant(ZoneInfo("UTC"), rules())
    found = slots([free], "2026-06-10T00:00:00Z", "2026-06-11T00:00:00Z", now=now, notice=60, limit=3)
    assert [start.strftime("%H:%M") for start, _ in found.slots] == ["13:30", "14:00", "14:30"]
    assert found.empty_reason is None
    assert time_issues(free, start=utc("2026-06-10T12:00:00Z"), end=utc("2026-06-10T12:30:00Z"), now=now) == [
        "in_past"]
    assert time_issues(free, start=utc("2026-06-10T18:00:00Z"), end=utc("2026-06-10T18:30:00Z"), now=now) == [
        "outside_working_hours"]
