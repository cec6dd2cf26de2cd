"""``privalytics stats``: a project's numbers in the terminal."""

from __future__ import annotations

from typing import Any

import click

from privalytics.adapters.wire import StatsOut
from privalytics.cli.common import echo_json, run, settings, with_services
from privalytics.domain.services import Services


@click.command()
@click.argument("project_id")
@click.option("--period", default="24h", type=click.Choice(["24h", "7d", "30d", "12m"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats(ctx: click.Context, project_id: str, period: str, as_json: bool) -> None:
    """Print a project's numbers for a period."""

    async def read(services: Services) -> Any:
        span = services.reporting.span(period=period)
        return await services.reporting.stats(project_id, span)

    result = run(with_services(settings(ctx), read))
    if as_json:
        echo_json(StatsOut.of(result))
        return
    click.echo(f"last {period}: {result.visits} visits, {result.unique_visitors} unique visitors")
    click.echo(f"\n  {'action':<9} {'events':>7}")
    for action, count in result.actions.items():
        click.echo(f"  {action.value:<9} {count:>7}")
    if result.top_pages:
        click.echo(f"\ntop pages:\n  {'visits':>7} {'unique':>7}  page")
        for page in result.top_pages:
            click.echo(f"  {page.visits:>7} {page.unique_visitors:>7}  {page.path}")
