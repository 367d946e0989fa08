"""Reading scheduling language: times, durations, windows and choices among proposed slots.

Pure functions of the text, a time zone and the message's time (no database), shared by the local
engine (which decides from them alone) and the agent (which reads a request's duration, window and
fixed time). Dates are read by `dateparser`, a maintained library, from the day phrases found in the
text ("next Tuesday", "tomorrow", "Dec 3"); clock times are read here, because a scheduling reply
means office hours: a bare "2:30" or "Thursday 11" is 2:30 pm and 11 am, where a general parser
reads 2:30 am or a date.

`read_when(text, zone=, now=)` -> `When` (a date and/or a time of day, or a part of the day);
`choose_slot(text, slots, zone=, now=)` -> the number of the slot a reply picks, or None;
`rejects_all(text)`: "none of these work"; `read_duration`, `read_meeting_type`, `read_window`;
`read_shift(text)`: how far a meeting moves ("push it back a week", "an hour earlier").
"""
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from .types import SlotOption

_WEEKDAY = r"(?:mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(?:day)?"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DAY_PHRASE = re.compile(
    rf"\b(?:(?:next|this|coming)\s+)?{_WEEKDAY}\b"
    r"|\b(?:the\s+)?day\s+after\s+tomorrow\b|\btoday\b|\btomorrow\b"
    rf"|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
    re.I)
_WEEKDAY_ONLY = re.compile(rf"(?:(?:next|this|coming)\s+)?{_WEEKDAY}", re.I)
#: A clock time: with am/pm, with minutes, or a bare hour after "at"/"@" or a day phrase ("Thursday 11").
_CLOCK = re.compile(
    r"\b(?P<h>\d{1,2})(?::(?P<m>[0-5]\d))?\s*(?P<ap>a\.?m\.?|p\.?m\.?)(?!\w)"
    r"|\b(?P<h2>\d{1,2}):(?P<m2>[0-5]\d)\b"
    rf"|(?:\bat\s+|@\s*|\b{_WEEKDAY}\s+)(?P<h3>\d{{1,2}})\b"
    rf"(?![:\d]|\s*(?:min|hour|hr|day|week|/|[ap]\.?m\b|st\b|nd\b|rd\b|th\b|(?:of\s+)?{_MONTH}))",
    re.I)
_NOON = re.compile(r"\b(noon|midday)\b", re.I)
_PARTS = {"morning": (time(9), time(12)), "afternoon": (time(12), time(17)), "evening": (time(17), time(20))}
_PART = re.compile(r"\b(morning|afternoon|evening)\b", re.I)

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5}
_BY_NUMBER = re.compile(r"\b(?:option|slot|choice|number|no\.?)\s*#?\s*(\d{1,2})\b|#\s*(\d{1,2})\b", re.I)
_BY_ORDINAL = re.compile(
    r"\bthe\s+(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b"
    r"|\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\s+(?:one|option|slot|time|choice)\b", re.I)
_REJECT = re.compile(
    r"\b(none|neither)\b[^.!?\n]{0,40}\b(work|works|suit|suits|good|possible|ok|okay|fit|fits)\b"
    r"|\b(none|neither) of (these|those|them)\b"
    r"|\b(can'?t|cannot|can not|won'?t)\s+(do|make)\s+(any|those|these|them|either)\b"
    r"|\b(other|different|alternative)\s+(times|slots|options|days)\b"
    r"|\b(these|those)\s+(times\s+)?(don'?t|do not)\s+work\b",
    re.I)

_DURATION_MINUTES = re.compile(r"\b(\d{1,3})\s*-?\s*(?:min|mins|minutes|minute)\b", re.I)
_DURATION_HOURS = re.compile(r"\b(\d{1,2}(?:\.\d)?|an|one|two)\s*-?\s*(?:hour|hours|hr|hrs)\b", re.I)
_HALF_HOUR = re.compile(r"\bhalf\s+an?\s+hour\b", re.I)
_IN_PERSON = re.compile(r"\b(in[\s-]person|face[\s-]to[\s-]face|coffee|lunch|dinner|breakfast|at (the|our|my|your) "
                        r"office|on[\s-]?site|in the office)\b", re.I)
_VIRTUAL = re.compile(r"\b(call|video|zoom|teams|google meet|virtual|online|phone)\b", re.I)
_NEXT_WEEK = re.compile(r"\bnext\s+week\b", re.I)
_THIS_WEEK = re.compile(r"\b(this|the\s+rest\s+of\s+the)\s+week\b", re.I)
_WEEKS = re.compile(r"\b(?:next|within|over the next|in the next)\s+(two|three|four|2|3|4)\s+weeks\b", re.I)
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}
#: A move by an amount: "back a week", "by 30 minutes", "an hour earlier", "a day later", "half an hour".
_SHIFT = re.compile(
    r"\b(?:(?P<dir1>back|forward|out|ahead)\s+(?:by\s+)?|by\s+)?"
    r"(?P<n>a|an|one|two|three|four|\d{1,3}|half\s+an?)\s*-?\s*(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?)"
    r"(?:\s+(?P<dir2>later|earlier|back|forward|sooner))?\b",
    re.I)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


@dataclass(frozen=True)
class When:
    """What a text says about a time: a day, a clock time, or a part of the day (any may be missing)."""

    day: date | None = None
    clock: time | None = None
    part: tuple[time, time] | None = None
    #: The day was named by its weekday alone ("Tuesday", "next Tuesday"): 0 (Monday) to 6, else None.
    weekday: int | None = None

    @property
    def instant(self) -> bool:
        """A precise moment: a day and a clock time."""
        return self.day is not None and self.clock is not None

    def at(self, zone: ZoneInfo) -> datetime | None:
        return datetime.combine(self.day, self.clock, tzinfo=zone) if self.instant else None


def _clock(match: re.Match) -> time | None:
    hour = match.group("h") or match.group("h2") or match.group("h3")
    minute = int(match.group("m") or match.group("m2") or 0)
    hour = int(hour)
    suffix = (match.group("ap") or "").lower().replace(".", "")
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    elif hour > 23:
        return None
    elif 1 <= hour <= 7:  # office hours: a bare "3" or "2:30" is in the afternoon
        hour += 12
    return time(hour, minute)


def _read_day(phrase: str, *, zone: ZoneInfo, now: datetime) -> date | None:
    local_now = now.astimezone(zone).replace(tzinfo=None)
    parsed = dateparser.parse(phrase, languages=["en"], settings={
        "RELATIVE_BASE": local_now, "PREFER_DATES_FROM": "future", "DATE_ORDER": "MDY",
        "RETURN_AS_TIMEZONE_AWARE": False})
    return parsed.date() if parsed else None


def read_when(text: str, *, zone: ZoneInfo, now: datetime) -> When:
    """The day, clock time and part of the day `text` names, read in `zone` relative to `now`.
    A clock time without a day is today's when still ahead, else tomorrow's (left to the caller:
    `day` stays None)."""
    day, weekday = None, None
    # a date named in full wins over the weekday beside it ("Monday 14 December" is the 14th)
    phrases = sorted((match.group(0) for match in _DAY_PHRASE.finditer(text)),
                     key=lambda phrase: bool(_WEEKDAY_ONLY.fullmatch(phrase)))
    for phrase in phrases:
        if (day := _read_day(phrase, zone=zone, now=now)) is not None:
            weekday = day.weekday() if _WEEKDAY_ONLY.fullmatch(phrase) else None
            break
    clock = next((found for match in _CLOCK.finditer(text) if (found := _clock(match)) is not None), None)
    if clock is None and _NOON.search(text):
        clock = time(12)
    part = _PARTS[_PART.search(text).group(1).lower()] if _PART.search(text) else None
    return When(day=day, clock=clock, part=part, weekday=weekday)


def rejects_all(text: str) -> bool:
    """The reply turns every proposed time down ("none of these work", "can we find other times?")."""
    return bool(_REJECT.search(text))


def choose_slot(text: str, slots: tuple[SlotOption, ...], *, zone: ZoneInfo, now: datetime) -> int | None:
    """The number of the slot a reply picks, read in `zone` (the zone the slots were written in):
    by number ("option 2", "#2"), by ordinal ("the second one", "the last one"), by day and time
    ("Wednesday at 2:30"), or by time alone or day alone when only one slot has it. None: no choice
    among these slots (maybe another time, see `read_when`)."""
    if not slots:
        return None
    numbers = {slot.number for slot in slots}
    if (match := _BY_NUMBER.search(text)) and int(match.group(1) or match.group(2)) in numbers:
        return int(match.group(1) or match.group(2))
    if match := _BY_ORDINAL.search(text):  # as listed: "the first one" is number 1, even once withdrawn
        word = (match.group(1) or match.group(2)).lower()
        number = slots[-1].number if word == "last" else _ORDINALS[word]
        return number if number in numbers else None
    when = read_when(text, zone=zone, now=now)
    local = [(slot, slot.start.astimezone(zone)) for slot in slots]

    def on_day(start: datetime) -> bool:
        """A weekday alone names the slot's weekday (the slots may be next week's); a date, that date."""
        return start.weekday() == when.weekday if when.weekday is not None else start.date() == when.day

    if when.day and when.clock:
        found = [slot for slot, start in local if on_day(start) and start.time() == when.clock]
    elif when.clock:
        found = [slot for slot, start in local if start.time() == when.clock]
    elif when.day:
        found = [slot for slot, start in local if on_day(start)
                 and (when.part is None or when.part[0] <= start.time() < when.part[1])]
    else:
        found = []
    return found[0].number if len(found) == 1 else None


def read_duration(text: str) -> int | None:
    """Minutes asked for ("30 minutes", "an hour", "1.5 hours", "half an hour"), or None."""
    if _HALF_HOUR.search(text):
        return 30
    if match := _DURATION_MINUTES.search(text):
        minutes = int(match.group(1))
        return minutes if 5 <= minutes <= 480 else None
    if match := _DURATION_HOURS.search(text):
        raw = match.group(1).lower()
        hours = _NUMBERS.get(raw) or float(raw)
        minutes = int(hours * 60)
        return minutes if 5 <= minutes <= 480 else None
    return None


def read_meeting_type(text: str) -> str | None:
    """`inPerson` for a coffee, a lunch or "in person"; `virtual` for a call; None: not said."""
    if _IN_PERSON.search(text):
        return "inPerson"
    if _VIRTUAL.search(text):
        return "virtual"
    return None


def read_shift(text: str) -> timedelta | None:
    """How far a meeting moves, when the text says so with a direction ("push it back a week", "30 minutes
    later", "bring it forward a day": negative); None when it names no amount moved by."""
    for match in _SHIFT.finditer(text):
        direction = (match.group("dir1") or match.group("dir2") or "").lower()
        if not direction and not text[max(0, match.start() - 3):match.start()].strip().lower().endswith("by"):
            if not re.search(r"\b(push|bump|move|shift|delay|postpone)\w*\s+(it|that|this|\w+)?\s*$",
                             text[:match.start()], re.I):
                continue
        raw = match.group("n").lower()
        amount = 0.5 if raw.startswith("half") else _NUMBERS.get(raw) or int(raw)
        step = _UNITS[match.group("unit")[0].lower()]
        sign = -1 if direction in ("forward", "earlier", "sooner") or re.search(
            r"\b(bring|pull)\b[^.?!]{0,15}$", text[:match.start()], re.I) else 1
        return sign * amount * step
    return None


def read_window(text: str, *, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime] | None:
    """The days a request names, as local midnights `[start, end)` in `zone`: "next week" (Monday to
    Friday), "this week", "the next two weeks", or one day ("Thursday", "tomorrow"). None: not said."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    if match := _WEEKS.search(text):
        weeks = _NUMBERS.get(match.group(1).lower()) or int(match.group(1))
        return _midnight(today, zone), _midnight(today + timedelta(weeks=weeks), zone)
    if _NEXT_WEEK.search(text):
        return _midnight(monday + timedelta(weeks=1), zone), _midnight(monday + timedelta(weeks=1, days=5), zone)
    if _THIS_WEEK.search(text):
        return _midnight(today, zone), _midnight(monday + timedelta(days=5), zone)
    day = read_when(text, zone=zone, now=now).day
    if day is not None:
        return _midnight(day, zone), _midnight(day + timedelta(days=1), zone)
    return None


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)
