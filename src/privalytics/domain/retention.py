"""Raw-event retention: how long events are kept, and what a read can still say of a
range whose events are gone.

Events older than the retention are deleted once a day (:class:`Expiry`). The per-day
rollups stay: a store brings a day's rollups up to date before it deletes the day's events,
and deleting expired events never marks a day stale (unlike an erase), so every unfiltered
figure of whole expired days stays what it was. What needs the events themselves (filters,
custom-event names and properties, an hourly series, the part of a day the range cuts,
distinct visitors under salt windows longer than a day) covers only the raw-backed part of
a range: :meth:`Retention.partial` says when an answer is in that case
(docs/data-lifecycle.md, Retention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import msgspec

from privalytics.domain.hashing import window_of
from privalytics.domain.models import TimeRange
from privalytics.domain.ports import Clock, EventStore

DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Days kept beyond the oldest event accepted and the salt window: clocks of several
# instances may differ, and a day's rollups are computed once it is over.
MARGIN_DAYS = 2
# Beyond this many days a retention is a typo (a hundred years).
MAX_DAYS = 36_525
# The documented recommendation: about 25 months.
RECOMMENDED_DAYS = 760


def minimum_days(salt_rotation: timedelta, max_event_age: timedelta) -> int:
    """The shortest retention accepted, in days: a whole salt window, the oldest event
    ingestion accepts, and :data:`MARGIN_DAYS`. Shorter, a late event could reach a day
    whose events were already deleted (its recomputed rollups would then lose the day's
    figures), or a salt window's visitors could be split between kept and deleted events."""
    return math.ceil(salt_rotation / DAY) + math.ceil(max_event_age / DAY) + MARGIN_DAYS


@dataclass(frozen=True)
class Retention:
    """How long raw events are kept: ``days`` (None: forever), under salt windows of
    ``salt_rotation``."""

    days: int | None = None
    salt_rotation: timedelta = field(default=DAY)

    def raw_from(self, now: datetime) -> datetime | None:
        """The earliest instant whose events are kept at ``now``; None when every event is
        kept. UTC midnight ``days`` days before today, moved back to the start of its
        salt window (a window's visitors are never split between kept and deleted
        events): at least ``days`` whole days are always kept."""
        if self.days is None:
            return None
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        cutoff = today - self.days * DAY
        return _EPOCH + window_of(cutoff, self.salt_rotation) * self.salt_rotation

    def partial(self, span: TimeRange, raw_from: datetime | None, *, raw: bool) -> bool:
        """Whether an answer over ``span`` covers only its part from ``raw_from`` on.

        ``raw``: the answer reads events (filters, a custom-event dimension, an hourly
        series). Otherwise it reads rollups over whole days, and loses only the cut part of
        a day before ``raw_from`` (the range starts or ends within such a day), or, under
        salt windows longer than a day, its distinct visitors (read from the events)."""
        if raw_from is None or span.start >= raw_from:
            return False
        if raw or self.salt_rotation != DAY:
            return True
        return not _midnight(span.start) or (span.end < raw_from and not _midnight(span.end))


def _midnight(moment: datetime) -> bool:
    return (moment - _EPOCH) % DAY == timedelta(0)


class Expired(msgspec.Struct, frozen=True, kw_only=True):
    """What one expiry did (or, in a dry run, would do)."""

    # Events older than this instant went (or would go).
    before: datetime
    # How many events were (would be) deleted.
    events: int
    dry_run: bool = False


class Expiry:
    """The daily deletion of expired events, once a UTC day per process."""

    def __init__(self, *, events: EventStore, clock: Clock, retention: Retention) -> None:
        self._events = events
        self._clock = clock
        self.retention = retention
        self._done: date | None = None

    def raw_from(self) -> datetime | None:
        """The earliest instant whose events are kept now; None: every event is kept."""
        return self.retention.raw_from(self._clock.now())

    async def run(self, *, dry_run: bool = False) -> Expired | None:
        """Bring the rollups up to date for the days that are over, then delete the events
        older than :meth:`raw_from` (a dry run counts them and deletes nothing, and
        computes no rollup); None when events are kept forever."""
        now = self._clock.now()
        before = self.retention.raw_from(now)
        if before is None:
            return None
        if dry_run:
            return Expired(
                before=before, events=await self._events.expire(before, dry_run=True), dry_run=True
            )
        # The days whose events go must be rolled up first: the store deletes no event of
        # a day still stale, and a stale day left here waits for the next run.
        await self._events.refresh(now)
        return Expired(before=before, events=await self._events.expire(before))

    async def daily(self) -> Expired | None:
        """:meth:`run`, at most once per UTC day in this process (several instances each
        run it; the stores make a second run at once cheap and harmless)."""
        if self.retention.days is None:
            return None
        today = self._clock.now().astimezone(UTC).date()
        if self._done == today:
            return None
        found = await self.run()
        self._done = today
        return found
