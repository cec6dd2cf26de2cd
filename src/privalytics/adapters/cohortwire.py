"""The JSON of a retention answer (active visitors and cohorts), beside
:mod:`privalytics.adapters.wire` and written the same way: msgspec only."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from privalytics.adapters.wire import RangeOut
from privalytics.domain.cohortreport import RetentionReport
from privalytics.domain.cohorts import DOCS, SETTING, Active, Cohort, DayActivity


class DayOut(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    # Distinct visitors of the UTC day: exact under any salt rotation.
    dau: int
    # The 7 / 30 days ending on the day, null where they cross a salt window's edge.
    wau: int | None
    mau: int | None
    # dau / mau, null without a mau.
    stickiness: float | None

    @classmethod
    def of(cls, row: DayActivity) -> DayOut:
        return cls(
            day=row.day, dau=row.visitors, wau=row.wau, mau=row.mau, stickiness=row.stickiness
        )


class CohortOut(msgspec.Struct, frozen=True, kw_only=True):
    # Visitors first seen in their salt window on this day.
    day: date
    visitors: int
    # returning[k-1]: how many of them were seen on day + k; null where day + k is in
    # another salt window (they cannot be followed there) or after the range.
    returning: list[int | None]

    @classmethod
    def of(cls, cohort: Cohort) -> CohortOut:
        return cls(day=cohort.day, visitors=cohort.visitors, returning=list(cohort.returning))


class ActiveOut(msgspec.Struct, frozen=True, kw_only=True):
    # The mean of the range's daily active visitors.
    dau: float | None
    # The range's last WAU / MAU there is, and its day.
    wau: int | None
    wau_day: date | None
    mau: int | None
    mau_day: date | None
    # The mean DAU of that MAU's 30 days divided by it.
    stickiness: float | None

    @classmethod
    def of(cls, active: Active) -> ActiveOut:
        return cls(
            dau=active.dau,
            wau=active.wau,
            wau_day=active.wau_day,
            mau=active.mau,
            mau_day=active.mau_day,
            stickiness=active.stickiness,
        )


class RetentionOut(msgspec.Struct, frozen=True, kw_only=True):
    # The range asked for, widened to whole UTC days.
    range: RangeOut
    filters: list[str]
    # The salt rotation, in days: how long a visitor can be followed.
    salt_rotation_days: int
    # False: no visitor can be followed from one day to the next (daily salts); reason
    # says why and what would change it. Daily active visitors are given either way.
    available: bool
    wau_available: bool
    mau_available: bool
    reason: str | None
    # The setting that decides it, and where its privacy cost is explained.
    setting: str
    docs: str
    active: ActiveOut
    days: list[DayOut]
    cohorts: list[CohortOut]
    raw_from: datetime | None = None
    partial: bool = False

    @classmethod
    def of(cls, report: RetentionReport) -> RetentionOut:
        found = report.activity
        return cls(
            range=RangeOut(start=report.range.start, end=report.range.end),
            filters=list(report.filters),
            salt_rotation_days=found.rotation_days,
            available=found.available,
            wau_available=found.wau_available,
            mau_available=found.mau_available,
            reason=found.reason,
            setting=SETTING,
            docs=DOCS,
            active=ActiveOut.of(found.active),
            days=[DayOut.of(row) for row in found.days],
            cohorts=[CohortOut.of(c) for c in found.cohorts],
            raw_from=report.raw_from,
            partial=report.partial,
        )
