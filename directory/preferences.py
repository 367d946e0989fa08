"""The typed per-skill preferences: their defaults, their strict input schemas and how they merge.

Storage is sparse (only what was set, see IdentifierPreferences); every read is defaults deep-merged
with what is stored, so GET always answers the full structure. A PUT is validated strictly (unknown
keys refused, field paths named) and deep-merged into what was stored: objects merge key by key,
lists and scalars replace, so `workingHours.MO` replaces Monday only.
"""
import copy
import datetime
import re

from rest_framework import serializers

from tskr.api.exception_handler import flatten_details
from tskr.api.serializers import StrictKeysSerializer
from tskr.exceptions import NotFound

from .models import IdentifierPreferences
from .validation import validation_failed

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_NINE_TO_FIVE = [{"start": "09:00", "end": "17:00"}]

DEFAULTS: dict[str, dict] = {
    "scheduling": {
        "availability": {
            "workingHours": {day: copy.deepcopy(_NINE_TO_FIVE) if day not in {"SA", "SU"} else [] for day in DAYS},
            "workingHolidays": [],
        },
        "defaults": {
            "virtual": {"duration": 30, "defaultMeetingLink": None, "conferenceSolution": None},
            "inPerson": {"duration": 60, "defaultLocation": None},
            "supervision": "supervised",
        },
        "calendars": {"read": [], "write": []},
        "buffers": {"bufferType": "none", "bufferLength": 0, "bufferBlockLength": 0, "dailyMeetingLimit": 0},
    },
    "reminders": {
        "level": "all-events",
        "email": {"enabled": True, "inPersonMinutes": 30, "virtualMinutes": 10},
        "slack": {"enabled": False, "inPersonMinutes": 30, "virtualMinutes": 2},
        "teams": {"enabled": False, "inPersonMinutes": 30, "virtualMinutes": 2},
    },
    "followups": {"enabled": True, "count": 2, "interval": 4320},
    "travel": {"seatPreference": None, "cabinClass": "economy", "mealPreference": None, "airlinePreferences": []},
}
SKILLS = tuple(DEFAULTS)

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


# -- strict input schemas ------------------------------------------------------------------------

class StrictSerializer(StrictKeysSerializer):
    """A part of a skill's preferences: every key optional, since a PUT changes only what it names."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for child in self.fields.values():
            child.required = False


class Minutes(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 525_600)
        super().__init__(**kwargs)


class TimeRangeSerializer(StrictKeysSerializer):
    start = serializers.RegexField(_HH_MM, error_messages={"invalid": "Must be a time HH:MM (00:00-23:59)"})
    end = serializers.RegexField(_HH_MM, error_messages={"invalid": "Must be a time HH:MM (00:00-23:59)"})

    def validate(self, attrs):
        if attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"end": ["Must be after start"]})
        return attrs


class DayRangesField(serializers.ListField):
    """The ranges of one day: each start < end, and no two ranges overlapping."""

    def __init__(self, **kwargs):
        super().__init__(child=TimeRangeSerializer(), max_length=24, **kwargs)

    def to_internal_value(self, data):
        ranges = super().to_internal_value(data)
        ordered = sorted(ranges, key=lambda r: r["start"])
        for earlier, later in zip(ordered, ordered[1:]):
            if later["start"] < earlier["end"]:
                raise serializers.ValidationError(
                    f"Ranges {earlier['start']}-{earlier['end']} and {later['start']}-{later['end']} overlap")
        return ordered


class WorkingHoursSerializer(StrictSerializer):
    MO, TU, WE, TH, FR, SA, SU = (DayRangesField() for _ in DAYS)


class HolidayField(serializers.CharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            datetime.date.fromisoformat(value)
        except ValueError:
            raise serializers.ValidationError("Must be a date YYYY-MM-DD") from None
        return value


class AvailabilitySerializer(StrictSerializer):
    workingHours = WorkingHoursSerializer(help_text="MO..SU: lists of {start, end} HH:MM ranges, start < end, "
                                                    "not overlapping")
    workingHolidays = serializers.ListField(child=HolidayField(), max_length=366, help_text="Dates YYYY-MM-DD")


class VirtualDefaultsSerializer(StrictSerializer):
    duration = Minutes(min_value=1)
    defaultMeetingLink = serializers.URLField(max_length=1000, allow_null=True)
    conferenceSolution = serializers.ChoiceField(choices=["zoom", "meet", "teams"], allow_null=True)


class InPersonDefaultsSerializer(StrictSerializer):
    duration = Minutes(min_value=1)
    defaultLocation = serializers.CharField(max_length=500, allow_null=True, allow_blank=True)


class MeetingDefaultsSerializer(StrictSerializer):
    virtual = VirtualDefaultsSerializer()
    inPerson = InPersonDefaultsSerializer()
    supervision = serializers.ChoiceField(choices=["supervised", "unsupervised"])


class CalendarWriteField(serializers.ListField):
    """One calendar referenceId to write to: a string or a list of at most one (stored as a list)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=500), max_length=1, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [data]
        if isinstance(data, list) and len(data) > 1:
            raise serializers.ValidationError("Only one calendar can be written to")
        return super().to_internal_value(data)


class CalendarsSerializer(StrictSerializer):
    read = serializers.ListField(child=serializers.CharField(max_length=500), max_length=100,
                                 help_text="Calendar referenceIds to read availability from")
    write = CalendarWriteField(help_text="The one calendar referenceId to write to (a string or a one-element "
                                         "list; answered as a list)")


class BuffersSerializer(StrictSerializer):
    bufferType = serializers.ChoiceField(choices=["none", "meeting", "timeBlock"])
    bufferLength = Minutes()
    bufferBlockLength = Minutes()
    dailyMeetingLimit = Minutes(help_text="Minutes per day, 0 = no limit")


class SchedulingPreferencesSerializer(StrictSerializer):
    availability = AvailabilitySerializer()
    defaults = MeetingDefaultsSerializer()
    calendars = CalendarsSerializer()
    buffers = BuffersSerializer()


class ReminderChannelSerializer(StrictSerializer):
    enabled = serializers.BooleanField()
    inPersonMinutes = Minutes(help_text="Minutes before an in-person event")
    virtualMinutes = Minutes(help_text="Minutes before a virtual event")


class RemindersPreferencesSerializer(StrictSerializer):
    level = serializers.ChoiceField(choices=["all-events", "tskr-events", "none"])
    email = ReminderChannelSerializer()
    slack = ReminderChannelSerializer()
    teams = ReminderChannelSerializer()


class FollowupsPreferencesSerializer(StrictSerializer):
    enabled = serializers.BooleanField()
    count = serializers.IntegerField(min_value=0, max_value=5, help_text="Follow-up attempts, 0-5")
    interval = Minutes(help_text="Minutes between follow-ups")


class TravelPreferencesSerializer(StrictSerializer):
    seatPreference = serializers.ChoiceField(choices=["aisle", "window", "middle"], allow_null=True)
    cabinClass = serializers.ChoiceField(choices=["economy", "premium_economy", "business", "first"])
    mealPreference = serializers.CharField(max_length=200, allow_null=True, allow_blank=True)
    airlinePreferences = serializers.ListField(
        child=serializers.RegexField(r"^[A-Z0-9]{2,3}$", error_messages={"invalid": "Must be an IATA/ICAO code"}),
        max_length=50, help_text="Airline codes, e.g. UA")


SKILL_SERIALIZERS: dict[str, type[StrictSerializer]] = {
    "scheduling": SchedulingPreferencesSerializer,
    "reminders": RemindersPreferencesSerializer,
    "followups": FollowupsPreferencesSerializer,
    "travel": TravelPreferencesSerializer,
}


# -- reading and merging ---------------------------------------------------------------------------

def validated_skill_values(skill: str, values) -> dict:
    """`values` for `skill` validated strictly; a 400 whose `details` name paths under `preferences`."""
    ensure_skill(skill)
    serializer = SKILL_SERIALIZERS[skill](data=values)
    if not serializer.is_valid():
        raise validation_failed(flatten_details({"preferences": serializer.errors}))
    return serializer.validated_data


def ensure_skill(skill: str) -> None:
    if skill not in DEFAULTS:
        raise NotFound(f"Unknown skill '{skill}'; known skills: {', '.join(SKILLS)}", error_code="unknown_skill")


def deep_merge(base: dict, changes: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def skill_view(data: dict, skill: str) -> dict:
    """The full preferences of one skill: defaults with what is stored merged in."""
    return deep_merge(DEFAULTS[skill], data.get(skill, {}))


def all_view(data: dict) -> dict:
    return {skill: skill_view(data, skill) for skill in SKILLS}


def document(identifier, stored: IdentifierPreferences | None) -> dict:
    """`GET /identifiers/:id/preferences`: every skill in full; id and timestamps null until something is set."""
    return {
        "id": stored.id if stored else None,
        "account": identifier.account_id,
        "userIdentifier": identifier.id,
        "preferences": all_view(stored.data if stored else {}),
        "createdAt": stored.created_at if stored else None,
        "updatedAt": stored.updated_at if stored else None,
    }
