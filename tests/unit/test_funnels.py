"""Funnels: their definitions, and their counts held to a brute-force definition that
tries every way of picking the steps' events (any event sequence per visitor)."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryFunnelStore,
    InMemoryTokenStore,
)
from privalytics.domain.activity import selected_events
from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.filters import parse_filters
from privalytics.domain.funnelbook import Funnels
from privalytics.domain.funnels import (
    MAX_FUNNEL_NAME,
    Funnel,
    FunnelSpec,
    Step,
    StepKind,
    check_funnel,
    counts_of_runs,
    does,
    figures,
    funnel_counts,
    parse_step,
)
from privalytics.domain.goals import matches_pattern
from privalytics.domain.hashing import window_of
from privalytics.domain.models import Action, Event, Project, RateLimit, TimeRange
from privalytics.domain.reporting import Reporting
from privalytics.domain.retention import Retention
from privalytics.domain.sessions import event_order
from privalytics.testing import ManualClock
from tests import strategies

DAILY = timedelta(days=1)
NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _matches(step: Step, event: Event) -> bool:
    if step.event is not None:
        return event.action is Action.CUSTOM and event.name == step.event
    assert step.page is not None
    return event.action is Action.VISIT and matches_pattern(step.page, event.path)


def _brute_force(events: Sequence[Event], steps: Sequence[Step]) -> list[int]:
    """Per step n, the (window, visitor) pairs with n distinct events, in their order,
    doing steps 1..n: every choice of n events tried."""
    runs: dict[tuple[int, str], list[Event]] = defaultdict(list)
    for event in events:
        runs[window_of(event.timestamp, DAILY), event.visitor_hash].append(event)
    counts = []
    for n in range(1, len(steps) + 1):
        counts.append(
            sum(
                any(
                    all(_matches(step, run[i]) for step, i in zip(steps[:n], chosen, strict=True))
                    for chosen in itertools.combinations(range(len(run)), n)
                )
                for run in (sorted(r, key=event_order) for r in runs.values())
            )
        )
    return counts


@given(strategies.funnel_events(), strategies.funnel_steps)
def test_funnel_counts_equal_the_brute_force_definition(
    events: list[Event], steps: tuple[Step, ...]
) -> None:
    assert funnel_counts(events, steps, DAILY) == _brute_force(events, steps)


@given(strategies.funnel_events(), strategies.funnel_steps, st.randoms(use_true_random=False))
def test_funnel_counts_never_rise_and_ignore_the_events_arrival_order(
    events: list[Event], steps: tuple[Step, ...], rng: random.Random
) -> None:
    counts = funnel_counts(events, steps, DAILY)
    assert all(a >= b for a, b in itertools.pairwise(counts))
    shuffled = list(events)
    rng.shuffle(shuffled)
    assert funnel_counts(shuffled, steps, DAILY) == counts


def _visit(path: str, at: datetime, visitor: str = "v1") -> Event:
    return Event(project_id="p", action=Action.VISIT, path=path, timestamp=at, visitor_hash=visitor)


def _custom(name: str, at: datetime, visitor: str = "v1") -> Event:
    return Event(
        project_id="p",
        action=Action.CUSTOM,
        name=name,
        path="/",
        timestamp=at,
        visitor_hash=visitor,
    )


def test_steps_count_only_in_order_and_each_event_does_one_step() -> None:
    steps = (Step(page="/pricing"), Step(event="Signup"), Step(page="/pricing"))
    events = [
        _custom("Signup", NOON),  # before /pricing: does not count for step 2
        _visit("/pricing", NOON + timedelta(minutes=1)),
        _custom("Signup", NOON + timedelta(minutes=2)),
        # v2 signs up after pricing but never views pricing again.
        _visit("/pricing", NOON, "v2"),
        _custom("Signup", NOON + timedelta(minutes=5), "v2"),
        _visit("/pricing", NOON + timedelta(minutes=3)),
    ]
    assert funnel_counts(events, steps, DAILY) == [2, 2, 1]


def test_a_visitor_hash_in_another_salt_window_is_another_visitor() -> None:
    steps = (Step(page="/a"), Step(page="/b"))
    # The same hash on two days: two people, neither of whom did both steps.
    events = [_visit("/a", NOON), _visit("/b", NOON + DAILY)]
    assert funnel_counts(events, steps, DAILY) == [1, 0]
    same_day = [_visit("/a", NOON), _visit("/b", NOON + timedelta(hours=11))]
    assert funnel_counts(same_day, steps, DAILY) == [1, 1]


def test_the_figures_state_conversion_and_drop_off_in_percent() -> None:
    funnel = Funnel(
        id="f",
        project_id="p",
        name="n",
        steps=(Step(page="/a"), Step(page="/b"), Step(event="Signup")),
        created_at=NOON,
    )
    made = figures(funnel, [3, 2, 0])
    assert [(f.visitors, f.conversion, f.dropoff, f.dropoff_rate) for f in made] == [
        (3, 100.0, 0, None),
        (2, 66.67, 1, 33.33),
        (0, 0.0, 2, 100.0),
    ]
    nobody = figures(funnel, [0, 0, 0])
    assert [(f.conversion, f.dropoff_rate) for f in nobody] == [(None, None)] * 3


@pytest.mark.parametrize(
    ("steps", "name", "field", "words"),
    [
        (["/a"], None, "steps", "2 to 8 steps, not 1"),
        (["/a"] * 9, None, "steps", "2 to 8 steps, not 9"),
        (["/a", "pricing"], None, "steps[1]", "step 2: a page pattern starts with /"),
        (["/a", "event:"], None, "steps[1]", "step 2: an event name must not be empty"),
        (["event:click", "/a"], None, "steps[0]", "names a built-in action"),
        (["/a", "/b\x00"], None, "steps[1]", "step 2: a page pattern"),
        (["/a", "/b"], "  ", "name", "must not be empty"),
        (["/a", "/b\ud800"], None, "steps[1]", "lone surrogate"),
        (["/a", "/b"], "x" * (MAX_FUNNEL_NAME + 1), "name", "longer than"),
    ],
)
def test_a_malformed_funnel_is_refused_naming_what_is_wrong(
    steps: list[str], name: str | None, field: str, words: str
) -> None:
    spec = FunnelSpec(steps=tuple(parse_step(s) for s in steps), name=name)
    with pytest.raises(InvalidInput) as refused:
        check_funnel(spec)
    assert refused.value.field == field
    assert words in str(refused.value)


def test_a_step_knows_its_kind_and_how_it_is_written() -> None:
    assert (parse_step("/a").kind, str(parse_step("/a"))) == (StepKind.PAGE, "/a")
    signup = parse_step("event:Signup")
    assert (signup.kind, signup.event, str(signup)) == (StepKind.EVENT, "Signup", "event:Signup")


def test_a_step_with_both_page_and_event_is_refused() -> None:
    with pytest.raises(InvalidInput, match="step 1: give either page"):
        check_funnel(FunnelSpec(steps=(Step(page="/a", event="x"), Step(page="/b"))))


def test_a_funnel_is_trimmed_and_named_from_its_steps() -> None:
    checked = check_funnel(
        FunnelSpec(steps=(parse_step(" /pricing "), parse_step("event: Signup")))
    )
    assert checked.steps == (Step(page="/pricing"), Step(event="Signup"))
    assert checked.name == "/pricing → event:Signup"
    long = check_funnel(FunnelSpec(steps=(Step(page="/" + "a" * 300), Step(page="/b"))))
    assert long.name is not None
    assert len(long.name) == MAX_FUNNEL_NAME


def _project(tokens: InMemoryTokenStore) -> None:
    tokens.projects["p"] = Project(
        id="p", name="p", rate_limit=RateLimit(events=1, period_seconds=1), created_at=NOON
    )


async def test_funnels_are_added_listed_and_removed_with_their_limits() -> None:
    tokens, store = InMemoryTokenStore(), InMemoryFunnelStore()
    _project(tokens)
    book = Funnels(funnels=store, tokens=tokens, clock=ManualClock(NOON), limit=2)
    steps = (Step(page="/a"), Step(page="/b"))
    first = await book.add("p", FunnelSpec(steps=steps, name="one"))
    with pytest.raises(InvalidInput, match="named 'one' already"):
        await book.add("p", FunnelSpec(steps=steps, name="one"))
    await book.add("p", FunnelSpec(steps=steps))
    with pytest.raises(InvalidInput, match="at most 2 funnels"):
        await book.add("p", FunnelSpec(steps=steps, name="three"))
    with pytest.raises(NotFound, match="no project"):
        await book.add("q", FunnelSpec(steps=steps))
    assert {f.name for f in await book.list("p")} == {"one", "/a → /b"}
    assert (await book.remove("p", first.id)) == first
    with pytest.raises(NotFound, match="no funnel"):
        await book.remove("p", first.id)


@given(strategies.funnel_events(), strategies.funnel_steps, st.sampled_from(["", "page==/a"]))
async def test_the_report_counts_the_selected_sessions_events(
    events: list[Event], steps: tuple[Step, ...], written: str
) -> None:
    tokens, store, stored = InMemoryTokenStore(), InMemoryFunnelStore(), InMemoryEventStore()
    _project(tokens)
    stored.events.extend(events)
    book = Funnels(funnels=store, tokens=tokens, clock=ManualClock(NOON))
    funnel = await book.add("p", FunnelSpec(steps=steps))
    reporting = Reporting(events=stored, tokens=tokens, clock=ManualClock(NOON), funnels=store)
    span = TimeRange(start=NOON - 2 * DAILY, end=NOON + 2 * DAILY)
    filters = [written] if written else []
    report = await reporting.funnel_report("p", funnel.id, span, filters)
    chosen = selected_events(events, parse_filters(filters), DAILY)
    expected = funnel_counts(chosen, steps, DAILY)
    assert [s.visitors for s in report.steps] == expected
    assert report.filters == tuple(filters)
    with pytest.raises(NotFound, match="no funnel"):
        await reporting.funnel_report("p", "0" * 16, span)


async def test_a_report_reaching_before_raw_retention_says_it_is_partial() -> None:
    tokens, store, stored = InMemoryTokenStore(), InMemoryFunnelStore(), InMemoryEventStore()
    _project(tokens)
    book = Funnels(funnels=store, tokens=tokens, clock=ManualClock(NOON))
    funnel = await book.add("p", FunnelSpec(steps=(Step(page="/a"), Step(page="/b"))))
    reporting = Reporting(
        events=stored,
        tokens=tokens,
        clock=ManualClock(NOON),
        funnels=store,
        retention=Retention(days=30),
    )
    old = TimeRange(start=NOON - 60 * DAILY, end=NOON)
    report = await reporting.funnel_report("p", funnel.id, old)
    assert report.partial
    assert report.raw_from is not None
    assert NOON - 31 * DAILY <= report.raw_from <= NOON - 30 * DAILY
    recent = await reporting.funnel_report("p", funnel.id, TimeRange(start=NOON - DAILY, end=NOON))
    assert not recent.partial


@given(strategies.funnel_events(), strategies.funnel_steps, st.booleans())
def test_counts_of_runs_of_step_bits_equal_the_counts_of_the_events(
    events: list[Event], steps: tuple[Step, ...], keep_idle: bool
) -> None:
    """What a store that reads only the events doing a step hands the domain: each
    visitor's events in order as the steps each does (bits); the events that do none may
    be there or not."""
    runs: dict[tuple[int, str], list[Event]] = defaultdict(list)
    for event in events:
        runs[window_of(event.timestamp, DAILY), event.visitor_hash].append(event)
    bits = []
    for run in runs.values():
        masks = [
            sum(1 << n for n, step in enumerate(steps) if does(step, event))
            for event in sorted(run, key=event_order)
        ]
        bits.append([m for m in masks if m or keep_idle])
    assert counts_of_runs(bits, len(steps)) == funnel_counts(events, steps, DAILY)
