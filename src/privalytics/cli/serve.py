"""``privalytics serve``: migrate, bind, say where, then hand the socket to uvicorn."""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
from typing import Any

import click

from privalytics import bootstrap
from privalytics.bootstrap import Settings
from privalytics.cli.common import BadInput, fail, flags, migrate, run, settings, with_services
from privalytics.domain.errors import PrivalyticsError
from privalytics.domain.services import Services


@click.command()
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
    given = settings(
        ctx,
        host=host,
        port=port,
        workers=workers,
        rate_limit_url=rate_limit_url,
        log_level=log_level,
    )
    try:
        bootstrap.check_server(given)
    except PrivalyticsError as exc:
        raise fail(exc) from None
    # One CSRF secret for every worker of this server.
    config = bootstrap.server_settings(given)
    if demo and not bootstrap.keeps_data(config):
        raise click.UsageError(
            "--demo needs a database that outlives the command; use SQLite or PostgreSQL"
        )
    listener = _listen(config)
    run(migrate(config))
    # Before any worker starts: a server stopped over midnight keeps no old salt, and
    # events stored for a project after its deletion are removed.
    run(with_services(config, Services.housekeeping))
    if demo:
        click.echo(run(bootstrap.prepare_demo(config, _reachable_url(config.host, config.port))))
    _warn_unreachable(config)
    _warn_connection_bound(config)
    # Worker processes build their own services from the environment.
    bootstrap.export_settings(config)
    bootstrap.share_metrics(config)
    click.echo(
        f"privalytics listening on http://{config.host}:{config.port} "
        f"({config.workers} worker{'s' if config.workers > 1 else ''}); dashboard at "
        f"http://{config.host}:{config.port}/dashboard"
        + run(with_services(config, _dashboard_hint))
    )
    _run_uvicorn(listener, bootstrap.server_options(config))


def _run_uvicorn(listener: socket.socket, options: dict[str, Any]) -> None:
    """Serve on ``listener``, the socket :func:`_listen` bound."""
    import uvicorn

    app = bootstrap.ASGI_APP
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


def _listen(config: Settings) -> socket.socket:
    """Bind the server's address before anything says it listens, as uvicorn would (the
    address family by the host's form, SO_REUSEADDR), so that an address that cannot be
    used is one clear message naming the flag, and no "listening" line."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((config.host, config.port))
        listener.listen(2048)  # uvicorn's backlog: connections wait until it accepts
    except OSError as exc:
        listener.close()
        raise _listen_failure(exc, config) from None
    listener.set_inheritable(True)
    return listener


def _listen_failure(exc: OSError, config: Settings) -> click.ClickException:
    """Our words for why the address cannot be used; never the system's text."""
    host = f"[{config.host}]" if ":" in config.host else config.host
    cannot = f"cannot listen on {host}:{config.port}"
    given = flags()
    if isinstance(exc, socket.gaierror):
        return BadInput(
            f"{cannot}: {config.host!r} is not an address or a known host name; "
            f"correct {bootstrap.where('host', given)}"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return BadInput(
            f"{cannot}: {config.host} is not an address of this machine; "
            f"correct {bootstrap.where('host', given)}"
        )
    if exc.errno == errno.EADDRINUSE:
        return click.ClickException(
            f"{cannot}: the address is already in use (by another server, or another "
            f"privalytics); stop it or choose another {bootstrap.where('port', given)}"
        )
    if exc.errno == errno.EACCES:
        return click.ClickException(
            f"{cannot}: permission denied (ports below 1024 need administrator rights); "
            f"choose another {bootstrap.where('port', given)}"
        )
    code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return click.ClickException(f"{cannot}: the system refused ({code})")


def _warn_unreachable(config: Settings) -> None:
    """One warning line per Redis server of the settings that does not answer: the
    server starts anyway (events and /healthz answer 503 while the limiter's is down)."""
    for warning in asyncio.run(bootstrap.unreachable_services(config)):
        click.echo(f"warning: {warning}", err=True)


def _warn_connection_bound(config: Settings) -> None:
    """A warning when the open-file limit holds fewer connections than asked for."""
    bound = bootstrap.guard_connections(config)
    if bound < config.max_connections:
        click.echo(
            f"warning: {bootstrap.where('max_connections')} is {config.max_connections}, but "
            f"the open-file limit (ulimit -n) holds {bound} connections per worker; "
            "serving with that bound",
            err=True,
        )


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
