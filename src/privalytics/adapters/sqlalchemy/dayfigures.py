"""A closed day's rows of ``rollup_dimensions``, from the sessions the refresh already cut
for its day segments (segments.py), rather than from SQL that sessionizes the events a
second time: per dimension code and value id (0: no value), the figures a breakdown
(:func:`privalytics.domain.insight.breakdown`, unfiltered) gives the value over the day.

- a session dimension (source, country, entry page, ...): the sessions with the value;
- the page: a session counts under every page it viewed, with its views of it;
- a custom event's name: a session counts under every name among its custom events, with
  all its page views, and the row counts its events of the name.

The SQL that computes the same rows for the parts of a range that are not rolled up is
dimsql.py's; both are tested against the domain's breakdown (test_insight_stores.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta

from privalytics.adapters.sqlalchemy.tables import DIMENSION_CODES
from privalytics.domain.dimensions import DIMENSIONS, Scope
from privalytics.domain.insight import session_value
from privalytics.domain.sessions import Session

# A row's key after its day: (dimension code, value id); its figures, in
# rollup_dimensions' column order: sessions, visitors, pageviews, bounces, duration, events.
Key = tuple[int, int]
Figures = tuple[int, int, int, int, int, int]

_SESSION = tuple(
    (DIMENSIONS[name], code)
    for name, code in DIMENSION_CODES.items()
    if DIMENSIONS[name].scope is Scope.SESSION
)
_PAGE = DIMENSION_CODES["page"]
_EVENT = DIMENSION_CODES["event"]
_READ_EVENT = DIMENSIONS["event"].read
_MILLISECOND = timedelta(milliseconds=1)


def texts_of(sessions: Sequence[Session]) -> set[str]:
    """The custom event names among ``sessions`` (the other texts the rows name are the
    segments' own, segments.day_texts)."""
    return {name for s in sessions for e in s.custom if (name := _READ_EVENT(e)) is not None}


def dimension_figures(sessions: Sequence[Session], ids: Mapping[str, int]) -> dict[Key, Figures]:
    """The rows of one day's ``sessions`` (of one project); ``ids``: the id of every text
    they name."""
    # sessions, page views, bounces, duration (ms), events; and the visitors' hashes.
    sums: dict[Key, list[int]] = {}
    hashes: dict[Key, set[str]] = {}

    def add(key: Key, session: Session, views: int, bounced: int, length: int, n: int) -> None:
        row = sums.get(key)
        if row is None:
            sums[key] = [1, views, bounced, length, n]
            hashes[key] = {session.visitor_hash}
            return
        row[0] += 1
        row[1] += views
        row[2] += bounced
        row[3] += length
        row[4] += n
        hashes[key].add(session.visitor_hash)

    for session in sessions:
        bounced = int(session.bounced)
        length = (session.end - session.start) // _MILLISECOND
        views = session.pageviews
        for dimension, code in _SESSION:
            value = session_value(dimension, session)
            add((code, 0 if value is None else ids[value]), session, views, bounced, length, 0)
        for path, count in Counter(session.paths).items():
            add((_PAGE, ids[path]), session, count, bounced, length, 0)
        if session.custom:
            for name, count in Counter(_READ_EVENT(e) for e in session.custom).items():
                key = (_EVENT, 0 if name is None else ids[name])
                add(key, session, views, bounced, length, count)
    return {
        key: (row[0], len(hashes[key]), row[1], row[2], row[3], row[4]) for key, row in sums.items()
    }
