"""The pages' arithmetic: changes, bars, salt periods, ranges, chart geometry; and the
dashboard's settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from privalytics import bootstrap
from privalytics.adapters.http.dashboard.views import (
    bar,
    change,
    chart,
    choose,
    salt_windows,
)
from privalytics.config import Settings, load_settings
from privalytics.domain.errors import ConfigError, InvalidInput
from privalytics.domain.models import Bucket, TimeRange

T0 = datetime(2026, 1, 10, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "previous", "text", "kind"),
    [
        (0, 0, "no change", "flat"),
        (5, 0, "new", "up"),
        (150, 100, "+50%", "up"),
        (50, 100, "\u221250%", "down"),
        (1001, 1000, "no change", "flat"),
    ],
)
def test_change_against_the_previous_period(
    current: int, previous: int, text: str, kind: str
) -> None:
    assert change(current, previous) == (text, kind)


def test_bars_are_percent_of_the_largest_something_is_never_hidden_nothing_has_none() -> None:
    assert [bar(n, 200) for n in (200, 100, 1, 0)] == [100, 50, 1, 0]
    assert bar(3, 0) == 0


@pytest.mark.parametrize(
    ("start", "end", "days", "windows"),
    [
        (T0, T0 + timedelta(hours=1), 1, 1),
        (T0 - timedelta(hours=24), T0, 1, 2),
        (datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 1, 10, tzinfo=UTC), 1, 7),
        (T0 - timedelta(days=7), T0, 1, 8),
        (T0 - timedelta(days=30), T0, 30, 2),
    ],
)
def test_salt_windows_count_the_periods_a_range_touches(
    start: datetime, end: datetime, days: int, windows: int
) -> None:
    assert salt_windows(TimeRange(start=start, end=end), timedelta(days=days)) == windows


def test_custom_ranges_are_whole_utc_days_inclusive() -> None:
    choice = choose("custom", "2026-01-01", "2026-01-03")
    assert (choice.start, choice.end) == (date(2026, 1, 1), date(2026, 1, 3))
    assert choice.bounds() == (
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 4, tzinfo=UTC),
    )
    assert choice.query() == "period=custom&from=2026-01-01&to=2026-01-03"
    assert choose(None, None, None).name == "24h"
    with pytest.raises(InvalidInput) as caught:
        choose("custom", "2026-01-01", None)
    assert caught.value.field == "to"


def test_the_chart_spans_its_box_and_scales_to_a_round_top() -> None:
    series = [
        Bucket(start=T0 + timedelta(hours=n), visits=v, unique_visitors=u)
        for n, (v, u) in enumerate([(0, 0), (7, 3), (13, 9)])
    ]
    drawn = chart(series, "hour", width=1000, height=180)
    xs = [p.x for p in drawn.points]
    # Inside the box, edge to edge but for the room of a dot, in order.
    assert 0 < xs[0] < 20
    assert 980 < xs[-1] < 1000
    assert xs == sorted(xs)
    assert [p.percent for p in drawn.points] == [x / 10 for x in xs]
    assert drawn.y_labels == ["20", "10", "0"]
    assert drawn.points[0].y == drawn.height
    assert drawn.x_ticks[0].anchor == "start"
    assert drawn.x_ticks[-1].anchor == "end"
    assert chart([], "day").points == []


def test_hourly_ticks_name_the_date_when_the_day_changes() -> None:
    start = datetime(2026, 1, 9, 14, tzinfo=UTC)
    series = [
        Bucket(start=start + timedelta(hours=n), visits=1, unique_visitors=1) for n in range(24)
    ]
    ticks = chart(series, "hour").x_ticks
    assert 4 <= len(ticks) <= 7
    assert ticks[0].lines == ("14:00", "Jan 09")
    dated = [t.lines for t in ticks if len(t.lines) == 2]
    assert dated == [("14:00", "Jan 09"), (dated[1][0], "Jan 10")]
    assert int(dated[1][0][:2]) < 14  # the first label of the next day
    assert all(len(t.lines) == 1 for t in ticks if t.minor)


def test_daily_ticks_are_dates_with_the_year_first_and_when_it_changes() -> None:
    start = datetime(2025, 12, 20, tzinfo=UTC)
    series = [
        Bucket(start=start + timedelta(days=n), visits=n, unique_visitors=n) for n in range(30)
    ]
    ticks = chart(series, "day").x_ticks
    assert ticks[0].lines == ("Dec 20", "2025")
    assert [t.lines[1] for t in ticks if len(t.lines) == 2] == ["2025", "2026"]
    assert all(len(t.lines) == 1 for t in ticks if t.minor)


def test_session_and_live_urls_follow_the_rate_limiter_unless_set() -> None:
    settings = load_settings({"PRIVALYTICS_RATE_LIMIT_URL": "redis://127.0.0.1:6379/0"})
    options = bootstrap.dashboard_options(settings)
    assert isinstance(options.session_store, RedisStore)
    assert isinstance(options.channels, RedisChannelsPubSubBackend)
    memory = bootstrap.dashboard_options(load_settings({}))
    assert isinstance(memory.session_store, MemoryStore)
    assert isinstance(memory.channels, MemoryChannelsBackend)
    assert memory.secure_cookies is None
    mixed = bootstrap.dashboard_options(
        msgspec.structs.replace(settings, session_url="memory://", live_url="memory://")
    )
    assert isinstance(mixed.session_store, MemoryStore)
    assert isinstance(mixed.channels, MemoryChannelsBackend)


def test_the_composition_root_gives_each_dashboard_its_own_memory_backends() -> None:
    """The dashboard picks no backend itself: bootstrap passes this process's memory ones,
    new for each application it builds."""
    first, second = (bootstrap.dashboard_options(load_settings({})) for _ in range(2))
    assert isinstance(first.session_store, MemoryStore)
    assert isinstance(first.channels, MemoryChannelsBackend)
    assert first.session_store is not second.session_store
    assert first.channels is not second.channels


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"session_url": "mysql://x"}, "PRIVALYTICS_SESSION_URL: unsupported"),
        ({"live_url": "nonsense"}, "PRIVALYTICS_LIVE_URL: unsupported"),
        (
            {"workers": 2, "rate_limit_url": "redis://r:6379/0", "session_url": "memory://"},
            "needs PRIVALYTICS_SESSION_URL=redis",
        ),
    ],
)
def test_dashboard_urls_that_cannot_work_are_refused(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        bootstrap.check_dashboard(Settings(**fields))  # type: ignore[arg-type]


def test_cookie_secure_accepts_auto_true_false_only() -> None:
    assert load_settings({"PRIVALYTICS_COOKIE_SECURE": "true"}).cookie_secure == "true"
    with pytest.raises(ConfigError, match="PRIVALYTICS_COOKIE_SECURE"):
        load_settings({"PRIVALYTICS_COOKIE_SECURE": "sometimes"})
