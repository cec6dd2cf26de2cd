"""What the pages show, computed from the domain's Stats: ranges, changes, bars, the SVG
chart's geometry and the honest explanation of "unique visitors"; and what every page is
given besides (:class:`PageContext`).

Only numbers and shapes are computed here; every figure comes unchanged from
:meth:`Reporting.stats`, the same call the JSON API makes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from privalytics.domain.errors import InvalidInput
from privalytics.domain.hashing import window_of
from privalytics.domain.models import Bucket, TimeRange

if TYPE_CHECKING:
    from litestar.types import Scope

RANGES = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}
DAY = timedelta(days=1)
# Custom ranges: from the epoch (stored times start there) to well before datetime's end.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 30)


@dataclass(frozen=True, kw_only=True)
class PageContext:
    """What every page's template receives besides its own values."""

    rotation: timedelta
    # Where browsers reach this server (the snippet's address); None: from the request.
    public_url: str | None = None
    # Whether a request came over HTTPS (its scheme, or a trusted proxy's header).
    is_https: Callable[[Scope], bool] | None = None


@dataclass(frozen=True)
class Choice:
    """The range a page shows: a named period, or whole UTC days from..to (inclusive)."""

    name: str
    start: date | None = None
    end: date | None = None

    @property
    def label(self) -> str:
        if self.name == "custom" and self.start and self.end:
            return f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d} (UTC)"
        return RANGES[self.name]

    def query(self) -> str:
        if self.name == "custom" and self.start and self.end:
            return f"period=custom&from={self.start:%Y-%m-%d}&to={self.end:%Y-%m-%d}"
        return f"period={self.name}"

    def bounds(self) -> tuple[datetime, datetime] | None:
        """The custom range's instants (None for a named period)."""
        if self.name != "custom" or self.start is None or self.end is None:
            return None
        start = datetime.combine(self.start, time(), tzinfo=UTC)
        return start, datetime.combine(self.end, time(), tzinfo=UTC) + DAY


def _day(text: str | None, field: str) -> date:
    if not text:
        raise InvalidInput("a date (YYYY-MM-DD) is needed for a custom range", field=field)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("is not a date (YYYY-MM-DD)", field=field) from None


def choose(name: str | None, start: str | None, end: str | None) -> Choice:
    """The range of a page's query string; unknown names are a 400, not a default."""
    name = name or "24h"
    if name in RANGES:
        return Choice(name)
    if name != "custom":
        raise InvalidInput(f"must be one of {', '.join(RANGES)} or custom", field="period")
    first, last = _day(start, "from"), _day(end, "to")
    if first < FIRST_DAY:
        raise InvalidInput(f"must not be before {FIRST_DAY}", field="from")
    if last > LAST_DAY:
        raise InvalidInput(f"must not be after {LAST_DAY}", field="to")
    if last < first:
        raise InvalidInput("must not be before from", field="to")
    # How long a range may be is the domain's (reporting.MAX_SPAN), checked when the page
    # asks Reporting.span for the range, as the API does.
    return Choice("custom", first, last)


def change(current: int, previous: int) -> tuple[str, str]:
    """The change against the previous period, as text and a CSS class (up/down/flat)."""
    if previous == 0:
        return ("new", "up") if current else ("no change", "flat")
    percent = (current - previous) / previous * 100
    if abs(percent) < 0.5:
        return "no change", "flat"
    return f"{percent:+.0f}%".replace("-", "\u2212"), "up" if percent > 0 else "down"


def bar(count: int, largest: int) -> int:
    """A bar's width in percent of the largest; 0 for nothing, at least 1 for something."""
    if count <= 0 or largest <= 0:
        return 0  # nothing: no bar, not a sliver
    return max(1, round(count * 100 / largest))


def salt_windows(span: TimeRange, rotation: timedelta) -> int:
    """How many salt windows ``span`` touches: the most times one person can count."""
    last = span.end - timedelta(microseconds=1)
    return window_of(last, rotation) - window_of(span.start, rotation) + 1


def rotation_text(rotation: timedelta) -> str:
    days = rotation // DAY
    return "day" if days == 1 else f"{days} days"


def unique_explanation(span: TimeRange, rotation: timedelta) -> str:
    windows = salt_windows(span, rotation)
    period = rotation_text(rotation)
    head = (
        "Unique visitors are distinct visitor hashes. The hash mixes the visitor's address "
        f"and browser with a secret salt that changes every {period} (at 00:00 UTC) and is "
        "then deleted, so nobody can link visits across salts. "
    )
    if windows == 1:
        return head + (
            "This range lies within one salt period: each person counts once "
            "(people sharing an address and a browser count as one)."
        )
    return head + (
        f"This range spans {windows} salt periods: a person who comes back in a later "
        f"period is counted again, up to {windows} times. The number is an upper bound "
        "on people, not a count of people."
    )


@dataclass(frozen=True)
class Tick:
    """An x-axis label: where (percent of the plot's width), its lines (the time, then
    the date or year when it changes), how it is anchored, and whether a narrow screen
    may hide it (every other label)."""

    percent: float
    lines: tuple[str, ...]
    anchor: str = "middle"
    minor: bool = False


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    percent: float
    visits: int
    unique_visitors: int
    label: str


@dataclass(frozen=True)
class Chart:
    """An SVG chart that fits any width: the lines are drawn in a viewBox stretched to
    the plot's width (``width`` units) at a fixed height in pixels; dots and labels are
    placed in percent of the width, so they keep their shape and size."""

    width: int
    height: int
    visits: str
    unique_visitors: str
    area: str
    x_ticks: list[Tick]
    y_labels: list[str]
    grid: list[float]
    points: list[Point]
    # The previous period's unique visitors, step by step under this period's steps.
    previous: str = ""


MAX_TICKS = 7
# The plot's edges: points stay this far in, so the first and last dots are whole.
EDGE = 0.015


def _nice(largest: int) -> int:
    if largest <= 4:
        return 4
    magnitude = 10 ** math.floor(math.log10(largest))
    for step in (1, 2, 2.5, 5, 10):
        top = math.ceil(largest / (step * magnitude)) * step * magnitude
        if top / (step * magnitude) <= 5:
            return int(top)
    return largest  # pragma: no cover


def _tick_lines(start: datetime, previous: datetime | None, step: str) -> tuple[str, ...]:
    """Hours show their date on the first label and when the day changes; days show
    their year on the first label and when the year changes. All in UTC."""
    if step == "hour":
        new_day = previous is None or previous.date() != start.date()
        return (
            (start.strftime("%H:%M"), start.strftime("%b %d"))
            if new_day
            else (start.strftime("%H:%M"),)
        )
    new_year = previous is None or previous.year != start.year
    day = start.strftime("%b %d")
    return (day, str(start.year)) if new_year else (day,)


def chart(
    series: list[Bucket],
    step: str,
    *,
    previous: list[Bucket] | None = None,
    width: int = 1000,
    height: int = 180,
) -> Chart:
    """The geometry of the chart of visits and unique visitors per step (hour or day),
    with the previous period's unique visitors drawn under it when given (its n-th step
    under this period's n-th)."""
    earlier = (previous or [])[: len(series)]
    peak = _nice(
        max(
            [b.visits for b in series]
            + [b.unique_visitors for b in series]
            + [b.unique_visitors for b in earlier]
            + [0]
        )
    )
    count = max(len(series), 1)

    def fraction(i: int) -> float:
        return EDGE + (1 - 2 * EDGE) * (i / (count - 1) if count > 1 else 0.5)

    def x(i: int) -> float:
        return round(fraction(i) * width, 1)

    def y(value: int) -> float:
        return round(height - value * height / peak, 1)

    points = [
        Point(
            x=x(i),
            y=y(b.visits),
            percent=round(fraction(i) * 100, 2),
            visits=b.visits,
            unique_visitors=b.unique_visitors,
            label=b.start.strftime("%Y-%m-%d %H:%M UTC" if step == "hour" else "%Y-%m-%d"),
        )
        for i, b in enumerate(series)
    ]
    visits = " ".join(f"{p.x},{p.y}" for p in points)
    uniques = " ".join(f"{x(i)},{y(b.unique_visitors)}" for i, b in enumerate(series))
    area = f"{x(0)},{height} {visits} {x(count - 1)},{height}" if points else ""
    every = max(1, math.ceil(count / MAX_TICKS))
    chosen = [i for i in range(len(series)) if i % every == 0]
    x_ticks = []
    for n, i in enumerate(chosen):
        last_tick = series[chosen[n - 1]].start if n else None
        percent = round(fraction(i) * 100, 2)
        # The edge labels grow inwards, so the chart's edges do not cut them.
        anchor = "start" if percent < 8 else "end" if percent > 92 else "middle"
        lines = _tick_lines(series[i].start, last_tick, step)
        x_ticks.append(
            Tick(
                percent=percent,
                lines=lines,
                anchor=anchor,
                # Every other label may hide on a phone, not one that names a date.
                minor=n % 2 == 1 and len(lines) == 1,
            )
        )
    return Chart(
        width=width,
        height=height,
        visits=visits,
        unique_visitors=uniques,
        area=area,
        x_ticks=x_ticks,
        y_labels=[f"{v:,}" for v in (peak, peak // 2, 0)],
        grid=[0.0, height / 2, float(height)],
        points=points,
        previous=" ".join(f"{x(i)},{y(b.unique_visitors)}" for i, b in enumerate(earlier)),
    )
