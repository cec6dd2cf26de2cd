"""The dashboard's Retention page: active visitors and the cohort table, rendered on the
server, or, under daily salts, the plain-words reason they cannot be measured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from privalytics.adapters.http.dashboard.auth import render
from privalytics.adapters.http.dashboard.panels import Address
from privalytics.adapters.http.dashboard.views import PageContext, choose
from privalytics.adapters.http.periods import ALIAS, period_of
from privalytics.domain.cohorts import DOCS, SETTING, Cohort
from privalytics.domain.errors import NotFound
from privalytics.domain.filters import parse_filters
from privalytics.domain.services import Services

_DASH = "\u2013"


@dataclass(frozen=True)
class CohortRow:
    day: str
    visitors: int
    # Per later day: "3 (50%)", a dash where the cohort cannot be followed.
    cells: list[str]


def cohort_rows(cohorts: list[Cohort]) -> list[CohortRow]:
    rows = []
    for cohort in cohorts:
        cells = []
        for count in cohort.returning:
            if count is None:
                cells.append(_DASH)
            elif cohort.visitors:
                cells.append(f"{count} ({round(100 * count / cohort.visitors)}%)")
            else:
                cells.append(str(count))
        rows.append(CohortRow(day=f"{cohort.day:%Y-%m-%d}", visitors=cohort.visitors, cells=cells))
    return rows


def _figure(value: float | int | None) -> str:
    if value is None:
        return _DASH
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def retention_handlers(services: Services, page: PageContext) -> list[Any]:
    """The Retention page; the router it joins requires a signed-in user."""
    admin = services.admin

    @get("/dashboard/projects/{project_id:str}/retention", name="dashboard:retention")
    async def retention_page(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        period: Annotated[str | None, QueryParameter(name="period")] = None,
        alias: Annotated[str | None, QueryParameter(name=ALIAS)] = None,
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        end: Annotated[str | None, QueryParameter(name="to")] = None,
        filter_: Annotated[list[str] | None, QueryParameter(name="filter")] = None,
    ) -> Template:
        if services.cohorts is None:
            raise NotFound("this server computes no retention")
        project = await admin.get_project(project_id)
        # Retention is read over days: the page opens on 30 days.
        choice = choose(period_of(period, alias) or "30d", start, end)
        bounds = choice.bounds()
        span = (
            services.reporting.span(period=choice.name)
            if bounds is None
            else services.reporting.span(start=bounds[0], end=bounds[1])
        )
        base = f"/dashboard/projects/{project.id}"
        filters = tuple(parse_filters(filter_ or []))
        address = Address(f"{base}/retention", choice, filters)
        report = await services.cohorts.report(project.id, span, address.texts)
        found = report.activity
        active = found.active
        return render(
            request,
            "retention.html.j2",
            {
                "project": project,
                "projects": await admin.list_projects(),
                "choice": choice,
                "base": address.base,
                "address": address,
                "back": f"{base}?{Address(base, choice, filters).query}",
                "filter_chips": address.chips(),
                "found": found,
                "report": report,
                "setting": SETTING,
                "docs": DOCS,
                "tiles": [
                    ("Daily active visitors (mean)", _figure(active.dau), "dau"),
                    ("Weekly active visitors", _figure(active.wau), "wau"),
                    ("Monthly active visitors", _figure(active.mau), "mau"),
                    (
                        "Stickiness (DAU ÷ MAU)",
                        _DASH if active.stickiness is None else f"{active.stickiness:.0%}",
                        "stickiness",
                    ),
                ],
                "offsets": list(range(1, found.rotation_days)),
                "rows": cohort_rows(found.cohorts),
                "days": [
                    (f"{d.day:%Y-%m-%d}", d.visitors, _figure(d.wau), _figure(d.mau))
                    for d in found.days
                ],
            },
        )

    return [retention_page]
