"""Half-open intervals `[start, end)` of aware UTC datetimes, and wall-clock times made instants.

Lists are "normalised" when sorted by start with no two intervals overlapping or touching; every
function here takes and returns normalised lists (`merge` makes one).
"""
from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

UTC = dt_timezone.utc
Interval = tuple[datetime, datetime]
_SECOND = timedelta(seconds=1)


def wall_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant at which clocks in `zone` show `day` `at`.

    Why not simply `datetime.combine(...).replace(tzinfo=zone)`: a wall time skipped by a transition
    (02:30 on a spring-forward night) would become an instant after the transition, 30 minutes late
    and so a 30-minute shift of every range starting there. The rule instead: a wall time that does
    not exist starts at the first valid instant (the transition itself); an ambiguous one (fall back)
    is its first occurrence (PEP 495 `fold=0`).
    """
    naive = datetime.combine(day, at)
    late = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if late.astimezone(zone).replace(tzinfo=None) == naive:
        return late
    # In a gap: fold=0 read it with the offset before the transition (an instant after it), fold=1 with
    # the offset after it (an instant before it); the transition lies between, found to the second.
    early = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(early, late), max(early, late)
    offset_after = high.astimezone(zone).utcoffset()
    while high - low > _SECOND:
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)  # transitions fall on whole seconds


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return wall_instant(day, time(0, 0), zone)


def local_dates(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    """Every local date in `zone` that `[start, end]` touches, with one more day on each side, so that
    ranges of a neighbouring day that reach into the window are not missed."""
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined; empty ones dropped."""
    merged: list[list[datetime]] = []
    for start, end in sorted(interval for interval in intervals if interval[0] < interval[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def intersect(first: list[Interval], second: list[Interval]) -> list[Interval]:
    result, i, j = [], 0, 0
    while i < len(first) and j < len(second):
        start, end = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if start < end:
            result.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract(base: list[Interval], cuts: list[Interval]) -> list[Interval]:
    result, j = [], 0
    for start, end in base:
        while j < len(cuts) and cuts[j][1] <= start:
            j += 1
        k, cursor = j, start
        while k < len(cuts) and cuts[k][0] < end:
            if cuts[k][0] > cursor:
                result.append((cursor, cuts[k][0]))
            cursor = max(cursor, cuts[k][1])
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def expand(intervals: list[Interval], margin: timedelta) -> list[Interval]:
    """Each interval widened by `margin` on both sides (re-merged)."""
    return merge((start - margin, end + margin) for start, end in intervals) if margin else intervals


def overlapping(intervals: list[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The intervals of a normalised list that overlap `[start, end)` (bisection: lists can be long)."""
    index = max(bisect_right(intervals, (start, start)) - 1, 0)
    found = []
    while index < len(intervals) and intervals[index][0] < end:
        if intervals[index][1] > start:
            found.append(intervals[index])
        index += 1
    return found


def minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60
