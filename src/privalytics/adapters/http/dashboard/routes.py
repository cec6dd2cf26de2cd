"""The dashboard's pages and forms behind sign-in: overview, a project's numbers, management.

Handlers translate: a form or query string in, a use case called, a template out. Every
state-changing request is a POST with the CSRF token (Litestar's CSRF middleware), and
answers with a redirect and a one-time message (post/redirect/get). A new token, too:
the POST keeps it in the session and redirects to a page that takes it out and shows it,
once; reloading that page repeats nothing and shows the token no more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Router, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from litestar.types import Scope

from privalytics.adapters.http.dashboard.auth import (
    HOME,
    FormBody,
    flash,
    public_handlers,
    render,
    signed_in,
    user_guard,
)
from privalytics.adapters.http.dashboard.views import (
    Choice,
    bar,
    change,
    chart,
    choose,
    rotation_text,
    unique_explanation,
)
from privalytics.adapters.http.periods import ALIAS, period_of
from privalytics.domain.administration import active_tokens
from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, Project, ProjectUpdate, Stats, TimeRange
from privalytics.domain.ratelimit import parse_rate_limit
from privalytics.domain.reports import overview_totals
from privalytics.domain.services import Services

# Sign-in lives in .auth; these are re-exported for the package's assembly.
__all__ = [
    "PageContext",
    "private_handlers",
    "private_router",
    "public_handlers",
    "signed_in",
    "user_guard",
]

# Recent activity shows this many rows, whole: a list, not a box that cuts a row.
FEED_SIZE = 15
_TARGETS = {
    Action.CLICK: "Top click targets",
    Action.DOWNLOAD: "Top downloads",
    Action.SHARE: "Top share networks",
}


@dataclass(frozen=True, kw_only=True)
class PageContext:
    """What every page's template receives besides its own values."""

    rotation: timedelta
    # Where browsers reach this server (the snippet's address); None: from the request.
    public_url: str | None = None
    # Whether a request came over HTTPS (its scheme, or a trusted proxy's header).
    is_https: Callable[[Scope], bool] | None = None


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


def _origins(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace(",", "\n").splitlines() if part.strip())


def _snippet(request: Request[Any, Any, Any], token: str, page: PageContext) -> str:
    """The tag to paste: the configured public address, or else this request's Host with
    https when the request came over HTTPS (a proxy that ended TLS included), so the tag
    is never blocked as mixed content."""
    if page.public_url:
        base = page.public_url.rstrip("/")
    else:
        base = str(request.base_url).rstrip("/")
        if page.is_https is not None and page.is_https(request.scope):
            base = "https://" + base.split("://", 1)[1]
    return f'<script defer src="{base}/tracker.js" data-token="{token}"></script>'


SHOWN_ONCE = "shown_once"


def _show_once(
    request: Request[Any, Any, Any],
    project: Project,
    token: str,
    heading: str,
    *,
    revoked_others: bool,
) -> Redirect:
    """Post/redirect/get for a new token: the session holds it until its page shows it."""
    request.session[SHOWN_ONCE] = {
        "project": project.id,
        "token": token,
        "heading": heading,
        "revoked_others": revoked_others,
    }
    return Redirect(f"/dashboard/projects/{quote(project.id, safe='')}/token", status_code=303)


def private_handlers(services: Services, page: PageContext) -> list[Any]:
    """Every page and form that needs a signed-in user (the router's guard sees to it)."""
    admin = services.admin
    reporting = services.reporting

    async def _projects() -> list[Project]:
        return await admin.list_projects()

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
        for project in await _projects():
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
                "projects": await _projects(),
                "recent": recent,
                "feed_size": FEED_SIZE,
                "base": f"/dashboard/projects/{project.id}",
                **_stats_view(stats, choice, page.rotation),
            },
        )

    @post("/dashboard/projects", status_code=303)
    async def create_project(
        request: Request[Any, Any, Any], data: Annotated[dict[str, str], FormBody]
    ) -> Redirect:
        try:
            rate = data.get("rate_limit", "").strip()
            created = await admin.create_project(
                data.get("name", ""),
                rate_limit=parse_rate_limit(rate) if rate else None,
                allowed_origins=_origins(data.get("allowed_origins", "")),
            )
        except InvalidInput as exc:
            flash(request, "error", f"The project was not created: {exc}")
            return Redirect(f"{HOME}#new-project", status_code=303)
        return _show_once(
            request,
            created.project,
            created.token.token,
            f"Created project {created.project.name}",
            revoked_others=False,
        )

    @get("/dashboard/projects/{project_id:str}/settings", name="dashboard:settings")
    async def settings_page(request: Request[Any, Any, Any], project_id: FromPath[str]) -> Template:
        project = await admin.get_project(project_id)
        tokens = await admin.list_tokens(project.id)
        return render(
            request,
            "settings.html.j2",
            {
                "project": project,
                "projects": await _projects(),
                "tokens": tokens,
                "active_tokens": len(active_tokens(tokens)),
                "origins": "\n".join(project.allowed_origins),
            },
        )

    def _settings_url(project_id: str) -> str:
        return f"/dashboard/projects/{quote(project_id, safe='')}/settings"

    @post("/dashboard/projects/{project_id:str}/settings", status_code=303)
    async def update_project(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        data: Annotated[dict[str, str], FormBody],
    ) -> Redirect:
        try:
            rate = data.get("rate_limit", "").strip()
            if not rate:
                # An empty field does not mean "keep" nor "default": say so, change nothing.
                raise InvalidInput(
                    "the rate limit is required; write N/second, N/minute, N/hour or N/day",
                    field="rate_limit",
                )
            await admin.update_project(
                project_id,
                ProjectUpdate(
                    name=data.get("name"),
                    rate_limit=parse_rate_limit(rate),
                    allowed_origins=_origins(data.get("allowed_origins", "")),
                ),
            )
        except InvalidInput as exc:
            flash(request, "error", f"Nothing was changed: {exc}")
        else:
            flash(request, "success", "Saved: the new settings apply at once.")
        return Redirect(_settings_url(project_id), status_code=303)

    @post("/dashboard/projects/{project_id:str}/tokens", status_code=303)
    async def rotate_token(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        data: Annotated[dict[str, str], FormBody],
    ) -> Redirect:
        project = await admin.get_project(project_id)
        revoke_others = data.get("revoke_others") == "1"
        issued = await admin.issue_token(project.id, revoke_others=revoke_others)
        return _show_once(
            request,
            project,
            issued.token,
            f"New token for {project.name}",
            revoked_others=revoke_others,
        )

    @get("/dashboard/projects/{project_id:str}/token", name="dashboard:token")
    async def token_page(
        request: Request[Any, Any, Any], project_id: FromPath[str]
    ) -> Template | Redirect:
        project = await admin.get_project(project_id)
        shown = request.session.pop(SHOWN_ONCE, None) if request.session else None
        if not isinstance(shown, dict) or shown.get("project") != project.id:
            flash(
                request,
                "info",
                "A new token is shown only once, right after it is made; issue another "
                "one here if it was not copied.",
            )
            return Redirect(_settings_url(project.id), status_code=303)
        token = str(shown.get("token"))
        return render(
            request,
            "token.html.j2",
            {
                "project": project,
                "token": token,
                "snippet": _snippet(request, token, page),
                "heading": str(shown.get("heading")),
                "revoked_others": bool(shown.get("revoked_others")),
            },
        )

    @post("/dashboard/projects/{project_id:str}/tokens/{token_id:str}/revoke", status_code=303)
    async def revoke_token(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        token_id: FromPath[str],
        data: Annotated[dict[str, str], FormBody],
    ) -> Redirect:
        # The last-active check is the store's, in the same step as the revoke: checked
        # here first, two revokes at once could each see the other's token active.
        revoked = await admin.revoke_token(
            project_id, token_id, keep_last=data.get("confirm_last") != "1"
        )
        if revoked.revoked_at is None:
            flash(
                request,
                "error",
                f"Not revoked: {token_id} is the project's last active token. Tick the box "
                "to confirm, or issue a new token first.",
            )
            return Redirect(_settings_url(project_id), status_code=303)
        flash(request, "success", f"Revoked token {token_id}: events sent with it are refused.")
        if not any(t.revoked_at is None for t in await admin.list_tokens(project_id)):
            flash(
                request,
                "warning",
                "The project has no active token now: every event sent to it is refused "
                "until you issue a new one.",
            )
        return Redirect(_settings_url(project_id), status_code=303)

    @post("/dashboard/projects/{project_id:str}/delete", status_code=303)
    async def delete_project(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        data: Annotated[dict[str, str], FormBody],
    ) -> Redirect:
        project = await admin.get_project(project_id)
        if data.get("confirm", "").strip() != project.name:
            flash(
                request,
                "error",
                "Not deleted: type the project's name exactly to confirm the deletion.",
            )
            return Redirect(_settings_url(project_id), status_code=303)
        await admin.delete_project(project.id)
        flash(request, "success", f"Deleted project {project.name} and all of its events.")
        return Redirect(HOME, status_code=303)

    @get("/dashboard/go")
    async def go(project: Annotated[str | None, QueryParameter(name="project")] = None) -> Redirect:
        """The project selector's target (it works without the script, too)."""
        if not project:
            return Redirect(HOME, status_code=303)
        return Redirect(f"/dashboard/projects/{quote(project, safe='')}")

    return [
        go,
        overview,
        project_page,
        create_project,
        settings_page,
        update_project,
        rotate_token,
        token_page,
        revoke_token,
        delete_project,
    ]


def private_router(services: Services, page: PageContext, extra: list[Any]) -> Router:
    accounts = services.accounts
    if accounts is None:
        raise ValueError("the dashboard needs services with accounts (a user store)")
    return Router(
        path="/",
        route_handlers=[*private_handlers(services, page), *extra],
        before_request=user_guard(accounts),
        include_in_schema=False,
    )
