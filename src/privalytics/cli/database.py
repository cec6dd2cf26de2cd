"""``privalytics migrate`` and ``privalytics rollup``: the schema and the per-day figures."""

from __future__ import annotations

import click

from privalytics.cli.common import migrate as migrate_database
from privalytics.cli.common import run, settings, with_services


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
