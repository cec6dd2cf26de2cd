"""What every command shares: settings from its flags, services, migrations, messages.

Settings, services and migrations come from the composition root
(:mod:`privalytics.bootstrap`); this module turns the command's flags into its request and
its answers and errors into lines. Domain errors become one-line messages in :func:`fail`;
no command prints a traceback for bad input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from privalytics import bootstrap
from privalytics.adapters.wire import pretty
from privalytics.bootstrap import Settings
from privalytics.domain.errors import (
    ConfigError,
    InvalidInput,
    PrivalyticsError,
    StorageUnavailable,
)
from privalytics.domain.services import Services

T = TypeVar("T")


class BadInput(click.ClickException):
    """Bad input or settings: click's usage exit code."""

    exit_code = 2


def fail(exc: PrivalyticsError) -> click.ClickException:
    """The one place that turns a domain error into a CLI message (exit 2 for bad input
    or settings, 1 for a refused operation: not found, unauthenticated, storage down)."""
    if isinstance(exc, InvalidInput | ConfigError):
        return BadInput(str(exc))
    return click.ClickException(str(exc))


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except PrivalyticsError as exc:
        raise fail(exc) from None


def _database_failure(exc: StorageUnavailable, settings: Settings) -> str | None:
    """What to fix when the database is out of reach, naming the database, the user and
    the server from the URL (never its password)."""
    server = bootstrap.database_server(settings)
    if server is None:  # a port that is not a number: the driver refused it first
        return None
    address, database, user = server.address, server.database, server.user
    setting = bootstrap.where("database_url", flags())
    messages = {
        "no_database": f"database {database!r} does not exist on the server at {address}; "
        f"create it (createdb {database}) or correct {setting}",
        "sign_in_refused": f"could not sign in to PostgreSQL at {address} as {user!r}: the "
        f"server refused the user name or password; correct {setting}",
        "unreachable": f"no database server answers at {address}; start it or correct {setting}",
        "unknown_host": f"the database host {server.hostname!r} is unknown; correct {setting}",
    }
    return messages.get(exc.reason or "")


def flags() -> frozenset[str]:
    """The settings given as flags to this command (see :func:`settings`)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return frozenset(obj.get("flags", ())) if isinstance(obj, dict) else frozenset()


async def migrate(settings: Settings) -> tuple[str | None, str | None] | None:
    """Migrate; a database that cannot be used is named, with what to correct."""
    try:
        return await bootstrap.migrate(settings)
    except StorageUnavailable as exc:
        message = _database_failure(exc, settings)
        if message is None:
            raise
        raise click.ClickException(message) from None


async def with_services(settings: Settings, use: Callable[[Services], Awaitable[T]]) -> T:
    await migrate(settings)
    services = bootstrap.build(settings)
    try:
        return await use(services)
    finally:
        await services.aclose()


def settings(ctx: click.Context, **overrides: Any) -> Settings:
    for warning in bootstrap.settings_warnings():
        click.echo(f"warning: {warning}", err=True)
    given = {"database_url": ctx.obj.get("database_url"), **overrides}
    ctx.find_root().obj["flags"] = frozenset(k for k, v in given.items() if v is not None)
    try:
        return bootstrap.settings(**given)
    except PrivalyticsError as exc:
        raise fail(exc) from None


def moment(text: str, flag: str) -> datetime:
    """A date (YYYY-MM-DD: midnight UTC) or a date-time with an offset, in UTC."""
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{flag}: {text!r} is not a date (2026-01-31) or a date-time") from None
    if found.tzinfo is None:
        if len(text) != len("2026-01-31"):
            raise BadInput(f"{flag}: a date-time needs an offset or Z, e.g. 2026-01-31T08:00Z")
        found = found.replace(tzinfo=UTC)
    return found.astimezone(UTC)


def echo_json(data: object) -> None:
    """--json prints the HTTP API's response bodies (:mod:`privalytics.adapters.wire`),
    so that both speak one JSON."""
    click.echo(pretty(data))
