"""``privalytics retention``: a project's active visitors and cohorts in the terminal, or
the plain-words reason they cannot be measured under the current salt rotation."""

from __future__ import annotations

import click

from privalytics.adapters.cohortwire import RetentionOut
from privalytics.cli.common import echo_json, run, settings, with_services
from privalytics.domain.cohortreport import RetentionReport
from privalytics.domain.errors import NotFound
from privalytics.domain.services import Services

_PERIODS = ["7d", "30d", "12m"]


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@click.command(short_help="Print active visitors and cohort retention.")
@click.argument("project_id")
@click.option("--period", default="30d", show_default=True, type=click.Choice(_PERIODS))
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="FILTER",
    help="Only this part of the traffic, as for stats (e.g. source==Google); repeat to combine.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the HTTP API's body).")
@click.pass_context
def retention(
    ctx: click.Context, project_id: str, period: str, filters: tuple[str, ...], as_json: bool
) -> None:
    """Print a project's active visitors and cohort retention (exact within each salt
    window: PRIVALYTICS_SALT_ROTATION)."""

    async def read(services: Services) -> RetentionReport:
        if services.cohorts is None:
            raise NotFound("this server computes no retention")
        span = services.reporting.span(period=period)
        return await services.cohorts.report(project_id, span, filters)

    report = run(with_services(settings(ctx), read))
    if as_json:
        echo_json(RetentionOut.of(report))
        return
    found = report.activity
    active = found.active
    click.echo(
        f"last {period} (salt rotation {found.rotation_days}d): daily active visitors "
        f"{_figure(active.dau)} on average, weekly {_figure(active.wau)}, monthly "
        f"{_figure(active.mau)}, stickiness {_figure(active.stickiness)}"
    )
    if found.reason:
        click.echo(f"\n{found.reason}")
    if not found.cohorts:
        return
    click.echo(f"\n  {'first seen':<10} {'visitors':>8}  returning on day 1, 2, ...")
    for cohort in found.cohorts:
        cells = " ".join("-" if n is None else str(n) for n in cohort.returning)
        click.echo(f"  {cohort.day:%Y-%m-%d} {cohort.visitors:>8}  {cells}")
