"""The ``privalytics`` command: serve, migrate, manage projects, tokens and admin keys.

Every command that opens the database brings its schema up to date first, so a new user
can run them in any order. Domain errors become one-line messages in :func:`_fail`; no
command prints a traceback for bad input.
"""

from __future__ import annotations

import asyncio
import errno
import os
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click
import msgspec

from privalytics import bootstrap
from privalytics.adapters.logs import server_log_config
from privalytics.config import Settings, load_settings, unknown_variables, where
from privalytics.domain.accounts import Accounts
from privalytics.domain.errors import (
    ConfigError,
    InvalidInput,
    PrivalyticsError,
    StorageUnavailable,
)
from privalytics.domain.models import Project, ProjectUpdate, TokenInfo
from privalytics.domain.ratelimit import parse_rate_limit
from privalytics.domain.services import Services

if TYPE_CHECKING:
    from privalytics.adapters.http.schemas import ProjectOut, TokenOut

T = TypeVar("T")


class _BadInput(click.ClickException):
    """Bad input or settings: click's usage exit code."""

    exit_code = 2


def _fail(exc: PrivalyticsError) -> click.ClickException:
    """The one place that turns a domain error into a CLI message (exit 2 for bad input
    or settings, 1 for a refused operation: not found, unauthenticated, storage down)."""
    if isinstance(exc, InvalidInput | ConfigError):
        return _BadInput(str(exc))
    return click.ClickException(str(exc))


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except PrivalyticsError as exc:
        raise _fail(exc) from None


def _database_failure(exc: StorageUnavailable, settings: Settings) -> str | None:
    """What to fix when the database is out of reach, naming the database, the user and
    the server from the URL (never its password)."""
    url = urlsplit(settings.database_url)
    try:
        address = f"{url.hostname or 'localhost'}:{url.port or 5432}"
    except ValueError:  # a port that is not a number: the driver refused it first
        return None
    database, user = url.path.lstrip("/"), url.username or "(the system user)"
    setting = where("database_url", _flags())
    messages = {
        "no_database": f"database {database!r} does not exist on the server at {address}; "
        f"create it (createdb {database}) or correct {setting}",
        "sign_in_refused": f"could not sign in to PostgreSQL at {address} as {user!r}: the "
        f"server refused the user name or password; correct {setting}",
        "unreachable": f"no database server answers at {address}; start it or correct {setting}",
        "unknown_host": f"the database host {url.hostname!r} is unknown; correct {setting}",
    }
    return messages.get(exc.reason or "")


def _flags() -> frozenset[str]:
    """The settings given as flags to this command (see :func:`_settings`)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return frozenset(obj.get("flags", ())) if isinstance(obj, dict) else frozenset()


async def _migrate(settings: Settings) -> tuple[str | None, str | None] | None:
    """Migrate; a database that cannot be used is named, with what to correct."""
    try:
        return await bootstrap.migrate(settings)
    except StorageUnavailable as exc:
        message = _database_failure(exc, settings)
        if message is None:
            raise
        raise click.ClickException(message) from None


async def _with_services(settings: Settings, use: Callable[[Services], Awaitable[T]]) -> T:
    await _migrate(settings)
    services = bootstrap.build(settings)
    try:
        return await use(services)
    finally:
        await services.aclose()


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    for warning in unknown_variables():
        click.echo(f"warning: {warning}", err=True)
    given = {"database_url": ctx.obj.get("database_url"), **overrides}
    ctx.find_root().obj["flags"] = frozenset(k for k, v in given.items() if v is not None)
    try:
        return load_settings(**given)
    except PrivalyticsError as exc:
        raise _fail(exc) from None


# --json prints the HTTP API's wire Structs, so that both speak one JSON. They are
# imported on use: their package loads Litestar, which plain-text output does not need.


def _project_json(project: Project) -> ProjectOut:
    from privalytics.adapters.http.schemas import ProjectOut

    return ProjectOut.of(project)


def _token_json(info: TokenInfo) -> TokenOut:
    from privalytics.adapters.http.schemas import TokenOut

    return TokenOut.of(info)


def _echo_json(data: object) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(data), indent=2))


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
@click.version_option(package_name="privalytics")
@click.option(
    "--database-url",
    metavar="URL",
    default=None,
    help="Database URL (env PRIVALYTICS_DATABASE_URL; "
    "default sqlite+aiosqlite:///./privalytics.db).",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """privalytics: self-hosted, privacy-first web analytics."""
    ctx.ensure_object(dict)
    ctx.obj["database_url"] = database_url


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8000).")
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Worker processes (default 1; more need a Redis rate limiter).",
)
@click.option(
    "--rate-limit-url",
    default=None,
    metavar="URL",
    help="memory:// (default) or redis://HOST:PORT/DB.",
)
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.option(
    "--demo", is_flag=True, help="Create a demo project with sample events if there is none."
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    workers: int | None,
    rate_limit_url: str | None,
    log_level: str | None,
    demo: bool,
) -> None:
    """Run the HTTP service (migrating the database first)."""
    settings = _settings(
        ctx,
        host=host,
        port=port,
        workers=workers,
        rate_limit_url=rate_limit_url,
        log_level=log_level,
    )
    try:
        bootstrap.check_backends(settings)
        bootstrap.check_dashboard(settings)
    except PrivalyticsError as exc:
        raise _fail(exc) from None
    if not settings.secret_key:
        # One CSRF secret for every worker of this server.
        settings = msgspec.structs.replace(settings, secret_key=secrets.token_urlsafe(32))
    if demo and bootstrap.backend_of(settings.database_url) == "memory":
        raise click.UsageError(
            "--demo needs a database that outlives the command; use SQLite or PostgreSQL"
        )
    listener = _listen(settings)
    _run(_migrate(settings))
    # Before any worker starts: a server stopped over midnight keeps no old salt, and
    # events stored for a project after its deletion are removed.
    _run(_with_services(settings, Services.housekeeping))
    if demo:
        from privalytics.demo import prepare_demo

        click.echo(_run(prepare_demo(settings, _reachable_url(settings.host, settings.port))))
    _warn_unreachable(settings)
    # Worker processes build their own services from the environment.
    for name, value in msgspec.structs.asdict(settings).items():
        os.environ[f"PRIVALYTICS_{name.upper()}"] = str(value)
    click.echo(
        f"privalytics listening on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker{'s' if settings.workers > 1 else ''}); dashboard at "
        f"http://{settings.host}:{settings.port}/dashboard"
        + _run(_with_services(settings, _dashboard_hint))
    )
    options: dict[str, Any] = {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "log_level": settings.log_level,
        # No record names a client: no access log, and a filter on every other record.
        "log_config": server_log_config(settings.log_level, listen_host=settings.host),
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
    }
    _run_uvicorn(listener, options)


def _run_uvicorn(listener: socket.socket, options: dict[str, Any]) -> None:
    """Serve on ``listener``, the socket :func:`_listen` bound."""
    import uvicorn

    app = "privalytics.bootstrap:asgi_app"
    if options["workers"] > 1:
        # uvicorn's supervisor binds the address itself, at once (it loads no application
        # first): ours is released just before, so the check stands.
        listener.close()
        uvicorn.run(app, **options)
        return
    server = uvicorn.Server(uvicorn.Config(app, **options))
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:  # pragma: no cover (uvicorn handles the signal itself)
        pass
    finally:
        listener.close()
    if not server.started:
        sys.exit(3)  # uvicorn's own code for a server that could not start


def _listen(settings: Settings) -> socket.socket:
    """Bind the server's address before anything says it listens, as uvicorn would (the
    address family by the host's form, SO_REUSEADDR), so that an address that cannot be
    used is one clear message naming the flag, and no "listening" line."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((settings.host, settings.port))
        listener.listen(2048)  # uvicorn's backlog: connections wait until it accepts
    except OSError as exc:
        listener.close()
        raise _listen_failure(exc, settings) from None
    listener.set_inheritable(True)
    return listener


def _listen_failure(exc: OSError, settings: Settings) -> click.ClickException:
    """Our words for why the address cannot be used; never the system's text."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    cannot = f"cannot listen on {host}:{settings.port}"
    flags = _flags()
    if isinstance(exc, socket.gaierror):
        return _BadInput(
            f"{cannot}: {settings.host!r} is not an address or a known host name; "
            f"correct {where('host', flags)}"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return _BadInput(
            f"{cannot}: {settings.host} is not an address of this machine; "
            f"correct {where('host', flags)}"
        )
    if exc.errno == errno.EADDRINUSE:
        return click.ClickException(
            f"{cannot}: the address is already in use (by another server, or another "
            f"privalytics); stop it or choose another {where('port', flags)}"
        )
    if exc.errno == errno.EACCES:
        return click.ClickException(
            f"{cannot}: permission denied (ports below 1024 need administrator rights); "
            f"choose another {where('port', flags)}"
        )
    code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return click.ClickException(f"{cannot}: the system refused ({code})")


def _warn_unreachable(settings: Settings) -> None:
    """One warning line per Redis server of the settings that does not answer: the
    server starts anyway (events and /healthz answer 503 while the limiter's is down)."""
    for warning in asyncio.run(bootstrap.unreachable_services(settings)):
        click.echo(f"warning: {warning}", err=True)


async def _dashboard_hint(services: Services) -> str:
    """How to sign in to the dashboard when nobody can yet."""
    if services.accounts is None or await services.accounts.list_users():
        return ""
    return " (add a user with: privalytics admin user create NAME)"


def _reachable_url(host: str, port: int) -> str:
    """A URL a local client can use for a server listening on ``host``: a wildcard address
    is reached through loopback, an IPv6 address goes in brackets."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema to the newest revision."""
    settings = _settings(ctx)
    click.echo(_migrated(_run(_migrate(settings))))


def _migrated(revisions: tuple[str | None, str | None] | None) -> str:
    if revisions is None:
        return "memory:// keeps no schema: nothing to migrate"
    before, after = revisions
    if before is None:
        return f"Created the schema (revision {after})"
    if before == after:
        return f"Already up to date at revision {after}"
    return f"Migrated the schema from revision {before} to {after}"


@main.command()
@click.pass_context
def rollup(ctx: click.Context) -> None:
    """Compute the per-day figures of the days that are over, now.

    A running server does this every minute; after an upgrade that found events stored,
    this computes them at once instead of in the background."""
    days = _run(_with_services(_settings(ctx), lambda services: services.refresh_rollups()))
    click.echo(f"computed the figures of {days} day{'' if days == 1 else 's'}")


@main.group()
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
    created = _run(
        _with_services(
            _settings(ctx),
            lambda s: s.admin.create_project(name, rate_limit=rate, allowed_origins=origins),
        )
    )
    if as_json:
        _echo_json({"project": _project_json(created.project), "token": created.token.token})
        return
    click.echo(f"Created project {_describe(created.project)}\n")
    click.echo(f"Tracking token (shown only once, store it now):\n  {created.token.token}")


@project.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def project_list(ctx: click.Context, as_json: bool) -> None:
    """List projects."""
    projects = _run(_with_services(_settings(ctx), lambda s: s.admin.list_projects()))
    if as_json:
        _echo_json({"projects": [_project_json(p) for p in projects]})
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
    found = _run(_with_services(_settings(ctx), lambda s: s.admin.get_project(project_id)))
    if as_json:
        _echo_json({"project": _project_json(found)})
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
    changed = _run(
        _with_services(_settings(ctx), lambda s: s.admin.update_project(project_id, update))
    )
    if as_json:
        _echo_json({"project": _project_json(changed)})
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
    _run(_with_services(_settings(ctx), lambda s: s.admin.delete_project(project_id)))
    click.echo(f"deleted project {project_id}")


@project.group("token")
def token() -> None:
    """Rotate, list and revoke a project's tracking tokens."""


@token.command("rotate")
@click.argument("project_id")
@click.option("--revoke-others", is_flag=True, help="Revoke every other token of the project.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def token_rotate(ctx: click.Context, project_id: str, revoke_others: bool, as_json: bool) -> None:
    """Issue a new token (shown only once)."""
    issued = _run(
        _with_services(
            _settings(ctx), lambda s: s.admin.issue_token(project_id, revoke_others=revoke_others)
        )
    )
    if as_json:
        from privalytics.adapters.http.schemas import TokenIssuedOut

        _echo_json(TokenIssuedOut.of(issued))
        return
    click.echo(f"New token (shown only once):\n  {issued.token}")


@token.command("list")
@click.argument("project_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def token_list(ctx: click.Context, project_id: str, as_json: bool) -> None:
    """List a project's tokens (ids only: secrets are never stored)."""
    infos = _run(_with_services(_settings(ctx), lambda s: s.admin.list_tokens(project_id)))
    if as_json:
        _echo_json({"tokens": [_token_json(i) for i in infos]})
        return
    for info in infos:
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(f"{info.id}  created {info.created_at:%Y-%m-%d %H:%M}  {state}")


@token.command("revoke")
@click.argument("project_id")
@click.argument("token_id")
@click.pass_context
def token_revoke(ctx: click.Context, project_id: str, token_id: str) -> None:
    """Revoke a tracking token.

    Every server refuses it within the cache TTL (30 s by default)."""
    _run(_with_services(_settings(ctx), lambda s: s.admin.revoke_token(project_id, token_id)))
    click.echo(f"revoked token {token_id}")


@main.group()
def admin() -> None:
    """Administration credentials."""


@admin.group("key")
def key() -> None:
    """Admin API keys."""


@key.command("create")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def key_create(ctx: click.Context, as_json: bool) -> None:
    """Create an admin API key (shown only once)."""
    text = _run(_with_services(_settings(ctx), lambda s: s.admin.create_admin_key()))
    if as_json:
        _echo_json({"key": text})
    else:
        click.echo(f"Admin API key (shown only once, store it now):\n  {text}")


@key.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def key_list(ctx: click.Context, as_json: bool) -> None:
    """List the admin API keys (ids only: secrets are never stored)."""
    infos = _run(_with_services(_settings(ctx), lambda s: s.admin.list_admin_keys()))
    if as_json:
        _echo_json(
            {
                "keys": [
                    {
                        "id": info.id,
                        "created_at": info.created_at.isoformat(),
                        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
                    }
                    for info in infos
                ]
            }
        )
        return
    if not infos:
        click.echo("no admin keys: privalytics admin key create")
    for info in infos:
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(f"{info.id}  created {info.created_at:%Y-%m-%d %H:%M}  {state}")


@key.command("revoke")
@click.argument("key_id")
@click.pass_context
def key_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke an admin API key.

    Every server refuses it within the cache TTL (30 s by default)."""
    _run(_with_services(_settings(ctx), lambda s: s.admin.revoke_admin_key(key_id)))
    click.echo(f"revoked admin key {key_id}")


@admin.group("user")
def user() -> None:
    """Dashboard users (sign in at /dashboard)."""


def _accounts(services: Services) -> Accounts:
    if services.accounts is None:  # pragma: no cover (bootstrap always gives a user store)
        raise click.ClickException("this storage keeps no dashboard users")
    return services.accounts


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def user_create(ctx: click.Context, username: str, password_stdin: bool) -> None:
    """Create a dashboard user.

    The password is read from a prompt (or standard input with --password-stdin)."""
    password = _read_password(password_stdin)
    _run(_with_services(_settings(ctx), lambda s: _accounts(s).create_user(username, password)))
    click.echo(f"created user {username}")


@user.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def user_password(ctx: click.Context, username: str, password_stdin: bool) -> None:
    """Set a dashboard user's password."""
    password = _read_password(password_stdin)
    _run(_with_services(_settings(ctx), lambda s: _accounts(s).set_password(username, password)))
    click.echo(f"changed the password of {username}")


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """List dashboard users."""
    users = _run(_with_services(_settings(ctx), lambda s: _accounts(s).list_users()))
    if not users:
        click.echo("no users yet: privalytics admin user create NAME")
    for item in users:
        click.echo(f"{item.username}  created {item.created_at:%Y-%m-%d %H:%M}")


@user.command("delete")
@click.argument("username")
@click.pass_context
def user_delete(ctx: click.Context, username: str) -> None:
    """Delete a dashboard user."""
    _run(_with_services(_settings(ctx), lambda s: _accounts(s).delete_user(username)))
    click.echo(f"deleted user {username}")


@main.command()
@click.argument("project_id")
@click.option("--period", default="24h", type=click.Choice(["24h", "7d", "30d", "12m"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats(ctx: click.Context, project_id: str, period: str, as_json: bool) -> None:
    """Print a project's numbers for a period."""

    async def read(services: Services) -> Any:
        span = services.reporting.span(period=period)
        return await services.reporting.stats(project_id, span)

    result = _run(_with_services(_settings(ctx), read))
    if as_json:
        from privalytics.adapters.http.schemas import StatsOut

        _echo_json(StatsOut.of(result))
        return
    click.echo(f"last {period}: {result.visits} visits, {result.unique_visitors} unique visitors")
    click.echo(f"\n  {'action':<9} {'events':>7}")
    for action, count in result.actions.items():
        click.echo(f"  {action.value:<9} {count:>7}")
    if result.top_pages:
        click.echo(f"\ntop pages:\n  {'visits':>7} {'unique':>7}  page")
        for page in result.top_pages:
            click.echo(f"  {page.visits:>7} {page.unique_visitors:>7}  {page.path}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
