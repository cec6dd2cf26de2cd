"""``privalytics stats``: a project's numbers in the terminal."""

from __future__ import annotations

from typing import Any

import click

from privalytics.adapters.wire import BreakdownOut, StatsOut
from privalytics.adapters.words import duration_text, missing_label
from privalytics.cli.common import echo_json, run, settings, with_services
from privalytics.domain.dimensions import DIMENSIONS
from privalytics.domain.dimensions import dimension as find_dimension
from privalytics.domain.services import Services

_PERIODS = ["24h", "7d", "30d", "12m"]


@click.command()
@click.argument("project_id")
@click.option("--period", default="24h", type=click.Choice(_PERIODS))
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="FILTER",
    help="Only this part of the traffic: DIMENSION==VALUE, DIMENSION!=VALUE or "
    "DIMENSION~TEXT (e.g. source==Google); repeat to combine.",
)
@click.option(
    "--by",
    "dimension",
    metavar="DIMENSION",
    help=f"Break the numbers down by this dimension instead: {', '.join(DIMENSIONS)}, "
    "or prop:KEY (a custom event's property).",
)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the HTTP API's body).")
@click.pass_context
def stats(
    ctx: click.Context,
    project_id: str,
    period: str,
    filters: tuple[str, ...],
    dimension: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Print a project's numbers, or break them down by a dimension."""

    async def read(services: Services) -> Any:
        span = services.reporting.span(period=period)
        if dimension is not None:
            return await services.reporting.breakdown(
                project_id, span, dimension, filters, limit=limit
            )
        return await services.reporting.stats(project_id, span, top=limit, filters=filters)

    result = run(with_services(settings(ctx), read))
    if dimension is not None:
        if as_json:
            echo_json(BreakdownOut.of(result))
            return
        _print_breakdown(result, dimension)
        return
    if as_json:
        echo_json(StatsOut.of(result))
        return
    where = f" where {' and '.join(filters)}" if filters else ""
    click.echo(
        f"last {period}{where}: {result.visits} visits, {result.unique_visitors} unique visitors"
    )
    rate = "-" if result.bounce_rate is None else f"{result.bounce_rate}%"
    click.echo(
        f"{result.sessions} sessions, bounce rate {rate}, "
        f"visit duration {duration_text(result.visit_duration)}"
    )
    click.echo(f"\n  {'action':<9} {'events':>7}")
    for action, count in result.actions.items():
        click.echo(f"  {action.value:<9} {count:>7}")
    if result.top_pages:
        click.echo(f"\ntop pages:\n  {'visits':>7} {'unique':>7}  page")
        for page in result.top_pages:
            click.echo(f"  {page.visits:>7} {page.unique_visitors:>7}  {page.path}")


def _print_breakdown(result: Any, dimension: str) -> None:
    found = find_dimension(dimension)
    label = (dimension if found is None else found.label).lower()
    click.echo(f"  {'visitors':>8} {'visits':>7} {'views':>7} {'bounce':>6}  {label}")
    for row in result.rows:
        figures = row.figures.reported
        rate = "-" if figures.bounce_rate is None else f"{figures.bounce_rate}%"
        value = missing_label(dimension) if row.value is None else row.value
        click.echo(
            f"  {row.figures.visitors:>8} {figures.sessions:>7} {figures.pageviews:>7} "
            f"{rate:>6}  {value}"
        )
