"""Free slots and conflicts for one or many participants, as pure functions of the data handed in.

A participant is their timezone, their scheduling rules (`Rules`, read from the scheduling
preferences) and their busy occurrences. `Schedule` prepares one participant for a time window:

- working time: each local date's `workingHours` ranges made instants with the tz database
  (`intervals.wall_instant`), days off (`workingHolidays`) left out;
- blocked time: every busy occurrence (an all-day one: its local days, midnight to midnight in the
  participant's zone), widened by `bufferLength` on both sides when `bufferType` is `meeting`;
- meetings: the timed busy occurrences merged, for the `timeBlock` buffer and the daily limit.

`find_slots` intersects every participant's free time (collective), proposes starts aligned in the
requested zone, and keeps those that break no participant's time-block buffer or daily limit.
"""
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db.models import TextChoices

from .intervals import Interval, intersect, local_dates, local_midnight, merge, overlapping, subtract, wall_instant

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # date.weekday() order
_MINUTE = timedelta(minutes=1)


class BufferType(TextChoices):
    NONE = "none"
    MEETING = "meeting"
    TIME_BLOCK = "timeBlock"


class EmptyReason(TextChoices):
    WINDOW_IN_PAST = "window_in_past"
    NO_WORKING_HOURS = "no_working_hours"
    FULLY_BOOKED = "fully_booked"
    DAILY_LIMIT_REACHED = "daily_limit_reached"


class IssueReason(TextChoices):
    IN_PAST = "in_past"
    DAY_OFF = "day_off"
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    BUFFER = "buffer"
    DAILY_LIMIT = "daily_limit"


class Occurrence(NamedTuple):
    """A busy occurrence (the caller has already left out cancelled, free and declined ones).

    An all-day one carries its local dates, `end_date` exclusive as the providers send it. A named
    tuple: thousands are built per request, and a named tuple is built much faster than a frozen
    dataclass (bench/README.md).
    """

    start: datetime
    end: datetime
    all_day: bool = False
    start_date: date | None = None
    end_date: date | None = None


def occurrence_interval(occurrence: Occurrence, zone: ZoneInfo) -> Interval:
    """When the occurrence is busy for somebody in `zone`: an all-day one covers its local dates there."""
    if occurrence.all_day and occurrence.start_date and occurrence.end_date:
        return local_midnight(occurrence.start_date, zone), local_midnight(occurrence.end_date, zone)
    return occurrence.start, occurrence.end


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Rules:
    """The scheduling preferences that shape availability (`preferences.scheduling`, defaults merged in)."""

    working_hours: dict[int, list[tuple[time, time]]]
    holidays: frozenset[date] = frozenset()
    buffer_type: str = BufferType.NONE
    buffer_length: timedelta = timedelta(0)
    buffer_block_length: timedelta = timedelta(0)
    daily_limit: timedelta = timedelta(0)  # zero: no limit

    @classmethod
    def from_preferences(cls, scheduling: dict) -> "Rules":
        availability, buffers = scheduling["availability"], scheduling["buffers"]
        hours = availability["workingHours"]
        return cls(
            working_hours={index: [(_clock(r["start"]), _clock(r["end"])) for r in hours.get(day) or []]
                           for index, day in enumerate(WEEKDAYS)},
            holidays=frozenset(date.fromisoformat(day) for day in availability["workingHolidays"]),
            buffer_type=buffers["bufferType"], buffer_length=timedelta(minutes=buffers["bufferLength"]),
            buffer_block_length=timedelta(minutes=buffers["bufferBlockLength"]),
            daily_limit=timedelta(minutes=buffers["dailyMeetingLimit"]),
        )


@dataclass(frozen=True)
class Participant:
    zone: ZoneInfo
    rules: Rules
    occurrences: list[Occurrence] = field(default_factory=list)


class Schedule:
    """One participant prepared for the window `[start, end)`; see the module docstring."""

    def __init__(self, participant: Participant, start: datetime, end: datetime):
        self.zone, self.rules = participant.zone, participant.rules
        rules = self.rules
        days = local_dates(start, end, self.zone)
        self.working = intersect(merge(
            (wall_instant(day, begin, self.zone), wall_instant(day, finish, self.zone))
            for day in days if day not in rules.holidays for begin, finish in rules.working_hours[day.weekday()]
        ), [(start, end)])
        self.meetings = merge((o.start, o.end) for o in participant.occurrences if not o.all_day)
        all_day = [occurrence_interval(o, self.zone) for o in participant.occurrences if o.all_day]
        margin = rules.buffer_length if rules.buffer_type == BufferType.MEETING else timedelta(0)
        self.blocked = merge((s - margin, e + margin) for s, e in self.meetings + all_day)
        self.free = subtract(self.working, self.blocked)
        self.runs = self._runs() if self._time_blocks else []
        self.day_minutes: dict[date, timedelta] = {}
        if rules.daily_limit:
            for meeting_start, meeting_end in self.meetings:
                for day, part in self._split_by_day(meeting_start, meeting_end):
                    self.day_minutes[day] = self.day_minutes.get(day, timedelta(0)) + part

    @property
    def _time_blocks(self) -> bool:
        rules = self.rules
        return rules.buffer_type == BufferType.TIME_BLOCK and bool(rules.buffer_length and rules.buffer_block_length)

    def _runs(self) -> list[Interval]:
        """Back-to-back runs: meetings closer than `bufferLength` to each other join one run (a shorter
        pause is not a break)."""
        runs: list[list[datetime]] = []
        for start, end in self.meetings:
            if runs and start - runs[-1][1] < self.rules.buffer_length:
                runs[-1][1] = max(runs[-1][1], end)
            else:
                runs.append([start, end])
        return [(start, end) for start, end in runs]

    def _split_by_day(self, start: datetime, end: datetime) -> Iterator[tuple[date, timedelta]]:
        day = start.astimezone(self.zone).date()
        while True:
            next_midnight = local_midnight(day + timedelta(days=1), self.zone)
            yield day, min(end, next_midnight) - start
            if end <= next_midnight:
                return
            start, day = next_midnight, day + timedelta(days=1)

    # -- checks of one proposed time --------------------------------------------------------------
    def breaks_time_block(self, start: datetime, end: datetime) -> bool:
        """`timeBlock`: the time may join runs of meetings (less than `bufferLength` away) only while the
        run it forms lasts at most `bufferBlockLength`, its own duration included."""
        if not self._time_blocks:
            return False
        joined = overlapping(self.runs, start - self.rules.buffer_length, end + self.rules.buffer_length)
        if not joined:
            return False
        return max(end, joined[-1][1]) - min(start, joined[0][0]) > self.rules.buffer_block_length

    def within_meeting_buffer(self, start: datetime, end: datetime) -> bool:
        """`meeting`: the time comes closer than `bufferLength` to a meeting it does not overlap."""
        margin = self.rules.buffer_length
        if self.rules.buffer_type != BufferType.MEETING or not margin:
            return False
        near = overlapping(self.meetings, start - margin, end + margin)
        return any(not (meeting_start < end and meeting_end > start) for meeting_start, meeting_end in near)

    def exceeds_daily_limit(self, start: datetime, end: datetime) -> bool:
        """Busy minutes already on each local day the time touches, plus its own minutes not already
        busy, must stay within `dailyMeetingLimit`."""
        if not self.rules.daily_limit:
            return False
        for day, part in self._split_by_day(start, end):
            day_end = start + part
            already = sum((min(e, day_end) - max(s, start) for s, e in overlapping(self.meetings, start, day_end)),
                          timedelta(0))
            if self.day_minutes.get(day, timedelta(0)) + part - already > self.rules.daily_limit:
                return True
            start = day_end
        return False

    def is_day_off(self, start: datetime, end: datetime) -> bool:
        return any(day in self.rules.holidays for day, _ in self._split_by_day(start, end))

    def within_working_hours(self, start: datetime, end: datetime) -> bool:
        return any(s <= start and end <= e for s, e in overlapping(self.working, start, end))


def aligned_starts(free: list[Interval], duration: timedelta, interval: int, zone: ZoneInfo) -> Iterator[datetime]:
    """Starts `t` with `[t, t + duration)` inside a free interval and the wall clock of `zone` at `t` a
    multiple of `interval` minutes after local midnight (so from the hour when it divides 60).

    Stepping by `interval` and re-aligning whenever the wall clock is off keeps slots on the grid
    across a DST change and across midnight when 1440 is no multiple of `interval`.
    """
    step = timedelta(minutes=interval)
    for begin, finish in free:
        moment = begin.replace(second=0, microsecond=0)
        if moment < begin:
            moment += _MINUTE
        while moment + duration <= finish:
            local = moment.astimezone(zone)
            off = (local.hour * 60 + local.minute) % interval
            if off:
                moment += timedelta(minutes=interval - off)
                continue
            yield moment
            moment += step


@dataclass
class Availability:
    slots: list[Interval]
    empty_reason: str | None


def find_slots(participants: list[Participant], *, start: datetime, end: datetime, now: datetime,
               duration: timedelta, interval: int, zone: ZoneInfo, minimum_notice: timedelta,
               limit: int) -> Availability:
    """Collective slots: every participant free and within their working hours.

    `empty_reason` names the first stage that left nothing: the window after the notice
    (`window_in_past`), working hours of all participants together (`no_working_hours`), busy time and
    buffers (`fully_booked`), then daily limits (`daily_limit_reached`).
    """
    window_start = max(start, now + minimum_notice)
    if window_start > start and window_start + duration > end:
        return Availability([], EmptyReason.WINDOW_IN_PAST)
    if window_start >= end:
        return Availability([], EmptyReason.NO_WORKING_HOURS)
    schedules = [Schedule(participant, window_start, end) for participant in participants]
    working = free = [(window_start, end)]
    for schedule in schedules:
        working, free = intersect(working, schedule.working), intersect(free, schedule.free)
    if next(aligned_starts(working, duration, interval, zone), None) is None:
        return Availability([], EmptyReason.NO_WORKING_HOURS)
    slots: list[Interval] = []
    fitted = False
    for slot_start in aligned_starts(free, duration, interval, zone):
        slot_end = slot_start + duration
        if any(schedule.breaks_time_block(slot_start, slot_end) for schedule in schedules):
            continue
        fitted = True
        if any(schedule.exceeds_daily_limit(slot_start, slot_end) for schedule in schedules):
            continue
        slots.append((slot_start, slot_end))
        if len(slots) == limit:
            break
    if slots:
        return Availability(slots, None)
    return Availability([], EmptyReason.DAILY_LIMIT_REACHED if fitted else EmptyReason.FULLY_BOOKED)


def time_issues(participant: Participant, *, start: datetime, end: datetime, now: datetime) -> list[str]:
    """Why `[start, end)` does not suit the participant by the rules, besides overlapping events (the
    caller lists those): in the past, on a day off (then not also reported outside working hours),
    outside working hours, inside a buffer, over the daily limit."""
    schedule = Schedule(participant, start, end)
    issues = []
    if start < now:
        issues.append(IssueReason.IN_PAST)
    if schedule.is_day_off(start, end):
        issues.append(IssueReason.DAY_OFF)
    elif not schedule.within_working_hours(start, end):
        issues.append(IssueReason.OUTSIDE_WORKING_HOURS)
    if schedule.within_meeting_buffer(start, end) or schedule.breaks_time_block(start, end):
        issues.append(IssueReason.BUFFER)
    if schedule.exceeds_daily_limit(start, end):
        issues.append(IssueReason.DAILY_LIMIT)
    return [str(issue) for issue in issues]
