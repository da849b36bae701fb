"""Cron schedules of cron workflows: the standard five fields, descriptors and ``@every``.

Only what computing "the next run time" needs. Times are UTC unless the schedule starts
with ``CRON_TZ=<zone>`` (or ``TZ=<zone>``), an IANA zone name; then the fields are that
zone's wall-clock times, as on Temporal. Where clocks change, a wall time that does not
exist that day is skipped, and one that happens twice fires both times. The backoff
before a cron run is rounded up to whole seconds, which is what the reference records.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gnomon.server.errors import InvalidArgumentError

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]  # minute hour day-of-month month day-of-week
_NAMES = [
    {},
    {},
    {},
    {
        m: i + 1
        for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
    },
    {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
]
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_SEARCH_LIMIT = timedelta(days=366 * 5)
# Go's time.Duration (which the reference parses @every into) ends at 2^63-1 ns, ~292 years.
_MAX_EVERY_SECONDS = (2**63 - 1) / 1e9
# IANA zone names: letters, digits and a few separators, 14 characters per part at most in
# the database, far fewer than this; anything else is refused before it reaches the files.
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]{1,64}(/[A-Za-z0-9_+\-]{1,64}){0,3}")
# When clocks go back, wall times already passed come round again: the search for the next
# run starts this far before the wall time of "now" (no zone has moved by more than 2 h).
_CLOCK_CHANGE_LIMIT = timedelta(hours=3)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule: either a fixed interval or five sets of allowed values."""

    every: float = 0.0
    fields: tuple[frozenset[int], ...] = ()
    day_of_month_any: bool = True
    day_of_week_any: bool = True
    zone: tzinfo = UTC

    def next_after(self, now: float) -> float:
        """The first schedule time strictly after ``now`` (epoch seconds)."""
        if self.every:
            # Like robfig/cron's @every: whole seconds from now, plus the interval.
            return math.floor(now) + self.every
        # The fields are matched against naive wall-clock times of the zone; each match is
        # then turned into the instants it names (none, one, or two around a clock change).
        wall = datetime.fromtimestamp(now, self.zone).replace(tzinfo=None, second=0, microsecond=0)
        moment = wall - _CLOCK_CHANGE_LIMIT if self.zone is not UTC else wall
        limit = moment + _SEARCH_LIMIT
        minutes, hours, days, months, weekdays = self.fields
        while moment < limit:
            if moment.month not in months:
                moment = (moment.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(moment, days, weekdays):
                moment = moment.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if moment.hour not in hours:
                moment = moment.replace(minute=0) + timedelta(hours=1)
                continue
            if moment.minute in minutes:
                later = [t for t in self._instants(moment) if t > now]
                if later:
                    return later[0]
            moment += timedelta(minutes=1)
        raise InvalidArgumentError("Invalid CronSchedule: it never fires.")

    def _instants(self, wall: datetime) -> list[float]:
        """The epoch times at which the zone's clocks show ``wall``, earliest first."""
        instants: list[float] = []
        for fold in (0, 1):
            aware = wall.replace(tzinfo=self.zone, fold=fold)
            # A wall time in a spring-forward gap does not survive the round trip.
            if aware.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) == wall:
                instant = aware.timestamp()
                if instant not in instants:
                    instants.append(instant)
        return sorted(instants)

    def _day_matches(self, moment: datetime, days: frozenset[int], weekdays: frozenset[int]) -> bool:
        dom = moment.day in days
        dow = (moment.isoweekday() % 7) in weekdays
        # Standard cron: if both fields are restricted, either may match.
        if not self.day_of_month_any and not self.day_of_week_any:
            return dom or dow
        return dom and dow

    def backoff(self, now: float) -> float:
        """Seconds to wait from ``now`` until the next run, rounded up to a whole second."""
        return float(math.ceil(self.next_after(now) - now))


def _shown(spec: str) -> str:
    """The schedule as an error message quotes it (cut short: a request may carry a huge one)."""
    return repr(spec if len(spec) <= 200 else spec[:200] + "...")


def parse(spec: str) -> CronSchedule:
    """Parse a cron_schedule string; InvalidArgumentError if it is malformed."""
    text = spec.strip()
    zone: tzinfo = UTC
    if text.startswith("CRON_TZ=") or text.startswith("TZ="):
        prefix, _, text = text.partition(" ")
        zone = _zone(prefix.split("=", 1)[1], spec)
        text = text.strip()
    text = _DESCRIPTORS.get(text.lower(), text)
    if text.startswith("@every "):
        return CronSchedule(every=_parse_duration(text.removeprefix("@every ").strip(), spec))
    parts = text.split()
    if len(parts) != 5:
        raise InvalidArgumentError(f"Invalid CronSchedule {_shown(spec)}: expected 5 fields, got {len(parts)}.")
    fields = tuple(_parse_field(part, i, spec) for i, part in enumerate(parts))
    return CronSchedule(
        fields=fields,
        day_of_month_any=parts[2] in ("*", "?"),
        day_of_week_any=parts[4] in ("*", "?"),
        zone=zone,
    )


def _zone(name: str, spec: str) -> tzinfo:
    if name in ("UTC", "Etc/UTC"):
        return UTC
    unknown = InvalidArgumentError(f"Invalid CronSchedule {_shown(spec)}: unknown time zone {name[:100]!r}.")
    if not _ZONE_NAME.fullmatch(name):
        raise unknown
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise unknown from None


def _parse_duration(text: str, spec: str) -> float:
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not 0 < total <= _MAX_EVERY_SECONDS:
        raise InvalidArgumentError(f"Invalid CronSchedule {_shown(spec)}: bad @every duration {text[:100]!r}.")
    return max(total, 1.0)


def _parse_field(part: str, index: int, spec: str) -> frozenset[int]:
    low, high = _RANGES[index]
    values: set[int] = set()
    for item in part.split(","):
        range_part, _, step_text = item.partition("/")
        step = _number(step_text, spec) if step_text else 1
        if step <= 0:
            raise InvalidArgumentError(f"Invalid CronSchedule {_shown(spec)}: bad step in {item!r}.")
        if range_part in ("*", "?"):
            start, end = low, high
        elif "-" in range_part:
            a, b = range_part.split("-", 1)
            start, end = _value(a, index, spec), _value(b, index, spec)
        else:
            start = _value(range_part, index, spec)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise InvalidArgumentError(f"Invalid CronSchedule {_shown(spec)}: {item!r} is out of range.")
        values.update(range(start, end + 1, step))
    if index == 4 and 7 in values:
        values.add(0)  # both 0 and 7 mean Sunday
    return frozenset(values)


def _value(text: str, index: int, spec: str) -> int:
    name = text.lower()
    if name in _NAMES[index]:
        return _NAMES[index][name]
    value = _number(text, spec)
    return 0 if index == 4 and value == 7 else value


def _number(text: str, spec: str) -> int:
    # Every field's values are below 100; a longer number is out of range anyway (and Python
    # refuses to convert one of thousands of digits).
    if not text.isdecimal() or len(text) > 6:
        raise InvalidArgumentError(f"Invalid CronSchedule {_shown(spec)}: {text[:100]!r} is not a number in range.")
    return int(text)
