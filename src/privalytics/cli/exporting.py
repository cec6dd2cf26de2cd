"""``privalytics export``: a project's raw events to a file, CSV or JSON Lines, or its
figures day by day as a zip in the layout of Plausible's CSV export."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO

import click

from privalytics.adapters import plausiblezip
from privalytics.adapters.export import FORMATS, encoded
from privalytics.cli.common import BadInput, moment, run, settings, with_services
from privalytics.domain.daily import days_of
from privalytics.domain.models import Event, TimeRange
from privalytics.domain.services import Services

_PERIODS = ["24h", "7d", "30d", "12m"]


@click.command(short_help="Export raw events, or the days for Plausible.")
@click.argument("project_id")
@click.option(
    "--format",
    "form",
    type=click.Choice([*FORMATS, plausiblezip.FORMAT]),
    default="csv",
    show_default=True,
    help="Raw events (csv, jsonl) or the days' figures for Plausible's CSV import.",
)
@click.option("--period", type=click.Choice(_PERIODS), help="The last 24h, 7d, 30d or 12m.")
@click.option("--from", "start", metavar="DATE", help="From this date (UTC) or date-time.")
@click.option("--to", "end", metavar="DATE", help="Until this date or date-time (default now).")
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The file to write (- for standard output). Written whole or not at all.",
)
@click.pass_context
def export(
    ctx: click.Context,
    project_id: str,
    form: str,
    period: str | None,
    start: str | None,
    end: str | None,
    output: str,
) -> None:
    """Export a project's raw events, or its days' figures for Plausible.

    csv and jsonl: every stored field of every event, oldest first. plausible-zip: the
    figures of every UTC day the range touches, as a zip of CSV files that Plausible's CSV
    import reads. Without --period or --from, the last 24 hours. A progress bar shows on a
    terminal.
    """
    if period is not None and (start is not None or end is not None):
        raise BadInput("give --period or --from/--to, not both")
    first = None if start is None else moment(start, "--from")
    last = None if end is None else moment(end, "--to")
    target = None if output == "-" else Path(output)
    if target is not None and not target.resolve().parent.is_dir():
        raise BadInput(f"--output: the folder {target.resolve().parent} does not exist")

    def span_of(services: Services) -> TimeRange:
        return services.reporting.span(period=period, start=first, end=last)

    if form == plausiblezip.FORMAT:
        days = run(
            with_services(
                settings(ctx), lambda services: _write_zip(services, project_id, span_of, target)
            )
        )
        if target is not None:
            click.echo(f"exported {days} day{'' if days == 1 else 's'} to {target}", err=True)
        return

    async def write(services: Services) -> int:
        reporting = services.reporting
        span = span_of(services)
        batches = await reporting.export(project_id, span)
        if target is None:
            return await _copy(form, batches, sys.stdout.buffer, None)
        total = await reporting.count_events(project_id, span)
        partial = target.with_name(f".{target.name}.partial")
        try:
            with partial.open("wb") as out:
                shown = sys.stderr.isatty()
                with click.progressbar(
                    length=total, label="exporting", file=sys.stderr, hidden=not shown
                ) as bar:
                    written = await _copy(form, batches, out, bar.update)
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        return written

    written = run(with_services(settings(ctx), write))
    if target is not None:
        click.echo(f"exported {written} event{'' if written == 1 else 's'} to {target}", err=True)


async def _copy(
    form: str,
    batches: AsyncIterator[list[Event]],
    out: IO[bytes],
    advance: Callable[[int], None] | None,
) -> int:
    """Write the export to ``out``; returns how many events it holds."""
    written = 0

    async def counted() -> AsyncIterator[list[Event]]:
        nonlocal written
        async for events in batches:
            written += len(events)
            yield events
            if advance is not None:
                advance(len(events))

    async for chunk in encoded(form, counted()):
        out.write(chunk)
    out.flush()
    return written


async def _write_zip(
    services: Services,
    project_id: str,
    span_of: Callable[[Services], TimeRange],
    target: Path | None,
) -> int:
    """Write the Plausible zip to ``target`` (None: standard output), whole or not at
    all; returns how many days it spans."""
    span = span_of(services)
    project = await services.admin.get_project(project_id)
    days = days_of(span)
    source = await services.reporting.daily(project.id, span, plausiblezip.DIMENSIONS)
    shown = target is not None and sys.stderr.isatty()
    with click.progressbar(
        length=len(days), label="exporting days", file=sys.stderr, hidden=not shown
    ) as bar:
        data = await plausiblezip.archive(
            source,
            days[0],
            days[-1],
            hostname=plausiblezip.hostname_of(project.allowed_origins),
            advance=lambda: bar.update(1),
        )
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return len(days)
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return len(days)
