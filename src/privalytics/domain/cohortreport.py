"""The retention use case: active visitors and cohorts of a project's range (the
computation is :mod:`privalytics.domain.cohorts`).

It reads the range's events themselves, from the start of the salt window holding the
range's first day: without filters through the store's stream (memory grows with the
distinct visitors of each day, not with the events), with filters through the store's
selected events (a list in memory). Its cost grows with the events of the range plus up to
one salt window before it: no rollup serves it yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from privalytics.domain.anonymity import anonymous_filters
from privalytics.domain.cohorts import Activity, Tally, activity, days_of, read_span, whole_days
from privalytics.domain.dimensions import Scope
from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.filters import Filter, parse_filters
from privalytics.domain.models import TimeRange
from privalytics.domain.ports import Clock, EventStore, GoalStore, TokenStore
from privalytics.domain.retention import Retention

# A cohort table of more days than this is not read in one answer (a year of days is
# already a table no one reads, and the read costs every event of the range).
MAX_DAYS = 400


class RetentionReport(msgspec.Struct, frozen=True, kw_only=True):
    """:class:`~privalytics.domain.cohorts.Activity` over ``range`` (widened to whole UTC
    days), under ``filters``; ``raw_from``/``partial`` as in Stats."""

    range: TimeRange
    filters: tuple[str, ...]
    activity: Activity
    raw_from: datetime | None = None
    partial: bool = False


class CohortReporting:
    """Active visitors and cohort retention, exact within each salt window."""

    def __init__(
        self,
        *,
        events: EventStore,
        tokens: TokenStore,
        clock: Clock,
        rotation: timedelta,
        min_cell_visitors: int,
        retention: Retention | None = None,
        goals: GoalStore | None = None,
    ) -> None:
        self._events = events
        self._tokens = tokens
        self._clock = clock
        self._rotation = rotation
        self._k = min_cell_visitors
        self._retention = retention or Retention(salt_rotation=rotation)
        self._goals = goals

    @property
    def rotation(self) -> timedelta:
        return self._rotation

    async def report(
        self, project_id: str, span: TimeRange, filters: Sequence[str] = ()
    ) -> RetentionReport:
        """The range's active visitors and cohorts under ``filters`` (as the stats read
        them: the events of the sessions they select)."""
        parsed = parse_filters(filters)
        if await self._tokens.get_project(project_id) is None:
            raise NotFound(f"no project {project_id!r}")
        days = days_of(span)
        if len(days) > MAX_DAYS:
            raise InvalidInput(f"a retention table spans at most {MAX_DAYS} days", field="to")
        parsed = await self._resolve(project_id, parsed)
        read = read_span(span, self._rotation)
        tally = Tally()
        if parsed:
            chosen = await anonymous_filters(self._events, project_id, read, parsed, self._k)
            tally.add(await self._events.selected_events(project_id, read, chosen))
        else:
            tally.seen = await self._events.visitor_days(project_id, read)
        raw_from = self._retention.raw_from(self._clock.now())
        whole = whole_days(span)
        return RetentionReport(
            range=whole,
            filters=tuple(str(f) for f in parsed),
            activity=activity(tally.seen, days, self._rotation),
            raw_from=raw_from,
            partial=self._retention.partial(read, raw_from, raw=True),
        )

    async def _resolve(self, project_id: str, parsed: tuple[Filter, ...]) -> tuple[Filter, ...]:
        """A goal filter resolved against the project's goals, as Reporting does."""
        if not any(f.scope is Scope.GOAL for f in parsed):
            return parsed
        goals = () if self._goals is None else tuple(await self._goals.list_goals(project_id))
        return tuple(
            msgspec.structs.replace(f, goals=goals) if f.scope is Scope.GOAL else f for f in parsed
        )
