"""``privalytics migrate``, ``rollup``, ``expire`` and ``backup``: the schema, the per-day
figures, raw-event retention and a copy of the database."""

from __future__ import annotations

import click

from privalytics import bootstrap
from privalytics.cli.common import fail, run, settings, with_services
from privalytics.cli.common import migrate as migrate_database
from privalytics.domain.errors import PrivalyticsError


@click.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema to the newest revision."""
    click.echo(_migrated(run(migrate_database(settings(ctx)))))


def _migrated(revisions: tuple[str | None, str | None] | None) -> str:
    if revisions is None:
        return "memory:// keeps no schema: nothing to migrate"
    before, after = revisions
    if before is None:
        return f"Created the schema (revision {after})"
    if before == after:
        return f"Already up to date at revision {after}"
    return f"Migrated the schema from revision {before} to {after}"


@click.command()
@click.pass_context
def rollup(ctx: click.Context) -> None:
    """Compute the per-day figures of the days that are over, now.

    A running server does this every minute; after an upgrade that found events stored,
    this computes them at once instead of in the background."""
    days = run(with_services(settings(ctx), lambda services: services.refresh_rollups()))
    click.echo(f"computed the figures of {days} day{'' if days == 1 else 's'}")


@click.command(short_help="Delete the raw events past their retention, now.")
@click.option("--dry-run", is_flag=True, help="Count the events that would go; delete none.")
@click.pass_context
def expire(ctx: click.Context, dry_run: bool) -> None:
    """Delete the raw events older than PRIVALYTICS_EVENT_RETENTION_DAYS, now.

    A running server does this once a day. The per-day figures of those days stay: the
    days that are over are computed first, and a day that could not be keeps its events
    until the next run (docs/data-lifecycle.md, Retention)."""
    found = run(with_services(settings(ctx), lambda services: services.expire_now(dry_run=dry_run)))
    if found is None:
        click.echo(
            "events are kept forever (PRIVALYTICS_EVENT_RETENTION_DAYS is 0 or unset):"
            " nothing to delete"
        )
        return
    count = f"{found.events} event{'' if found.events == 1 else 's'}"
    before = found.before.strftime("%Y-%m-%dT%H:%M:%SZ")
    verb = "would delete" if found.dry_run else "deleted"
    click.echo(f"{verb} {count} older than {before}")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.pass_context
def backup(ctx: click.Context, file: str) -> None:
    """Copy the SQLite database to FILE, consistently.

    Servers may go on writing meanwhile. FILE must not exist. The copy holds every event
    acknowledged before it began; restore it by stopping the server and putting FILE in
    the database's place (or pointing PRIVALYTICS_DATABASE_URL at it). For PostgreSQL,
    use pg_dump (docs/data-lifecycle.md).
    """
    config = settings(ctx)
    try:
        events = bootstrap.backup(config, file)
    except PrivalyticsError as exc:
        raise fail(exc) from None
    click.echo(f"backed up the database to {file} ({events} event{'' if events == 1 else 's'})")
