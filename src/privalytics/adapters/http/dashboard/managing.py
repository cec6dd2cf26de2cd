"""The dashboard's forms that change things, behind sign-in, and the pages that hold them:
create a project, its settings, issue and revoke its tokens, add and remove its goals and
funnels, delete it.

Handlers translate: a form in, a use case called, a template or a redirect out. Every
state-changing request is a POST with the CSRF token (Litestar's CSRF middleware), and
answers with a redirect and a one-time message (post/redirect/get). A new token, too:
the POST keeps it in the session and redirects to a page that takes it out and shows it,
once; reloading that page repeats nothing and shows the token no more.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from privalytics.adapters.http.dashboard.auth import HOME, FormBody, flash, render
from privalytics.adapters.http.dashboard.funnelviews import describe, funnel_book, funnel_spec
from privalytics.adapters.http.dashboard.goalviews import definition
from privalytics.adapters.http.dashboard.views import PageContext
from privalytics.domain.administration import active_tokens
from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.goalbook import Goals
from privalytics.domain.goals import GoalSpec
from privalytics.domain.models import Project, ProjectUpdate, TokenKind
from privalytics.domain.ratelimit import parse_rate_limit
from privalytics.domain.services import Services

SHOWN_ONCE = "shown_once"


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


def _show_once(
    request: Request[Any, Any, Any],
    project: Project,
    token: str,
    heading: str,
    *,
    revoked_others: bool,
    server: bool = False,
) -> Redirect:
    """Post/redirect/get for a new token: the session holds it until its page shows it."""
    request.session[SHOWN_ONCE] = {
        "project": project.id,
        "token": token,
        "heading": heading,
        "revoked_others": revoked_others,
        "server": server,
    }
    return Redirect(f"/dashboard/projects/{quote(project.id, safe='')}/token", status_code=303)


def goal_spec(data: dict[str, str]) -> GoalSpec:
    """A goal as the settings page's form describes it: a kind (page, event or scroll),
    the page pattern or event name, a scroll depth and a name (empty: derived)."""
    kind = data.get("kind", "page")
    target = data.get("target", "")
    name = data.get("name", "").strip() or None
    if kind == "event":
        return GoalSpec(event=target, name=name)
    if kind == "scroll":
        depth = data.get("depth", "").strip()
        if not depth.isdigit() or len(depth) > 3:
            raise InvalidInput("a scroll depth is 1 to 100 (percent)", field="depth")
        return GoalSpec(page=target, depth=int(depth), name=name)
    if kind != "page":
        raise InvalidInput("must be page, event or scroll", field="kind")
    return GoalSpec(page=target, name=name)


def _settings_url(project_id: str) -> str:
    return f"/dashboard/projects/{quote(project_id, safe='')}/settings"


def managing_handlers(services: Services, page: PageContext) -> list[Any]:
    """The forms and their pages; the router they join requires a signed-in user."""
    admin = services.admin

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
                "projects": await admin.list_projects(),
                "tokens": tokens,
                "active_tokens": len(active_tokens(tokens)),
                "origins": "\n".join(project.allowed_origins),
                "goals": [
                    (goal, definition(goal))
                    for goal in (
                        [] if services.goals is None else await services.goals.list(project.id)
                    )
                ],
                "funnels": [
                    (funnel, describe(funnel))
                    for funnel in (
                        [] if services.funnels is None else await services.funnels.list(project.id)
                    )
                ],
            },
        )

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
        server = data.get("server") == "1"
        kind = TokenKind.SERVER if server else TokenKind.BROWSER
        issued = await admin.issue_token(project.id, revoke_others=revoke_others, kind=kind)
        return _show_once(
            request,
            project,
            issued.token,
            f"New {'server ' if server else ''}token for {project.name}",
            revoked_others=revoke_others,
            server=server,
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
                "server": bool(shown.get("server")),
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

    def goal_book() -> Goals:
        if services.goals is None:
            raise NotFound("this server keeps no goals")
        return services.goals

    @post("/dashboard/projects/{project_id:str}/goals", status_code=303)
    async def add_goal(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        data: Annotated[dict[str, str], FormBody],
    ) -> Redirect:
        await admin.get_project(project_id)
        try:
            added = await goal_book().add(project_id, goal_spec(data))
        except InvalidInput as exc:
            flash(request, "error", f"The goal was not added: {exc}")
        else:
            flash(request, "success", f"Added goal {added.name}: its conversions count at once.")
        return Redirect(f"{_settings_url(project_id)}#goals", status_code=303)

    @post("/dashboard/projects/{project_id:str}/goals/{goal_id:str}/delete", status_code=303)
    async def remove_goal(
        request: Request[Any, Any, Any], project_id: FromPath[str], goal_id: FromPath[str]
    ) -> Redirect:
        removed = await goal_book().remove(project_id, goal_id)
        flash(request, "success", f"Removed goal {removed.name}; the events stay.")
        return Redirect(f"{_settings_url(project_id)}#goals", status_code=303)

    @post("/dashboard/projects/{project_id:str}/funnels", status_code=303)
    async def add_funnel(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        data: Annotated[dict[str, str], FormBody],
    ) -> Redirect:
        await admin.get_project(project_id)
        try:
            added = await funnel_book(services).add(project_id, funnel_spec(data))
        except InvalidInput as exc:
            flash(request, "error", f"The funnel was not added: {exc}")
        else:
            flash(request, "success", f"Added funnel {added.name}: it counts the past too.")
        return Redirect(f"{_settings_url(project_id)}#funnels", status_code=303)

    @post("/dashboard/projects/{project_id:str}/funnels/{funnel_id:str}/delete", status_code=303)
    async def remove_funnel(
        request: Request[Any, Any, Any], project_id: FromPath[str], funnel_id: FromPath[str]
    ) -> Redirect:
        removed = await funnel_book(services).remove(project_id, funnel_id)
        flash(request, "success", f"Removed funnel {removed.name}; the events stay.")
        return Redirect(f"{_settings_url(project_id)}#funnels", status_code=303)

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

    return [
        create_project,
        settings_page,
        update_project,
        rotate_token,
        token_page,
        revoke_token,
        delete_project,
        add_goal,
        remove_goal,
        add_funnel,
        remove_funnel,
    ]
