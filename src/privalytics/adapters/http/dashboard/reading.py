"""The dashboard's read-only pages behind sign-in: the overview of every project, one
project's numbers, and the project selector's redirect (the live view is in .live).

Handlers translate: a query string in, a use case called, a template out. They change
nothing; the forms that do are in .managing.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from privalytics.adapters.http.dashboard.auth import HOME, render
from privalytics.adapters.http.dashboard.goalviews import goal_rows
from privalytics.adapters.http.dashboard.panels import (
    PANELS,
    Address,
    panel_view,
    rows_of,
    tabs_of,
    with_properties,
)
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
from privalytics.adapters.http.exporting import check_format, export_answer
from privalytics.adapters.http.periods import ALIAS, period_of
from privalytics.adapters.words import duration_text
from privalytics.domain.dimensions import dimension as find_dimension
from privalytics.domain.errors import NotFound
from privalytics.domain.filters import Filter, parse_filters
from privalytics.domain.models import Action, BotReport, Bucket, Stats, TimeRange
from privalytics.domain.reports import overview_totals
from privalytics.domain.services import Services

# Recent activity shows this many rows, whole: a list, not a box that cuts a row.
FEED_SIZE = 15
# Rows of a panel on the project page; its details page shows up to DETAILS_ROWS.
PANEL_ROWS = 9
_NAME = re.compile(r"[a-z_]{1,40}")
DETAILS_ROWS = 100
_TARGETS = {
    Action.CLICK: "Top click targets",
    Action.DOWNLOAD: "Top downloads",
    Action.SHARE: "Top share networks",
}


def _tile(
    label: str, testid: str, value: str, now: float | None, before: float | None, note: str
) -> dict[str, Any]:
    shown = None
    if now is not None and before is not None:
        shown = change(round(now * 100), round(before * 100))
    return {"label": label, "testid": testid, "value": value, "change": shown, "note": note}


def _tiles(stats: Stats) -> list[dict[str, Any]]:
    """The headline figures as Plausible users read them, each against the previous
    period; the bounce rate's change reads as good when it falls."""
    previous = stats.previous
    vs = "vs. {} in the previous period"

    def before(name: str) -> Any:
        return None if previous is None else getattr(previous, name)

    rate = stats.bounce_rate
    rate_before = before("bounce_rate")
    bounce = _tile(
        "Bounce rate",
        "bounce-rate",
        "\u2013" if rate is None else f"{rate}%",
        rate,
        rate_before,
        vs.format("\u2013" if rate_before is None else f"{rate_before}%"),
    )
    if bounce["change"] is not None and bounce["change"][1] in ("up", "down"):
        text, kind = bounce["change"]
        bounce["change"] = (text, "down" if kind == "up" else "up")
    per = stats.views_per_session
    per_before = before("views_per_session")
    duration = stats.visit_duration
    duration_before = before("visit_duration")
    scroll = stats.average_scroll_depth
    return [
        _tile(
            "Unique visitors",
            "uniques",
            f"{stats.unique_visitors:,}",
            stats.unique_visitors,
            before("unique_visitors") or 0,
            vs.format(f"{before('unique_visitors') or 0:,}"),
        ),
        _tile(
            "Visits",
            "sessions",
            f"{stats.sessions:,}",
            stats.sessions,
            before("sessions") or 0,
            vs.format(f"{before('sessions') or 0:,}"),
        ),
        _tile(
            "Pageviews",
            "pageviews",
            f"{stats.pageviews:,}",
            stats.pageviews,
            before("pageviews") or 0,
            vs.format(f"{before('pageviews') or 0:,}"),
        ),
        _tile(
            "Views per visit",
            "views-per-visit",
            "\u2013" if per is None else f"{per:.2f}",
            per,
            per_before,
            vs.format("\u2013" if per_before is None else f"{per_before:.2f}"),
        ),
        bounce,
        _tile(
            "Visit duration",
            "visit-duration",
            duration_text(duration),
            duration,
            duration_before,
            vs.format(duration_text(duration_before)),
        ),
        _tile(
            "Scroll depth",
            "scroll",
            "\u2013" if scroll is None else f"{scroll:.0f}%",
            None,
            None,
            "mean of scroll events' depth",
        ),
    ]


def _stats_view(
    stats: Stats, choice: Choice, rotation: timedelta, before: list[Bucket] | None = None
) -> dict[str, Any]:
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
        "tiles": _tiles(stats),
        "visits_change": change(stats.visits, before_visits),
        "uniques_change": change(stats.unique_visitors, before_uniques),
        "previous": previous,
        "explanation": unique_explanation(stats.range, rotation),
        "chart": chart(stats.series, stats.series_step, previous=before),
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


def _bot_rows(report: BotReport) -> list[tuple[str, int, int]]:
    """The bot log's reasons as bars (the range's UTC days, whatever its filters)."""
    largest = max((row.count for row in report.reasons), default=0)
    return [(row.name, row.count, bar(row.count, largest)) for row in report.reasons]


def page_filters(given: list[str] | None) -> tuple[Filter, ...]:
    """The page's filters, checked as the API checks them (a bad one is a 400 page)."""
    return tuple(parse_filters(given or []))


def page_span(services: Services, choice: Choice) -> TimeRange:
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
        span = page_span(services, choice)
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

    async def _panels(project_id: str, span: TimeRange, address: Address) -> list[Any]:
        base = f"/dashboard/projects/{project_id}/breakdown"
        panels = []
        for spec in PANELS:
            if spec.key == "events" and address.filtered("event"):
                keys = await reporting.property_keys(project_id, span, address.texts, limit=6)
                spec = with_properties(spec, keys)
            tab = address.tab_of(spec)
            found = await reporting.breakdown(
                project_id, span, tab.dimension, address.texts, limit=PANEL_ROWS
            )
            panels.append(panel_view(spec, address, found.rows, base))
        return panels

    @get("/dashboard/projects/{project_id:str}", name="dashboard:project")
    async def project_page(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        period: Annotated[str | None, QueryParameter(name="period")] = None,
        alias: Annotated[str | None, QueryParameter(name=ALIAS)] = None,
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        end: Annotated[str | None, QueryParameter(name="to")] = None,
        filter_: Annotated[list[str] | None, QueryParameter(name="filter")] = None,
        sources: Annotated[str | None, QueryParameter(name="sources")] = None,
        pages: Annotated[str | None, QueryParameter(name="pages")] = None,
        locations: Annotated[str | None, QueryParameter(name="locations")] = None,
        devices: Annotated[str | None, QueryParameter(name="devices")] = None,
        events: Annotated[str | None, QueryParameter(name="events")] = None,
    ) -> Template:
        project = await admin.get_project(project_id)
        choice = choose(period_of(period, alias), start, end)
        span = page_span(services, choice)
        base = f"/dashboard/projects/{project.id}"
        tabs = {
            "sources": sources,
            "pages": pages,
            "locations": locations,
            "devices": devices,
            "events": events,
        }
        address = Address(base, choice, page_filters(filter_), tabs_of(tabs))
        stats = await reporting.stats(project.id, span, filters=address.texts)
        before = await reporting.previous_series(project.id, span, address.texts)
        recent = await reporting.latest(project.id, limit=FEED_SIZE)
        return render(
            request,
            "project.html.j2",
            {
                "project": project,
                "projects": await admin.list_projects(),
                "recent": recent,
                "feed_size": FEED_SIZE,
                "base": base,
                "address": address,
                "filter_chips": address.chips(),
                "panels": await _panels(project.id, span, address),
                "goals": goal_rows(
                    address, (await reporting.goal_report(project.id, span, address.texts)).goals
                ),
                # Only the list: each funnel's report is on its own page (a report reads
                # the range's events).
                "funnels": [
                    (
                        f.name,
                        f"{base}/funnels/{f.id}?{address.query}",
                        " → ".join(str(step) for step in f.steps),
                    )
                    for f in (
                        [] if services.funnels is None else await services.funnels.list(project.id)
                    )
                ],
                "current_visitors": stats.current_visitors,
                "bots": _bot_rows(await services.bot_report(project.id, span)),
                **_stats_view(stats, choice, page.rotation, before),
            },
        )

    @get(
        "/dashboard/projects/{project_id:str}/breakdown/{dimension:str}",
        name="dashboard:breakdown",
    )
    async def details_page(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        dimension: FromPath[str],
        period: Annotated[str | None, QueryParameter(name="period")] = None,
        alias: Annotated[str | None, QueryParameter(name=ALIAS)] = None,
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        end: Annotated[str | None, QueryParameter(name="to")] = None,
        filter_: Annotated[list[str] | None, QueryParameter(name="filter")] = None,
    ) -> Template:
        """One dimension's details: up to DETAILS_ROWS rows, with every figure."""
        project = await admin.get_project(project_id)
        known = find_dimension(dimension)
        if known is None:
            # The path is repeated only when it is a plain word (not a page of text).
            named = f" {dimension!r}" if _NAME.fullmatch(dimension) else ""
            raise NotFound(f"no dimension{named}")
        choice = choose(period_of(period, alias), start, end)
        span = page_span(services, choice)
        base = f"/dashboard/projects/{project.id}"
        address = Address(base, choice, page_filters(filter_))
        here = Address(f"{base}/breakdown/{dimension}", choice, address.filters)
        found = await reporting.breakdown(
            project.id, span, dimension, address.texts, limit=DETAILS_ROWS
        )
        return render(
            request,
            "breakdown.html.j2",
            {
                "project": project,
                "projects": await admin.list_projects(),
                "choice": choice,
                "base": here.base,
                "address": here,
                "back": f"{base}?{address.query}",
                "column": known.label,
                "dimension": dimension,
                # A row filters the project page, not this list.
                "found": found,
                "rows": rows_of(address, dimension, found.rows),
                "filter_chips": here.chips(),
                "merged": reporting.min_cell_visitors if known.merge_small_cells else None,
            },
        )

    @get("/dashboard/projects/{project_id:str}/export", name="dashboard:export")
    async def export_file(
        project_id: FromPath[str],
        form: Annotated[str, QueryParameter(name="format")] = "csv",
        period: Annotated[str | None, QueryParameter(name="period")] = None,
        alias: Annotated[str | None, QueryParameter(name=ALIAS)] = None,
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        end: Annotated[str | None, QueryParameter(name="to")] = None,
    ) -> Response[Any]:
        """The raw events (or the days' figures, as Plausible's CSV zip) of the page's
        range as a file: the API's export, signed in."""
        check_format(form)
        project = await admin.get_project(project_id)
        span = page_span(services, choose(period_of(period, alias), start, end))
        return await export_answer(services, project.id, span, form)

    @get("/dashboard/go")
    async def go(project: Annotated[str | None, QueryParameter(name="project")] = None) -> Redirect:
        """The project selector's target (it works without the script, too)."""
        if not project:
            return Redirect(HOME, status_code=303)
        return Redirect(f"/dashboard/projects/{quote(project, safe='')}")

    return [go, overview, project_page, details_page, export_file]
