"""``privalytics project``: create, list, show, change and delete projects, and rotate,
list and revoke their tracking tokens (their goals: :mod:`privalytics.cli.goals`;
funnels: :mod:`privalytics.cli.funnels`)."""

from __future__ import annotations

from typing import Any

import click

from privalytics.adapters.wire import ProjectOut, TokenIssuedOut, TokenOut
from privalytics.cli.common import BadInput, echo_json, moment, run, settings, with_services
from privalytics.cli.funnels import funnel
from privalytics.cli.goals import goal
from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Project, ProjectUpdate, TimeRange, TokenKind
from privalytics.domain.ratelimit import parse_rate_limit
from privalytics.domain.services import Services


def _describe(project: Project) -> str:
    origins = ", ".join(project.allowed_origins) or "any (set --allowed-origin to restrict)"
    return (
        f"{project.name}\n  id:              {project.id}\n"
        f"  rate limit:      {project.rate_limit}\n  allowed origins: {origins}"
    )


def _rate(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_rate_limit(value)
    except InvalidInput as exc:
        raise click.BadParameter(exc.message, param_hint="--rate-limit") from None


@click.group()
def project() -> None:
    """Create, list, change and delete projects."""


@project.command("create")
@click.argument("name")
@click.option(
    "--rate-limit",
    default=None,
    metavar="N/UNIT",
    help="Events per token, e.g. 1000/minute (default 1000/minute).",
)
@click.option(
    "--allowed-origin",
    "origins",
    multiple=True,
    metavar="ORIGIN",
    help="Origin allowed to send browser events (repeatable); none means any.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def project_create(
    ctx: click.Context, name: str, rate_limit: str | None, origins: tuple[str, ...], as_json: bool
) -> None:
    """Create a project and print its tracking token once.

    The token is shown only this once: store it."""
    rate = _rate(rate_limit)
    created = run(
        with_services(
            settings(ctx),
            lambda s: s.admin.create_project(name, rate_limit=rate, allowed_origins=origins),
        )
    )
    if as_json:
        echo_json({"project": ProjectOut.of(created.project), "token": created.token.token})
        return
    click.echo(f"Created project {_describe(created.project)}\n")
    click.echo(f"Tracking token (shown only once, store it now):\n  {created.token.token}")


@project.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def project_list(ctx: click.Context, as_json: bool) -> None:
    """List projects."""
    projects = run(with_services(settings(ctx), lambda s: s.admin.list_projects()))
    if as_json:
        echo_json({"projects": [ProjectOut.of(p) for p in projects]})
        return
    if not projects:
        click.echo("no projects yet: privalytics project create NAME")
    for item in projects:
        click.echo(f"{item.id}  {item.name}  ({item.rate_limit})")


@project.command("show")
@click.argument("project_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def project_show(ctx: click.Context, project_id: str, as_json: bool) -> None:
    """Show one project."""
    found = run(with_services(settings(ctx), lambda s: s.admin.get_project(project_id)))
    if as_json:
        echo_json({"project": ProjectOut.of(found)})
    else:
        click.echo(_describe(found))


@project.command("update")
@click.argument("project_id")
@click.option("--name", default=None)
@click.option("--rate-limit", default=None, metavar="N/UNIT")
@click.option(
    "--allowed-origin",
    "origins",
    multiple=True,
    metavar="ORIGIN",
    help="Replaces the allowed origins (repeatable).",
)
@click.option("--any-origin", is_flag=True, help="Clear the allowed origins: accept any.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def project_update(
    ctx: click.Context,
    project_id: str,
    name: str | None,
    rate_limit: str | None,
    origins: tuple[str, ...],
    any_origin: bool,
    as_json: bool,
) -> None:
    """Change a project's name, rate limit or allowed origins."""
    if origins and any_origin:
        raise click.UsageError("give --allowed-origin or --any-origin, not both")
    update = ProjectUpdate(
        name=name,
        rate_limit=_rate(rate_limit),
        allowed_origins=() if any_origin else (origins or None),
    )
    changed = run(
        with_services(settings(ctx), lambda s: s.admin.update_project(project_id, update))
    )
    if as_json:
        echo_json({"project": ProjectOut.of(changed)})
    else:
        click.echo(f"Updated {_describe(changed)}")


@project.command("delete")
@click.argument("project_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def project_delete(ctx: click.Context, project_id: str, yes: bool) -> None:
    """Delete a project, its tokens and all of its events."""
    if not yes and not click.confirm(
        f"Delete project {project_id} and all of its events? This cannot be undone"
    ):
        raise click.Abort
    run(with_services(settings(ctx), lambda s: s.admin.delete_project(project_id)))
    click.echo(f"deleted project {project_id}")


@project.command("erase")
@click.argument("project_id")
@click.option("--from", "start", required=True, metavar="DATE", help="From this date (UTC).")
@click.option("--to", "end", required=True, metavar="DATE", help="Until this date, excluded.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def project_erase(ctx: click.Context, project_id: str, start: str, end: str, yes: bool) -> None:
    """Delete a range of a project's events.

    The events from --from until --to go, and their days' figures are recomputed. Dates
    are UTC days (2026-01-31) or date-times with an offset; --to is excluded.
    """
    first, last = moment(start, "--from"), moment(end, "--to")
    if last <= first:
        raise BadInput("--to must be after --from")
    if not yes and not click.confirm(
        f"Delete the events of project {project_id} from {first:%Y-%m-%d %H:%M} to "
        f"{last:%Y-%m-%d %H:%M} UTC? This cannot be undone"
    ):
        raise click.Abort

    async def erase(services: Services) -> int:
        span = TimeRange(start=first, end=last)
        erased = await services.admin.erase_events(project_id, span)
        await services.refresh_rollups()
        return erased

    erased = run(with_services(settings(ctx), erase))
    click.echo(f"erased {erased} event{'' if erased == 1 else 's'} of project {project_id}")


@project.group("token")
def token() -> None:
    """Rotate, list and revoke a project's tracking tokens."""


@token.command("rotate")
@click.argument("project_id")
@click.option(
    "--revoke-others",
    is_flag=True,
    help="Revoke every other token of the project of the same kind.",
)
@click.option(
    "--server",
    is_flag=True,
    help="A server token: secret, never in a page; the only kind whose events may name "
    "their visitor (visitor_ip, user_agent), for the Python client and the middleware.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def token_rotate(
    ctx: click.Context, project_id: str, revoke_others: bool, server: bool, as_json: bool
) -> None:
    """Issue a new token (shown only once).

    A browser token (for pages) unless --server."""
    kind = TokenKind.SERVER if server else TokenKind.BROWSER
    issued = run(
        with_services(
            settings(ctx),
            lambda s: s.admin.issue_token(project_id, revoke_others=revoke_others, kind=kind),
        )
    )
    if as_json:
        echo_json(TokenIssuedOut.of(issued))
        return
    if server:
        click.echo("New server token (secret: keep it on your servers, never in a page):")
        click.echo(f"  {issued.token}")
        return
    click.echo(f"New token (shown only once):\n  {issued.token}")


@token.command("list")
@click.argument("project_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def token_list(ctx: click.Context, project_id: str, as_json: bool) -> None:
    """List a project's tokens (ids only: secrets are never stored)."""
    infos = run(with_services(settings(ctx), lambda s: s.admin.list_tokens(project_id)))
    if as_json:
        echo_json({"tokens": [TokenOut.of(i) for i in infos]})
        return
    for info in infos:
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(
            f"{info.id}  {info.kind.value:<7}  created {info.created_at:%Y-%m-%d %H:%M}  {state}"
        )


@token.command("revoke")
@click.argument("project_id")
@click.argument("token_id")
@click.pass_context
def token_revoke(ctx: click.Context, project_id: str, token_id: str) -> None:
    """Revoke a tracking token.

    Every server refuses it within the cache TTL (30 s by default)."""
    run(with_services(settings(ctx), lambda s: s.admin.revoke_token(project_id, token_id)))
    click.echo(f"revoked token {token_id}")


project.add_command(goal)
project.add_command(funnel)
