"""``privalytics import``: another tool's per-request history into a project (see
:mod:`privalytics.domain.importing`; the formats: :mod:`privalytics.adapters.importformats`)."""

from __future__ import annotations

from pathlib import Path

import click

from privalytics.adapters.importformats import detect, parse, sha256_of
from privalytics.cli.common import BadInput, echo_json, run, settings, with_services
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.importing import FORMATS, ImportSummary
from privalytics.domain.models import ImportRecord
from privalytics.domain.services import Services


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _describe(summary: ImportSummary, name: str) -> str:
    record = summary.record
    if summary.already:
        return (
            f"{name} was imported into {record.project_id} already, on "
            f"{record.imported_at:%Y-%m-%d %H:%M} UTC ({record.id}: "
            f"{_plural(record.events, 'event')}); nothing was stored again"
        )
    lines = [
        f"imported {_plural(record.events, 'event')} from {name} into {record.project_id} "
        f"({record.id})"
    ]
    if record.first is not None and record.last is not None:
        lines.append(f"  from {record.first:%Y-%m-%d %H:%M} to {record.last:%Y-%m-%d %H:%M} UTC")
    lines.append(f"  {_plural(summary.lines, 'line')} read")
    if summary.dropped:
        shown = ", ".join(
            f"{count:,} {reason}"
            for reason, count in sorted(summary.dropped.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        lines.append(f"  dropped: {shown}")
    return "\n".join(lines)


@click.command("import", short_help="Import an access log or a GoatCounter export.")
@click.argument("project_id")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "form",
    type=click.Choice(FORMATS),
    default=None,
    help="The file's format (default: told from its first line).",
)
@click.option(
    "--no-refresh",
    is_flag=True,
    help="Leave the imported days' daily figures to the server's next refresh (or "
    "`privalytics rollup`) instead of computing them before returning.",
)
@click.pass_context
def import_file(
    ctx: click.Context, project_id: str, file: Path, form: str | None, no_refresh: bool
) -> None:
    """Import FILE's page views into a project: an nginx or Apache access log in the
    combined log format (gzip-compressed too), or a GoatCounter CSV export (version 2).

    Each request is cleaned, classified and hashed as a live event would be; bots,
    assets, errors, redirects and methods other than GET are dropped. All or nothing: a
    malformed line is reported with its number and nothing is stored. Importing the same
    file again stores nothing. See docs/data-lifecycle.md#import.
    """
    chosen = settings(ctx)
    try:
        form = form or detect(file)
        if form is None:
            raise BadInput(
                f"cannot tell the format of {file}: give --format access-log or "
                "--format goatcounter"
            )
        digest = sha256_of(file)
    except OSError as error:
        raise BadInput(f"cannot read {file}: {error.strerror or 'not a readable file'}") from None

    refreshed: list[str] = []

    async def work(services: Services) -> ImportSummary:
        if services.importing is None:
            raise click.ClickException("this storage keeps no imports")
        summary = await services.importing.run(
            project_id, form=form, sha256=digest, read=lambda: parse(file, form)
        )
        if not summary.already and not no_refresh:
            # The imported days' figures, now rather than at the server's next refresh. The
            # events are committed already: a refresh that fails (a statement over the
            # timeout on a day of many events) is reported, not an import that failed.
            try:
                await services.refresh_rollups()
            except StorageUnavailable as error:
                refreshed.append(str(error))
        return summary

    try:
        summary = run(with_services(chosen, work))
    except OSError as error:
        raise BadInput(f"cannot read {file}: {error.strerror or 'not a readable file'}") from None
    click.echo(_describe(summary, str(file)))
    for failure in refreshed:
        click.echo(
            f"warning: the imported days' daily figures were not computed ({failure}); "
            "the server's next refresh computes them, or run `privalytics rollup` (the "
            "figures are read from the events until then)",
            err=True,
        )


@click.command("imports", short_help="List the files imported into a project.")
@click.argument("project_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def project_imports(ctx: click.Context, project_id: str, as_json: bool) -> None:
    """List the files imported into a project (privalytics import), oldest first: the
    import's id, format, first and last event, events stored, when, and the file's
    SHA-256 (the same file is never imported twice)."""

    async def read(services: Services) -> list[ImportRecord]:
        if services.importing is None:
            return []
        return await services.importing.imports(project_id)

    records = run(with_services(settings(ctx), read))
    if as_json:
        echo_json({"imports": records})
        return
    if not records:
        click.echo(f"no imports yet: privalytics import {project_id} FILE")
    for record in records:
        span = (
            "no events"
            if record.first is None or record.last is None
            else f"{record.first:%Y-%m-%d} to {record.last:%Y-%m-%d}"
        )
        click.echo(
            f"{record.id}  {record.format}  {span}  {_plural(record.events, 'event')}  "
            f"imported {record.imported_at:%Y-%m-%d %H:%M} UTC  sha256 {record.sha256[:16]}"
        )
