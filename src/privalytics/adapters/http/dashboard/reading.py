"""The dashboard's read-only pages behind sign-in: the overview of every project, one
project's numbers, and the project selector's redirect (the live view is in .live).

Handlers translate: a query string in, a use case called, a template out. They change
nothing; the forms that do are in .managing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from privalytics.adapters.http.dashboard.auth import HOME, render
from privalytics.adapters.http.dashboard.views import (
    Choice,
    PageContext,
    bar,
    change,
    chart,
    choose,
    rotation_text,
    unique_explanation,
)
from privalytics.adapters.http.periods import ALIAS, period_of
from privalytics.domain.models import Action, Stats, TimeRange
from privalytics.domain.reports import overview_totals
from privalytics.domain.services import Services

# Recent activity shows this many rows, whole: a list, not a box that cuts a row.
FEED_SIZE = 15
_TARGETS = {
    Action.CLICK: "Top click targets",
    Action.DOWNLOAD: "Top downloads",
    Action.SHARE: "Top share networks",
}


def _stats_view(stats: Stats, choice: Choice, rotation: timedelta) -> dict[str, Any]:
    previous = stats.previous
    before_visits = previous.visits if previous else 0
    before_uniques = previous.unique_visitors if previous else 0
    actions = sorted(stats.actions.items(), key=lambda item: -item[1])
    largest_action = max((n for _, n in actions), default=0)
    largest_page = max((p.visits for p in stats.top_pages), default=0)
    largest_referrer = max((r.count for r in stats.top_referrers), default=0)
    targets = []
    for action, title in _TARGETS.items():
        rows = stats.top_targets.get(action, [])
        largest = max((r.count for r in rows), default=0)
        targets.append(
            {"title": title, "rows": [(r.name, r.count, bar(r.count, largest)) for r in rows]}
        )
    return {
        "stats": stats,
        "choice": choice,
        "visits_change": change(stats.visits, before_visits),
        "uniques_change": change(stats.unique_visitors, before_uniques),
        "previous": previous,
        "explanation": unique_explanation(stats.range, rotation),
        "chart": chart(stats.series, stats.series_step),
        "actions": [(a.value, n, bar(n, largest_action)) for a, n in actions],
        "pages": [
            (p.path, p.visits, p.unique_visitors, bar(p.visits, largest_page))
            for p in stats.top_pages
        ],
        "referrers": [
            (r.name, r.count, bar(r.count, largest_referrer)) for r in stats.top_referrers
        ],
        "targets": targets,
        "scroll": stats.average_scroll_depth,
    }


def _span(services: Services, choice: Choice) -> TimeRange:
    bounds = choice.bounds()
    if bounds is None:
        return services.reporting.span(period=choice.name)
    return services.reporting.span(start=bounds[0], end=bounds[1])


def reading_handlers(services: Services, page: PageContext) -> list[Any]:
    """The pages that show numbers; the router they join requires a signed-in user."""
    admin = services.admin
    reporting = services.reporting

    @get("/dashboard", name="dashboard:home")
    async def overview(
        request: Request[Any, Any, Any],
        period: Annotated[str | None, QueryParameter(name="period")] = None,
        alias: Annotated[str | None, QueryParameter(name=ALIAS)] = None,
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        end: Annotated[str | None, QueryParameter(name="to")] = None,
    ) -> Template:
        choice = choose(period_of(period, alias), start, end)
        span = _span(services, choice)
        rows = []
        pairs = []
        for project in await admin.list_projects():
            # Only the headline figures: a full stats() per project read a dozen things.
            stats, previous = await reporting.totals(project.id, span)
            pairs.append((stats, previous))
            rows.append((project, stats, change(stats.visits, previous.visits)))
        totals = overview_totals(pairs)
        largest = max((s.visits for _, s, _ in rows), default=0)
        return render(
            request,
            "overview.html.j2",
            {
                "choice": choice,
                "rows": [(p, s, c, bar(s.visits, largest)) for p, s, c in rows],
                "total_visits": totals.visits,
                "total_uniques": totals.unique_visitors,
                "total_before": totals.previous_visits,
                "total_change": change(totals.visits, totals.previous_visits),
                "projects": [p for p, _, _ in rows],
                "rotation": rotation_text(page.rotation),
                "base": HOME,
            },
        )

    @get("/dashboard/projects/{project_id:str}", name="dashboard:project")
    async def project_page(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        period: Annotated[str | None, QueryParameter(name="period")] = None,
        alias: Annotated[str | None, QueryParameter(name=ALIAS)] = None,
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        end: Annotated[str | None, QueryParameter(name="to")] = None,
    ) -> Template:
        project = await admin.get_project(project_id)
        choice = choose(period_of(period, alias), start, end)
        span = _span(services, choice)
        stats = await reporting.stats(project.id, span)
        recent = await reporting.latest(project.id, limit=FEED_SIZE)
        return render(
            request,
            "project.html.j2",
            {
                "project": project,
                "projects": await admin.list_projects(),
                "recent": recent,
                "feed_size": FEED_SIZE,
                "base": f"/dashboard/projects/{project.id}",
                **_stats_view(stats, choice, page.rotation),
            },
        )

    @get("/dashboard/go")
    async def go(project: Annotated[str | None, QueryParameter(name="project")] = None) -> Redirect:
        """The project selector's target (it works without the script, too)."""
        if not project:
            return Redirect(HOME, status_code=303)
        return Redirect(f"/dashboard/projects/{quote(project, safe='')}")

    return [go, overview, project_page]
