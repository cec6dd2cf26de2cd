"""``privalytics project funnel``: add, list, show (visitors, conversion and drop-off per
step over a period) and remove a project's funnels."""

from __future__ import annotations

import click

from privalytics.adapters.wire import FunnelListOut, FunnelOut, FunnelReportOut
from privalytics.cli.common import echo_json, run, settings, with_services
from privalytics.domain.errors import NotFound
from privalytics.domain.funnelbook import Funnels
from privalytics.domain.funnels import Funnel, FunnelReport, FunnelSpec, parse_step
from privalytics.domain.reporting import PERIODS
from privalytics.domain.services import Services


def _book(services: Services) -> Funnels:
    if services.funnels is None:
        raise NotFound("this server keeps no funnels")
    return services.funnels


def _steps(funnel: Funnel) -> str:
    return " → ".join(str(step) for step in funnel.steps)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:g} %"


@click.group("funnel", short_help="Add, list, show and remove a project's funnels.")
def funnel() -> None:
    """Add, list, show and remove a project's funnels (ordered pages and custom events)."""


@funnel.command("add", short_help="Add a funnel of 2-8 ordered page or event steps.")
@click.argument("project_id")
@click.option(
    "--step",
    "steps",
    multiple=True,
    metavar="STEP",
    help="A step, in order (2 to 8): a page pattern (/pricing, /blog/*, /docs/**) or "
    "event:NAME for a custom event.",
)
@click.option("--name", default=None, help="Its name (default: derived from the steps).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def funnel_add(
    ctx: click.Context, project_id: str, steps: tuple[str, ...], name: str | None, as_json: bool
) -> None:
    """Add a funnel: --step /pricing --step event:Signup ... (in order)."""
    spec = FunnelSpec(steps=tuple(parse_step(step) for step in steps), name=name)
    made = run(with_services(settings(ctx), lambda s: _book(s).add(project_id, spec)))
    if as_json:
        echo_json(FunnelOut.of(made))
        return
    click.echo(f"added funnel {made.name!r} ({_steps(made)}), id {made.id}")


@funnel.command("list")
@click.argument("project_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def funnel_list(ctx: click.Context, project_id: str, as_json: bool) -> None:
    """List a project's funnels, oldest first."""
    found = run(with_services(settings(ctx), lambda s: _book(s).list(project_id)))
    if as_json:
        echo_json(FunnelListOut(funnels=[FunnelOut.of(f) for f in found]))
        return
    if not found:
        click.echo(
            f"no funnels yet: privalytics project funnel add {project_id} "
            "--step /pricing --step event:Signup"
        )
        return
    for made in found:
        click.echo(f"{made.id}  {made.name}  ({_steps(made)})")


@funnel.command("show", short_help="Show a funnel's visitors, conversion and drop-off.")
@click.argument("project_id")
@click.argument("funnel_id")
@click.option(
    "--period",
    type=click.Choice(list(PERIODS)),
    default="30d",
    show_default=True,
    help="The last period to count over.",
)
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="FILTER",
    help="Count the sessions it selects only (as the API's filter=, e.g. country==DE).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def funnel_show(
    ctx: click.Context,
    project_id: str,
    funnel_id: str,
    period: str,
    filters: tuple[str, ...],
    as_json: bool,
) -> None:
    """Show a funnel's visitors, conversion and drop-off per step over the last --period."""

    async def read(services: Services) -> FunnelReport:
        span = services.reporting.span(period=period)
        return await services.reporting.funnel_report(project_id, funnel_id, span, filters)

    report = run(with_services(settings(ctx), read))
    if as_json:
        echo_json(FunnelReportOut.of(report))
        return
    click.echo(f"{report.funnel.name}, last {period}:")
    for number, step in enumerate(report.steps, 1):
        lost = "" if number == 1 else f", {step.dropoff} dropped ({_percent(step.dropoff_rate)})"
        click.echo(
            f"  {number}. {step.step}: {step.visitors} visitors ({_percent(step.conversion)}){lost}"
        )
    click.echo(f"overall conversion: {_percent(report.conversion)}")


@funnel.command("remove")
@click.argument("project_id")
@click.argument("funnel_id")
@click.pass_context
def funnel_remove(ctx: click.Context, project_id: str, funnel_id: str) -> None:
    """Remove a funnel (the events stay)."""
    removed = run(with_services(settings(ctx), lambda s: _book(s).remove(project_id, funnel_id)))
    click.echo(f"removed funnel {removed.name!r}")
