"""When a reminder or follow-up request says it should happen: "tomorrow at 9am", "on Friday", "in 2 hours".

A pure function of the text, the moment of the request and the owner's zone (no database), so both engines'
callers and the task's continuation use the same rules:
- a time ("at 3pm", "in 2 hours", "tonight") is that local time;
- a date alone ("on Friday", "December 3", "next week") means 09:00 that day;
- a time alone ("at 5pm") is the next such time: today, or tomorrow once it has passed;
- nothing recognisable: None (the request needs a clarification).
The answer is a local wall time (naive, in the owner's zone): the schedule keeps it, so it stays the same
wall time across a DST change.
"""
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser
from dateparser.search import search_dates

from .local import mentions_time

#: A date alone reminds at this local time.
DEFAULT_TIME = time(9, 0)
_CLOCK = re.compile(r"^(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.I)
_DATE_PERIODS = {"day", "week", "month", "year"}


def _settings(base: datetime) -> dict:
    return {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future", "RETURN_TIME_AS_PERIOD": True}


def _clock(phrase: str) -> time | None:
    """A bare clock time ("5pm", "at 10:30"); dateparser puts those on a wrong day."""
    match = _CLOCK.match(phrase.strip())
    if not match:
        return None
    hour, minute, meridiem = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    return time(hour, minute) if hour < 24 and minute < 60 else None


def _in_context(text: str, phrase: str) -> str:
    """The phrase with what follows it in the text: "Sun" is a day in "Sun 3pm", a name in "Sun Li"."""
    start = text.find(phrase)
    return phrase if start < 0 else text[start:start + len(phrase) + 12]


def reminder_time(text: str, *, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The local wall time (naive, in `zone`) `text` asks for, measured from `now`; None when it names none."""
    base = now.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    found = search_dates(text, languages=["en"], settings=_settings(base)) or []
    phrases = [phrase for phrase, _ in found if mentions_time(_in_context(text, phrase))]
    if not phrases:
        return None
    parser = DateDataParser(languages=["en"], settings=_settings(base))
    clock = next((value for value in map(_clock, phrases) if value is not None), None)
    for phrase in phrases:
        if _clock(phrase) is not None:
            continue
        data = parser.get_date_data(phrase)
        if data.date_obj is None:
            continue
        if data.period in _DATE_PERIODS:
            return datetime.combine(data.date_obj.date(), clock or DEFAULT_TIME)
        return data.date_obj.replace(tzinfo=None, second=0, microsecond=0)
    if clock is None:
        return None
    today = datetime.combine(base.date(), clock)
    return today if today > base else today + timedelta(days=1)
