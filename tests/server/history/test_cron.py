"""Cron schedules in a time zone (CRON_TZ=): wall-clock fields, and days when clocks change.

The offsets were checked against the reference dev server, which gave the same next run
for ``CRON_TZ=Asia/Kolkata 0 9 * * *`` and ``CRON_TZ=America/New_York 0 9 * * *`` as
these rules. The clock-change days follow robfig/cron, which the reference uses: a wall
time that does not exist is skipped that day, and one that happens twice fires twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gnomon.server.errors import InvalidArgumentError
from gnomon.server.history import cron


def _utc(*fields: int) -> float:
    return datetime(*fields, tzinfo=UTC).timestamp()


def _next_utc(spec: str, now: float) -> datetime:
    return datetime.fromtimestamp(cron.parse(spec).next_after(now), UTC)


def test_fields_are_wall_clock_times_of_the_zone() -> None:
    now = _utc(2026, 11, 22, 1, 56)
    # India is UTC+5:30 all year: 09:00 there is 03:30 UTC.
    assert _next_utc("CRON_TZ=Asia/Kolkata 0 9 * * *", now) == datetime(2026, 11, 22, 3, 30, tzinfo=UTC)
    assert _next_utc("TZ=Asia/Kolkata 0 * * * *", now) == datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
    assert _next_utc("CRON_TZ=Asia/Kolkata @hourly", now) == datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
    # New York in winter is UTC-5.
    assert _next_utc("CRON_TZ=America/New_York 0 9 * * *", now) == datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
    # UTC and no prefix agree.
    assert _next_utc("CRON_TZ=UTC 0 * * * *", now) == _next_utc("0 * * * *", now)


def test_a_wall_time_in_the_spring_forward_gap_is_skipped_that_day() -> None:
    # New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT, so 02:30 does not happen.
    spec = "CRON_TZ=America/New_York 30 2 * * *"
    after_the_7th = _utc(2026, 3, 7, 17, 0)  # 12:00 EST on the 7th
    assert _next_utc(spec, after_the_7th) == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)  # 02:30 EDT on the 9th
    # The other hours of that day are there as usual.
    assert _next_utc("CRON_TZ=America/New_York 30 3 * * *", after_the_7th) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_a_wall_time_that_happens_twice_fires_twice() -> None:
    # New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice.
    spec = "CRON_TZ=America/New_York 30 1 * * *"
    first = _next_utc(spec, _utc(2026, 11, 1, 4, 0))  # from midnight EDT
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = _next_utc(spec, first.timestamp())
    assert second == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert _next_utc(spec, second.timestamp()) == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Mars/Base", "asia/kolkata", "", "../etc"])
def test_an_unknown_zone_is_invalid(zone: str) -> None:
    with pytest.raises(InvalidArgumentError, match="time zone"):
        cron.parse(f"CRON_TZ={zone} 0 * * * *")
