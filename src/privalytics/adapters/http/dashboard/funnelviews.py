"""Funnels on the dashboard: the funnel page (a bar per step with its conversion and the
drop-off from the step before, over the page's range and filters), the project page's
list of funnels linking to it, and the settings page's form's reading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from privalytics.adapters.http.dashboard.auth import render
from privalytics.adapters.http.dashboard.panels import Address
from privalytics.adapters.http.dashboard.reading import page_filters, page_span
from privalytics.adapters.http.dashboard.views import PageContext, bar, choose
from privalytics.adapters.http.periods import ALIAS, period_of
from privalytics.domain.errors import NotFound
from privalytics.domain.funnelbook import Funnels
from privalytics.domain.funnels import Funnel, FunnelSpec, Step, StepFigures, parse_step
from privalytics.domain.services import Services

_DASH = "\u2013"


@dataclass(frozen=True)
class StepRow:
    number: int
    label: str
    visitors: int
    # "75%" of step 1's visitors, or a dash when step 1 has none.
    conversion: str
    # The bar's width: the step's visitors in percent of step 1's.
    width: int
    # "1 (25%)" lost since the step before; empty for step 1.
    dropoff: str


def step_label(step: Step) -> str:
    """A step in words: a page pattern as it is, a custom event by its name."""
    return str(step.page) if step.event is None else f"Custom event {step.event}"


def step_rows(steps: list[StepFigures]) -> list[StepRow]:
    first = steps[0].visitors if steps else 0
    rows = []
    for number, figures in enumerate(steps, 1):
        rate = figures.conversion
        lost = figures.dropoff_rate
        rows.append(
            StepRow(
                number=number,
                label=step_label(figures.step),
                visitors=figures.visitors,
                conversion=_DASH if rate is None else f"{rate:g}%",
                width=bar(figures.visitors, first),
                dropoff=""
                if number == 1
                else f"{figures.dropoff:,} ({_DASH if lost is None else f'{lost:g}%'})",
            )
        )
    return rows


def describe(funnel: Funnel) -> str:
    """A funnel's steps in words, in order."""
    return " → ".join(step_label(step) for step in funnel.steps)


def funnel_spec(data: dict[str, str]) -> FunnelSpec:
    """A funnel as the settings page's form describes it: one step per line (a page
    pattern, or event:NAME), blank lines skipped, and a name (empty: derived)."""
    lines = [line.strip() for line in data.get("steps", "").splitlines()]
    name = data.get("name", "").strip() or None
    return FunnelSpec(steps=tuple(parse_step(line) for line in lines if line), name=name)


def funnel_book(services: Services) -> Funnels:
    if services.funnels is None:
        raise NotFound("this server keeps no funnels")
    return services.funnels


def funnel_handlers(services: Services, page: PageContext) -> list[Any]:
    """The funnel page; the router it joins requires a signed-in user."""
    admin = services.admin
    reporting = services.reporting

    @get("/dashboard/projects/{project_id:str}/funnels/{funnel_id:str}", name="dashboard:funnel")
    async def funnel_page(
        request: Request[Any, Any, Any],
        project_id: FromPath[str],
        funnel_id: FromPath[str],
        period: Annotated[str | None, QueryParameter(name="period")] = None,
        alias: Annotated[str | None, QueryParameter(name=ALIAS)] = None,
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        end: Annotated[str | None, QueryParameter(name="to")] = None,
        filter_: Annotated[list[str] | None, QueryParameter(name="filter")] = None,
    ) -> Template:
        project = await admin.get_project(project_id)
        choice = choose(period_of(period, alias), start, end)
        span = page_span(services, choice)
        base = f"/dashboard/projects/{project.id}"
        address = Address(base, choice, page_filters(filter_))
        here = Address(f"{base}/funnels/{funnel_id}", choice, address.filters)
        report = await reporting.funnel_report(project.id, funnel_id, span, address.texts)
        overall = report.conversion
        return render(
            request,
            "funnel.html.j2",
            {
                "project": project,
                "projects": await admin.list_projects(),
                "choice": choice,
                "base": here.base,
                "address": here,
                "back": f"{base}?{address.query}",
                "filter_chips": here.chips(),
                "funnel": report.funnel,
                "steps": step_rows(report.steps),
                "overall": _DASH if overall is None else f"{overall:g}%",
                "partial": report.partial,
                "raw_from": report.raw_from,
            },
        )

    return [funnel_page]
