"""Funnels: ordered steps a visitor goes through, and how many make it to each.

A funnel belongs to one project and has 2 to :data:`MAX_STEPS` ordered steps, each either
a **page** step (a page view whose path matches a pattern, the page goals' patterns:
``*`` any characters but ``/``, ``**`` any characters; see
:func:`privalytics.domain.goals.matches_pattern`) or an **event** step (a custom event of
that name), and a name unique within its project (given, or derived from the steps).

How a funnel is counted (:func:`funnel_counts`). A visitor hash stands for one person
only within its salt window (:func:`privalytics.domain.hashing.window_of`), so the
events are grouped by (salt window, visitor hash), each group ordered by time, ties in the
domain's total order of events (:func:`privalytics.domain.sessions.event_order`). A
visitor reaches step ``n`` when its events contain, in that order, one for step 1, a later
one for step 2, ..., a later one for step ``n`` (each event counts for one step, so
``/a`` then ``/a`` needs two views of ``/a``; other events may come in between). Reaching
step ``n`` implies reaching every step before it, so the counts never rise. Matching each
step at its first chance after the previous one is optimal (a later match could only
leave fewer events for the steps after), so one pass per visitor decides it.

Filters select sessions as everywhere in insight: a funnel under filters is counted over
the events of the selected sessions (:func:`privalytics.domain.activity.selected_events`).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from fractions import Fraction

import msgspec

from privalytics.domain.custom import built_in
from privalytics.domain.errors import InvalidInput
from privalytics.domain.goals import MAX_GOAL_EVENT, MAX_PATTERN, matches_pattern
from privalytics.domain.hashing import window_of
from privalytics.domain.models import Action, Event, TimeRange
from privalytics.domain.sessions import event_order
from privalytics.domain.text import first_unsafe, has_surrogate

MIN_STEPS = 2
MAX_STEPS = 8
# At most this many funnels per project: a funnel's report reads the range's events, and
# the settings page lists them all.
MAX_FUNNELS = 50
MAX_FUNNEL_NAME = 120
# How a step is written in one string (the CLI's --step): a path pattern, or this prefix
# and a custom event's name.
EVENT_PREFIX = "event:"


class StepKind(enum.StrEnum):
    PAGE = "page"
    EVENT = "event"


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One step: ``page``, a path pattern (``kind`` page), or ``event``, a custom event's
    name (``kind`` event); exactly one of them."""

    page: str | None = None
    event: str | None = None

    @property
    def kind(self) -> StepKind:
        return StepKind.PAGE if self.event is None else StepKind.EVENT

    def __str__(self) -> str:
        return f"{EVENT_PREFIX}{self.event}" if self.event is not None else str(self.page)


class Funnel(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    project_id: str
    name: str
    steps: tuple[Step, ...]
    created_at: datetime


class FunnelSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A funnel as someone asks for it, before it is checked (``name`` None: derived)."""

    steps: tuple[Step, ...]
    name: str | None = None


class StepFigures(msgspec.Struct, frozen=True, kw_only=True):
    step: Step
    # The visitors who did steps 1 to this one, in order.
    visitors: int
    # ``visitors`` in percent of step 1's (two decimals; None when step 1 has none).
    conversion: float | None
    # The visitors of the step before who did not do this one (0 for step 1), and that
    # in percent of the step before's (None for step 1, or when it had none).
    dropoff: int
    dropoff_rate: float | None


class FunnelReport(msgspec.Struct, frozen=True, kw_only=True):
    funnel: Funnel
    range: TimeRange
    # The filters it honours, as written.
    filters: tuple[str, ...]
    steps: list[StepFigures]
    # The last step's visitors in percent of the first's (None when the first has none).
    conversion: float | None
    # Where raw events begin (None: kept forever), and whether the range starts before:
    # a funnel reads raw events only, so it then covers raw_from..end only.
    raw_from: datetime | None = None
    partial: bool = False


def _text(value: str, what: str, limit: int, field: str) -> str:
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters", field=field)
    refused = first_unsafe(value)
    if refused:
        raise InvalidInput(f"{what} {refused}", field=field)
    if has_surrogate(value):
        raise InvalidInput(f"{what} is not valid Unicode (a lone surrogate)", field=field)
    return value


def parse_step(text: str) -> Step:
    """A step written as one string: ``event:NAME`` or a path pattern (``/pricing``)."""
    if text.startswith(EVENT_PREFIX):
        return Step(event=text[len(EVENT_PREFIX) :])
    return Step(page=text)


def check_step(step: Step, number: int) -> Step:
    """``step`` as stored (trimmed); InvalidInput naming the step (1-based) and why."""
    field = f"steps[{number - 1}]"
    where = f"step {number}:"
    if (step.page is None) == (step.event is None):
        raise InvalidInput(f"{where} give either page (a path pattern) or event", field=field)
    if step.event is not None:
        event = step.event.strip()
        if not event:
            raise InvalidInput(f"{where} an event name must not be empty", field=field)
        event = _text(event, f"{where} an event name", MAX_GOAL_EVENT, field)
        if built_in(event) is not None:
            # Sent under this name an event is stored as that action: never a custom event.
            raise InvalidInput(
                f"{where} {event!r} names a built-in action ({built_in(event)}), never a "
                "custom event",
                field=field,
            )
        return Step(event=event)
    assert step.page is not None
    page = step.page.strip()
    if not page.startswith("/"):
        raise InvalidInput(
            f"{where} a page pattern starts with / (e.g. /pricing or /blog/**); an event "
            f"step is {EVENT_PREFIX}NAME",
            field=field,
        )
    return Step(page=_text(page, f"{where} a page pattern", MAX_PATTERN, field))


def derived_name(steps: Sequence[Step]) -> str:
    name = " → ".join(str(step) for step in steps)
    if len(name) > MAX_FUNNEL_NAME:
        name = name[: MAX_FUNNEL_NAME - 1] + "…"
    return name


def check_funnel(spec: FunnelSpec) -> FunnelSpec:
    """The funnel as stored (steps checked, name trimmed or derived); InvalidInput naming
    what is wrong."""
    if not MIN_STEPS <= len(spec.steps) <= MAX_STEPS:
        raise InvalidInput(
            f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps, not {len(spec.steps)}",
            field="steps",
        )
    steps = tuple(check_step(step, number) for number, step in enumerate(spec.steps, 1))
    name = derived_name(steps) if spec.name is None else spec.name.strip()
    if not name:
        raise InvalidInput("a funnel's name must not be empty", field="name")
    return FunnelSpec(steps=steps, name=_text(name, "a funnel's name", MAX_FUNNEL_NAME, "name"))


def does(step: Step, event: Event) -> bool:
    """Whether ``event`` does ``step``."""
    if step.event is not None:
        return event.action is Action.CUSTOM and event.name == step.event
    assert step.page is not None
    return event.action is Action.VISIT and matches_pattern(step.page, event.path)


def reached(run: Sequence[Event], steps: Sequence[Step]) -> int:
    """How many steps of ``steps`` one visitor's ``run`` (in order) did in order."""
    done = 0
    for event in run:
        if done == len(steps):
            break
        if does(steps[done], event):
            done += 1
    return done


def counts_of_runs(runs: Iterable[Iterable[int]], size: int) -> list[int]:
    """Per step of a funnel of ``size`` steps, the runs that did steps 1 to it in order;
    a run is one visitor's events in order as the steps each does (bit n: step n+1),
    events that do no step left out or not (they change nothing)."""
    counts = [0] * size
    for run in runs:
        done = 0
        for mask in run:
            if mask >> done & 1:
                done += 1
                if done == size:
                    break
        for index in range(done):
            counts[index] += 1
    return counts


def funnel_counts(events: Iterable[Event], steps: Sequence[Step], rotation: timedelta) -> list[int]:
    """Per step, the visitors (per salt window) who did steps 1 to it in order, among
    ``events`` (in any order)."""
    runs: dict[tuple[str, int, str], list[Event]] = defaultdict(list)
    for event in events:
        key = (event.project_id, window_of(event.timestamp, rotation), event.visitor_hash)
        runs[key].append(event)
    counts = [0] * len(steps)
    for run in runs.values():
        run.sort(key=event_order)
        for index in range(reached(run, steps)):
            counts[index] += 1
    return counts


def _percent(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float(round(Fraction(100 * part, whole), 2))


def figures(funnel: Funnel, counts: Sequence[int]) -> list[StepFigures]:
    """Each step's figures from :func:`funnel_counts` (a funnel has at least 2 steps)."""
    first = counts[0]
    made: list[StepFigures] = []
    for index, (step, count) in enumerate(zip(funnel.steps, counts, strict=True)):
        before = counts[index - 1] if index else None
        made.append(
            StepFigures(
                step=step,
                visitors=count,
                conversion=_percent(count, first),
                dropoff=0 if before is None else before - count,
                dropoff_rate=None if before is None else _percent(before - count, before),
            )
        )
    return made


def funnel_report(
    funnel: Funnel,
    span: TimeRange,
    filters: tuple[str, ...],
    counts: Sequence[int],
    *,
    raw_from: datetime | None = None,
    partial: bool = False,
) -> FunnelReport:
    steps = figures(funnel, counts)
    return FunnelReport(
        funnel=funnel,
        range=span,
        filters=filters,
        steps=steps,
        conversion=_percent(counts[-1], counts[0]),
        raw_from=raw_from,
        partial=partial,
    )
