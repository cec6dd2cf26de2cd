"""The ``privalytics`` command: serve, migrate, manage projects, tokens and admin keys.

Every command that opens the database brings its schema up to date first, so a new user
can run them in any order. What the commands need (settings, services, migrations, the
server's options, the demo) they ask of the composition root, :mod:`privalytics.bootstrap`.
One module per area: :mod:`~privalytics.cli.serve`, :mod:`~privalytics.cli.database`
(migrate, rollup, expire, backup), :mod:`~privalytics.cli.projects` (projects and their tokens),
:mod:`~privalytics.cli.admin` (admin keys, dashboard users), :mod:`~privalytics.cli.stats`;
:mod:`~privalytics.cli.common` holds what they share.
"""

from __future__ import annotations

import click

from privalytics.cli.admin import admin
from privalytics.cli.database import backup, expire, migrate, rollup
from privalytics.cli.exporting import export
from privalytics.cli.importing import import_file, project_imports
from privalytics.cli.projects import project
from privalytics.cli.retention import retention
from privalytics.cli.serve import _dashboard_hint as _dashboard_hint
from privalytics.cli.serve import serve
from privalytics.cli.stats import stats

__all__ = ["main"]


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


for command in (serve, migrate, rollup, expire, backup, export, import_file, project, admin, stats):
    main.add_command(command)
main.add_command(retention)
project.add_command(project_imports)
