"""The admin API: projects, their tokens and their stats, behind an admin key.

Every route needs ``Authorization: Bearer pak_...``, checked by the domain
(:meth:`Administration.check_admin_key`) in a guard on the router.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, FromQuery, Parameter, QueryParameter

from privalytics.adapters.cohortwire import RetentionOut
from privalytics.adapters.http.constraints import (
    DIMENSION,
    FILTERS,
    LIMIT,
    MOMENT,
    PERIOD,
)
from privalytics.adapters.http.exporting import (
    EXPORT_FORMATS,
    EXPORT_MEDIA_TYPES,
    check_format,
    export_answer,
)
from privalytics.adapters.http.ids import known_ids
from privalytics.adapters.http.ingest import bearer
from privalytics.adapters.http.malformed import decode_body
from privalytics.adapters.http.openapi import (
    error_specs,
    operation_with_body,
    operation_with_stream,
)
from privalytics.adapters.http.periods import ALIAS, period_of
from privalytics.adapters.http.schemas import (
    FunnelCreateIn,
    GoalCreateIn,
    ProjectCreateIn,
    ProjectPatchIn,
)
from privalytics.adapters.wire import (
    BotsOut,
    BreakdownOut,
    FunnelListOut,
    FunnelOut,
    FunnelReportOut,
    GoalListOut,
    GoalOut,
    GoalReportOut,
    ProjectCreatedOut,
    ProjectListOut,
    ProjectOut,
    StatsOut,
    TokenIssuedOut,
    TokenListOut,
    TokenOut,
)
from privalytics.domain.dimensions import DIMENSIONS
from privalytics.domain.errors import InvalidInput, NotFound, Unauthenticated
from privalytics.domain.funnelbook import Funnels
from privalytics.domain.funnels import FunnelSpec, Step
from privalytics.domain.goalbook import Goals
from privalytics.domain.goals import GoalSpec
from privalytics.domain.models import ProjectUpdate, TokenKind
from privalytics.domain.ratelimit import parse_rate_limit
from privalytics.domain.services import DEFAULT_TOP, Services

ADMIN_BODY_LIMIT = 64 * 1024
_NO_KEY = "an admin key is needed: send 'Authorization: Bearer pak_...'"
_EXAMPLE = "e.g. 2026-01-01T00:00:00Z"
_FILTER = (
    "DIMENSION==VALUE, DIMENSION!=VALUE or DIMENSION~TEXT (contains, ignoring case); "
    "repeat for several (all apply), at most 10"
)
_BREAKDOWN = (
    "Every value of the dimension in the range, with its visitors, page views, sessions, "
    "bounce rate and visit duration, ranked by visitors. Regions and cities with fewer "
    'visitors than PRIVALYTICS_MIN_CELL_VISITORS are merged into one "(other)" row, and '
    'filters see them as "(other)" too.'
)
# The errors of a route that names a project (400: a malformed query or Host header).
_ONE = _QUERY = error_specs(400, 401, 404, 503)
_EXPORT = (
    "csv, jsonl: every event of the range, oldest first, as stored: time, action, page, "
    "target, value, properties, visitor hash and every derived field (source, campaign, "
    "browser, system, device, place), one per line. Streamed: any size, in constant memory. "
    "plausible-zip: the figures of every UTC day the range touches (visitors, visits, page "
    "views, bounces, visit duration; by source, page, entry and exit page, custom event, "
    "country, device, browser and system) as a zip of CSV files in the layout of "
    "Plausible's CSV export, which Plausible's CSV import reads."
)
_BOTS = (
    "What the bot filter turned away: bot events per reason (Googlebot, HeadlessChrome, "
    "empty user agent, webdriver...) and per UTC day, over the days the range touches. "
    "Never an address or a user agent."
)
_GOAL = (
    "A page goal (page: a path pattern, * any characters but /, ** any characters), an "
    "event goal (event: a custom event's name) or a scroll goal (page and depth, 1 to 100: "
    "a scroll of at least that percent on a matching page). name: unique in the project, "
    "derived when absent. At most 100 goals per project."
)
_GOAL_REPORT = (
    "Every goal of the project with its unique conversions (visitors who converted), "
    "total conversions, conversion rate (percent of the range's visitors under the same "
    "filters) and, for an event goal, revenue per currency. goal is also a dimension: "
    "/breakdown/goal, filter=goal==NAME."
)
_FUNNEL = (
    "2 to 8 ordered steps, each a page (page: a path pattern, as a page goal's) or a custom "
    "event (event: its name); name: unique in the project, derived from the steps when "
    "absent. At most 50 funnels per project."
)
_FUNNEL_REPORT = (
    "Per step, the visitors who did steps 1 to it in that order (a visitor per salt window; "
    "ties in time in the events' stored order), their conversion (percent of step 1), the "
    "drop-off from the step before, and the overall conversion, over the range. Under "
    "filters, over the events of the sessions they select."
)
_RETENTION = (
    "Active visitors and cohort retention over the range's UTC days. A visitor can be "
    "followed only within one salt window (PRIVALYTICS_SALT_ROTATION, default 1d; see "
    "docs/privacy.md): daily active visitors are always exact; with daily salts, "
    "available is false and reason says why (no WAU, MAU or cohorts, never a sum of days). "
    "WAU needs a rotation of at least 7 days and MAU one of 30, each given only for days "
    "whose 7 or 30 days lie in one salt window; a cohort's day k only while day + k is in "
    "the same window (else null). Default period: 30d. Reads the range's events (and the "
    "salt window before it)."
)
_create = msgspec.json.Decoder(ProjectCreateIn)
_funnel = msgspec.json.Decoder(FunnelCreateIn)
_goal = msgspec.json.Decoder(GoalCreateIn)
_patch = msgspec.json.Decoder(ProjectPatchIn)

# The range and the filters, as the stats and the breakdown routes both read them.
_Period = Annotated[
    str | None,
    QueryParameter(description="24h, 7d, 30d or 12m; default 24h", schema_extra=PERIOD),
]
_Alias = Annotated[
    str | None,
    QueryParameter(name=ALIAS, description="another name for period", schema_extra=PERIOD),
]
_From = Annotated[
    str | None,
    QueryParameter(
        name="from",
        description="RFC 3339 date-time with an offset; instead of period",
        schema_extra=MOMENT,
    ),
]
_To = Annotated[
    str | None,
    QueryParameter(
        name="to", description="RFC 3339 date-time with an offset; default now", schema_extra=MOMENT
    ),
]
_Filters = Annotated[
    list[str] | None, QueryParameter(name="filter", description=_FILTER, schema_extra=FILTERS)
]


def _moment(text: str | None, field: str) -> datetime | None:
    """An RFC 3339 date-time of the query string, in UTC. Strict, like event timestamps:
    not a date alone, not an ISO week, and with an offset (a time without one is refused
    rather than guessed)."""
    if text is None:
        return None
    try:
        moment = msgspec.convert(text, datetime)
        if moment.tzinfo is None:
            raise InvalidInput(f"needs an offset or Z, {_EXAMPLE}", field=field)
        # Inside the try: near 0001-01-01 or 9999-12-31 the conversion can overflow.
        return moment.astimezone(UTC)
    except ValueError:  # msgspec.ValidationError, whatever a release names it
        raise InvalidInput(f"is not an RFC 3339 date-time, {_EXAMPLE}", field=field) from None
    except OverflowError:
        raise InvalidInput("is out of range once converted to UTC", field=field) from None


def admin_router(services: Services) -> Router:
    admin = services.admin
    reporting = services.reporting

    async def require_admin_key(
        connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        key = bearer(connection.headers.get("authorization"))
        if key is None:
            raise Unauthenticated(_NO_KEY)
        await admin.check_admin_key(key)

    @post(
        "/",
        status_code=201,
        summary="Create a project and its first token",
        responses=error_specs(400, 401, 413, 503),
        operation_class=operation_with_body(
            ProjectCreateIn, "The new project.", media_types=("application/json",)
        ),
    )
    async def create_project(request: Request[Any, Any, Any]) -> ProjectCreatedOut:
        # The body is decoded here, not by Litestar, so that any body that is not the
        # schema's JSON (invalid UTF-8, deep nesting...) is the same 400 as on ingestion.
        data = decode_body(_create, await request.body())
        rate_limit = None if data.rate_limit is None else parse_rate_limit(data.rate_limit)
        created = await admin.create_project(
            data.name, rate_limit=rate_limit, allowed_origins=data.allowed_origins
        )
        return ProjectCreatedOut(project=ProjectOut.of(created.project), token=created.token.token)

    @get("/", summary="List the projects, oldest first", responses=error_specs(400, 401, 503))
    async def list_projects() -> ProjectListOut:
        return ProjectListOut(projects=[ProjectOut.of(p) for p in await admin.list_projects()])

    @get("/{project_id:str}", summary="Read a project", responses=_ONE)
    async def get_project(project_id: FromPath[str]) -> ProjectOut:
        return ProjectOut.of(await admin.get_project(project_id))

    @patch(
        "/{project_id:str}",
        summary="Change a project's name, rate limit or origins",
        responses=error_specs(400, 401, 404, 413, 503),
        operation_class=operation_with_body(
            ProjectPatchIn, "The fields to change.", media_types=("application/json",)
        ),
    )
    async def update_project(
        project_id: FromPath[str], request: Request[Any, Any, Any]
    ) -> ProjectOut:
        data = decode_body(_patch, await request.body())
        update = ProjectUpdate(
            name=data.name,
            rate_limit=None if data.rate_limit is None else parse_rate_limit(data.rate_limit),
            allowed_origins=None if data.allowed_origins is None else tuple(data.allowed_origins),
        )
        return ProjectOut.of(await admin.update_project(project_id, update))

    @delete(
        "/{project_id:str}",
        status_code=204,
        summary="Delete a project and its events",
        responses=_ONE,
    )
    async def delete_project(project_id: FromPath[str]) -> None:
        await admin.delete_project(project_id)

    @get(
        "/{project_id:str}/tokens",
        summary="List a project's tokens, revoked ones included",
        responses=_ONE,
    )
    async def list_tokens(project_id: FromPath[str]) -> TokenListOut:
        return TokenListOut(tokens=[TokenOut.of(t) for t in await admin.list_tokens(project_id)])

    @post(
        "/{project_id:str}/tokens",
        status_code=201,
        summary="Issue a new token",
        responses=_QUERY,
    )
    async def issue_token(
        project_id: FromPath[str],
        revoke_others: FromQuery[bool] = False,
        kind: Annotated[
            TokenKind,
            QueryParameter(
                description="browser (public, for pages; the default) or server (secret: "
                "the only kind whose events may carry visitor_ip and user_agent)"
            ),
        ] = TokenKind.BROWSER,
    ) -> TokenIssuedOut:
        issued = await admin.issue_token(project_id, revoke_others=revoke_others, kind=kind)
        return TokenIssuedOut.of(issued)

    @delete(
        "/{project_id:str}/tokens/{token_id:str}",
        status_code=200,
        summary="Revoke a token",
        responses=_ONE,
    )
    async def revoke_token(project_id: FromPath[str], token_id: FromPath[str]) -> TokenOut:
        return TokenOut.of(await admin.revoke_token(project_id, token_id))

    @get("/{project_id:str}/stats", summary="Read a project's numbers", responses=_QUERY)
    async def stats(
        project_id: FromPath[str],
        period: _Period = None,
        alias: _Alias = None,
        start: _From = None,
        end: _To = None,
        limit: Annotated[
            int, QueryParameter(description="top pages, 1 to 100", schema_extra=LIMIT)
        ] = DEFAULT_TOP,
        filters: _Filters = None,
    ) -> StatsOut:
        period = period_of(period, alias)
        span = reporting.span(period=period, start=_moment(start, "from"), end=_moment(end, "to"))
        return StatsOut.of(
            await reporting.stats(project_id, span, top=limit, filters=filters or ())
        )

    @get(
        "/{project_id:str}/breakdown/{dimension:str}",
        summary="Break a project's numbers down by a dimension",
        description=_BREAKDOWN,
        responses=_QUERY,
    )
    async def breakdown(
        project_id: FromPath[str],
        dimension: Annotated[
            str,
            Parameter(description=f"one of: {', '.join(DIMENSIONS)}", schema_extra=DIMENSION),
        ],
        period: _Period = None,
        alias: _Alias = None,
        start: _From = None,
        end: _To = None,
        limit: Annotated[
            int, QueryParameter(description="rows, 1 to 100", schema_extra=LIMIT)
        ] = DEFAULT_TOP,
        filters: _Filters = None,
    ) -> BreakdownOut:
        period = period_of(period, alias)
        span = reporting.span(period=period, start=_moment(start, "from"), end=_moment(end, "to"))
        found = await reporting.breakdown(project_id, span, dimension, filters or (), limit=limit)
        return BreakdownOut.of(found)

    def goal_book() -> Goals:
        if services.goals is None:
            raise NotFound("this server keeps no goals")
        return services.goals

    @get("/{project_id:str}/goals", summary="List a project's goals", responses=_ONE)
    async def list_goals(project_id: FromPath[str]) -> GoalListOut:
        return GoalListOut(goals=[GoalOut.of(g) for g in await goal_book().list(project_id)])

    @post(
        "/{project_id:str}/goals",
        status_code=201,
        summary="Add a goal: a page, a custom event or a scroll depth",
        description=_GOAL,
        responses=error_specs(400, 401, 404, 413, 503),
        operation_class=operation_with_body(
            GoalCreateIn, "The new goal.", media_types=("application/json",)
        ),
    )
    async def add_goal(project_id: FromPath[str], request: Request[Any, Any, Any]) -> GoalOut:
        data = decode_body(_goal, await request.body())
        spec = GoalSpec(page=data.page, event=data.event, depth=data.depth, name=data.name)
        return GoalOut.of(await goal_book().add(project_id, spec))

    @delete(
        "/{project_id:str}/goals/{goal_id:str}",
        status_code=204,
        summary="Remove a goal (the events stay)",
        responses=_ONE,
    )
    async def remove_goal(project_id: FromPath[str], goal_id: FromPath[str]) -> None:
        await goal_book().remove(project_id, goal_id)

    @get(
        "/{project_id:str}/goals/report",
        summary="Read a project's conversions per goal",
        description=_GOAL_REPORT,
        responses=_QUERY,
    )
    async def goal_report(
        project_id: FromPath[str],
        period: _Period = None,
        alias: _Alias = None,
        start: _From = None,
        end: _To = None,
        filters: _Filters = None,
    ) -> GoalReportOut:
        period = period_of(period, alias)
        span = reporting.span(period=period, start=_moment(start, "from"), end=_moment(end, "to"))
        return GoalReportOut.of(await reporting.goal_report(project_id, span, filters or ()))

    def funnel_book() -> Funnels:
        if services.funnels is None:
            raise NotFound("this server keeps no funnels")
        return services.funnels

    @get("/{project_id:str}/funnels", summary="List a project's funnels", responses=_ONE)
    async def list_funnels(project_id: FromPath[str]) -> FunnelListOut:
        found = await funnel_book().list(project_id)
        return FunnelListOut(funnels=[FunnelOut.of(f) for f in found])

    @post(
        "/{project_id:str}/funnels",
        status_code=201,
        summary="Add a funnel: 2 to 8 ordered page or custom event steps",
        description=_FUNNEL,
        responses=error_specs(400, 401, 404, 413, 503),
        operation_class=operation_with_body(
            FunnelCreateIn, "The new funnel.", media_types=("application/json",)
        ),
    )
    async def add_funnel(project_id: FromPath[str], request: Request[Any, Any, Any]) -> FunnelOut:
        data = decode_body(_funnel, await request.body())
        steps = tuple(Step(page=s.page, event=s.event) for s in data.steps)
        spec = FunnelSpec(steps=steps, name=data.name)
        return FunnelOut.of(await funnel_book().add(project_id, spec))

    @delete(
        "/{project_id:str}/funnels/{funnel_id:str}",
        status_code=204,
        summary="Remove a funnel (the events stay)",
        responses=_ONE,
    )
    async def remove_funnel(project_id: FromPath[str], funnel_id: FromPath[str]) -> None:
        await funnel_book().remove(project_id, funnel_id)

    @get(
        "/{project_id:str}/funnels/{funnel_id:str}",
        summary="Read a funnel: visitors, conversion and drop-off per step",
        description=_FUNNEL_REPORT,
        responses=_QUERY,
    )
    async def funnel_report(
        project_id: FromPath[str],
        funnel_id: FromPath[str],
        period: _Period = None,
        alias: _Alias = None,
        start: _From = None,
        end: _To = None,
        filters: _Filters = None,
    ) -> FunnelReportOut:
        period = period_of(period, alias)
        span = reporting.span(period=period, start=_moment(start, "from"), end=_moment(end, "to"))
        found = await reporting.funnel_report(project_id, funnel_id, span, filters or ())
        return FunnelReportOut.of(found)

    @get(
        "/{project_id:str}/export",
        summary="Export a project's raw events (CSV, JSON Lines) or its days (Plausible zip)",
        description=_EXPORT,
        responses=_QUERY,
        operation_class=operation_with_stream(
            "The events or the days' figures, as a file to save.",
            [media.split(";", 1)[0] for media in EXPORT_MEDIA_TYPES.values()],
        ),
    )
    async def export(
        project_id: FromPath[str],
        form: Annotated[
            str,
            QueryParameter(
                name="format",
                description="csv (default), jsonl or plausible-zip",
                schema_extra={"enum": list(EXPORT_FORMATS)},
            ),
        ] = "csv",
        period: _Period = None,
        alias: _Alias = None,
        start: _From = None,
        end: _To = None,
    ) -> Response[Any]:
        check_format(form)
        period = period_of(period, alias)
        span = reporting.span(period=period, start=_moment(start, "from"), end=_moment(end, "to"))
        return await export_answer(services, project_id, span, form)

    @get(
        "/{project_id:str}/bots",
        summary="Read a project's bot log",
        description=_BOTS,
        responses=_QUERY,
    )
    async def bots(
        project_id: FromPath[str],
        period: _Period = None,
        alias: _Alias = None,
        start: _From = None,
        end: _To = None,
    ) -> BotsOut:
        period = period_of(period, alias)
        span = reporting.span(period=period, start=_moment(start, "from"), end=_moment(end, "to"))
        return BotsOut.of(await services.bot_report(project_id, span))

    @get(
        "/{project_id:str}/retention",
        summary="Read a project's active visitors and cohort retention",
        description=_RETENTION,
        responses=_QUERY,
    )
    async def retention(
        project_id: FromPath[str],
        period: _Period = None,
        alias: _Alias = None,
        start: _From = None,
        end: _To = None,
        filters: _Filters = None,
    ) -> RetentionOut:
        if services.cohorts is None:
            raise NotFound("this server computes no retention")
        period = period_of(period, alias)
        if period is None and start is None and end is None:
            # Retention is read over days: a day alone would show no return.
            period = "30d"
        span = reporting.span(period=period, start=_moment(start, "from"), end=_moment(end, "to"))
        return RetentionOut.of(await services.cohorts.report(project_id, span, filters or ()))

    return Router(
        path="/api/v1/projects",
        route_handlers=[
            create_project,
            list_projects,
            get_project,
            update_project,
            delete_project,
            list_tokens,
            issue_token,
            revoke_token,
            stats,
            breakdown,
            export,
            bots,
            list_goals,
            add_goal,
            remove_goal,
            goal_report,
            list_funnels,
            add_funnel,
            remove_funnel,
            funnel_report,
            retention,
        ],
        # The key first: without one, every route is a 401 whatever its path says.
        guards=[require_admin_key, known_ids],
        request_max_body_size=ADMIN_BODY_LIMIT,
        tags=["admin"],
        security=[{"adminKey": []}],
    )
