"""The refresh's rows of rollup_dimensions, computed from a day's sessions
(adapters/sqlalchemy/dayfigures.py), are the unfiltered breakdown of that day by every
stored dimension: the domain's own computation (domain/insight.py), value by value."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, timedelta

from hypothesis import given, settings
from msgspec.structs import replace

from privalytics.adapters.sqlalchemy.dayfigures import dimension_figures, texts_of
from privalytics.adapters.sqlalchemy.segments import day_texts
from privalytics.adapters.sqlalchemy.tables import DIMENSION_CODES
from privalytics.domain.dimensions import DIMENSIONS
from privalytics.domain.insight import breakdown
from privalytics.domain.models import Event
from privalytics.domain.sessions import sessionize
from tests.strategies import insight_events

DAY = timedelta(days=1)


@settings(max_examples=150, deadline=None)
@given(insight_events)
def test_a_days_rows_are_its_breakdown_by_every_stored_dimension(events: list[Event]) -> None:
    by_day: dict[object, list[Event]] = defaultdict(list)
    # Stored times are whole milliseconds (the refresh reads stored events).
    stored = [
        replace(
            e, timestamp=e.timestamp.replace(microsecond=e.timestamp.microsecond // 1000 * 1000)
        )
        for e in events
    ]
    for event in stored:
        by_day[event.timestamp.astimezone(UTC).date()].append(event)
    for day_events in by_day.values():
        sessions = sessionize(day_events)
        # Ids as the texts table would give them: any distinct numbers above 0.
        ids = {
            text: 7 + n for n, text in enumerate(sorted(day_texts(sessions) | texts_of(sessions)))
        }
        got = dimension_figures(sessions, ids)
        expected = {}
        for name, code in DIMENSION_CODES.items():
            for row in breakdown(day_events, DIMENSIONS[name], (), DAY):
                totals = row.figures.totals
                value = 0 if row.value is None else ids[row.value]
                expected[code, value] = (
                    totals.sessions,
                    row.figures.visitors,
                    totals.pageviews,
                    totals.bounces,
                    totals.duration // timedelta(milliseconds=1),
                    row.events or 0,
                )
        assert got == expected
