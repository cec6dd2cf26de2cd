"""``privalytics project goal``: add, list (with their conversions) and remove a project's
goals."""

from __future__ import annotations

import click

from privalytics.adapters.wire import GoalOut, GoalReportOut
from privalytics.cli.common import echo_json, run, settings, with_services
from privalytics.domain.conversions import GoalFigures, GoalReport
from privalytics.domain.errors import NotFound
from privalytics.domain.goalbook import Goals
from privalytics.domain.goals import Goal, GoalKind, GoalSpec
from privalytics.domain.reporting import PERIODS
from privalytics.domain.services import Services


def _book(services: Services) -> Goals:
    if services.goals is None:
        raise NotFound("this server keeps no goals")
    return services.goals


def _definition(goal: Goal) -> str:
    if goal.kind is GoalKind.EVENT:
        return f"event {goal.event}"
    if goal.kind is GoalKind.SCROLL:
        return f"scroll {goal.depth}% on {goal.page}"
    return f"page {goal.page}"


def _line(figures: GoalFigures) -> str:
    goal = figures.goal
    rate = "-" if figures.conversion_rate is None else f"{figures.conversion_rate:g} %"
    money = "".join(
        f", {r.currency} {r.total:.2f} (average {r.average:.2f})" for r in figures.revenue
    )
    return (
        f"{goal.id}  {goal.name}  ({_definition(goal)}): {figures.visitors} visitors "
        f"converted ({rate}), {figures.conversions} conversions{money}"
    )


@click.group("goal", short_help="Add, list and remove a project's goals.")
def goal() -> None:
    """Add, list and remove a project's goals (conversions: pages, events, scroll depth)."""


@goal.command("add", short_help="Add a page, event or scroll-depth goal.")
@click.argument("project_id")
@click.option(
    "--page", default=None, metavar="PATTERN", help="A page goal: /pricing, /blog/*, /docs/**."
)
@click.option("--event", default=None, metavar="NAME", help="A custom event goal: Signup.")
@click.option(
    "--depth",
    type=int,
    default=None,
    metavar="PERCENT",
    help="With --page: a scroll goal, a scroll of at least PERCENT (1-100) on the page.",
)
@click.option("--name", default=None, help="Its name (default: derived from the definition).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def goal_add(
    ctx: click.Context,
    project_id: str,
    page: str | None,
    event: str | None,
    depth: int | None,
    name: str | None,
    as_json: bool,
) -> None:
    """Add a goal: --page PATTERN (* any characters but /, ** any), --event NAME, or
    --page PATTERN --depth PERCENT."""
    spec = GoalSpec(page=page, event=event, depth=depth, name=name)
    made = run(with_services(settings(ctx), lambda s: _book(s).add(project_id, spec)))
    if as_json:
        echo_json(GoalOut.of(made))
        return
    click.echo(f"added goal {made.name!r} ({_definition(made)}), id {made.id}")


@goal.command("list", short_help="List the goals with their conversions.")
@click.argument("project_id")
@click.option(
    "--period",
    type=click.Choice(list(PERIODS)),
    default="30d",
    show_default=True,
    help="The conversions of this last period.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def goal_list(ctx: click.Context, project_id: str, period: str, as_json: bool) -> None:
    """List a project's goals with their conversions over the last --period."""

    async def read(services: Services) -> GoalReport:
        span = services.reporting.span(period=period)
        return await services.reporting.goal_report(project_id, span)

    report = run(with_services(settings(ctx), read))
    if as_json:
        echo_json(GoalReportOut.of(report))
        return
    if not report.goals:
        click.echo(f"no goals yet: privalytics project goal add {project_id} --page /pricing")
        return
    click.echo(f"last {period}: {report.visitors} visitors")
    for figures in report.goals:
        click.echo(_line(figures))


@goal.command("remove")
@click.argument("project_id")
@click.argument("goal_id")
@click.pass_context
def goal_remove(ctx: click.Context, project_id: str, goal_id: str) -> None:
    """Remove a goal (the events stay; only the goal's figures go)."""
    removed = run(with_services(settings(ctx), lambda s: _book(s).remove(project_id, goal_id)))
    click.echo(f"removed goal {removed.name!r}")
