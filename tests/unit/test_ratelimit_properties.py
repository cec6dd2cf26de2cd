"""Properties of the GCRA in ``privalytics.domain.ratelimit``, without I/O.

Times are integer microseconds, as the algorithm works on them; the in-memory limiter,
which reads a clock's datetimes, is checked against ``step`` separately.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from privalytics.adapters.memory import InMemoryRateLimiter
from privalytics.domain.models import RateDecision
from privalytics.domain.ratelimit import (
    US_PER_SECOND,
    Policy,
    clamp,
    decision,
    seconds_to_us,
    step,
)
from privalytics.testing import ManualClock
from tests import strategies

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# --- running a trace --------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    now: int
    cost: int
    allowed: bool
    tat_before: int | None
    state: int


def run(policy: Policy, start: int, trace: Sequence[tuple[int, int]]) -> list[Arrival]:
    tat: int | None = None
    now = start
    arrivals = []
    for advance, cost in trace:
        now += advance
        result = step(tat, now, policy, cost)
        arrivals.append(Arrival(now, cost, result.allowed, tat, result.state))
        tat = result.state
    return arrivals


def admitted(arrivals: Sequence[Arrival]) -> int:
    return sum(a.cost for a in arrivals if a.allowed)


def forward_progress(arrivals: Sequence[Arrival]) -> int:
    """How far the clock moved forwards between the first and the last arrival."""
    return sum(max(0, b.now - a.now) for a, b in itertools.pairwise(arrivals))


# --- properties -------------------------------------------------------------------------


@given(strategies.gcra_policies_and_traces())
def test_no_window_of_a_monotonic_clock_admits_more_than_burst_plus_refill(
    case: tuple[Policy, int, list[tuple[int, int]]],
) -> None:
    policy, start, trace = case
    arrivals = run(policy, start, trace)
    for i in range(len(arrivals)):
        for j in range(i, len(arrivals)):
            window = arrivals[i : j + 1]
            elapsed = window[-1].now - window[0].now
            units = admitted(window)
            # Exactly GCRA's bound, with the interval the limiter runs...
            assert units * policy.interval_us <= policy.tolerance_us + elapsed
            # ...and so never above the configured rate.
            # The period as the limiter reads it: whole microseconds (a float such as 3e-06
            # is not exactly 3 µs, and the limiter does not pretend it is).
            configured = Fraction(policy.limit, seconds_to_us(policy.period))
            assert units <= policy.burst + elapsed * configured


@given(strategies.gcra_policies, strategies.gcra_starts, st.data())
def test_from_empty_waiting_k_intervals_lets_exactly_k_units_through(
    policy: Policy, start: int, data: st.DataObject
) -> None:
    k = data.draw(st.integers(min_value=0, max_value=policy.burst), label="k")
    drained = step(None, start, policy, policy.burst)
    assert drained.allowed
    tat = drained.state
    now = start + k * policy.interval_us
    for _ in range(k):
        result = step(tat, now, policy, 1)
        assert result.allowed
        tat = result.state
    assert not step(tat, now, policy, 1).allowed
    # One microsecond short of the next interval is still too early.
    assert not step(tat, now + policy.interval_us - 1, policy, 1).allowed
    assert step(tat, now + policy.interval_us, policy, 1).allowed


@given(strategies.gcra_policies_and_traces(backwards=True), strategies.gcra_costs)
def test_a_refused_request_changes_nothing_but_the_clamp(
    case: tuple[Policy, int, list[tuple[int, int]]], cost: int
) -> None:
    policy, start, trace = case
    last = run(policy, start, trace)[-1]
    result = step(last.state, last.now, policy, cost)
    assume(not result.allowed)
    assert result.state == clamp(last.state, last.now, policy)
    # The clamp is idempotent: asking again at the same instant gives the same answer.
    again = step(result.state, last.now, policy, cost)
    assert again == result
    assert decision(again, last.now, policy, cost) == decision(result, last.now, policy, cost)


@given(strategies.gcra_policies_and_traces())
def test_on_a_monotonic_clock_refused_requests_leave_no_trace(
    case: tuple[Policy, int, list[tuple[int, int]]],
) -> None:
    policy, start, trace = case
    arrivals = run(policy, start, trace)
    assume(any(not a.allowed for a in arrivals))
    kept = [a for a in arrivals if a.allowed]
    tat: int | None = None
    for arrival in kept:
        result = step(tat, arrival.now, policy, arrival.cost)
        assert result.allowed
        tat = result.state
        assert tat == arrival.state


@given(strategies.gcra_policies_and_traces(backwards=True))
def test_with_a_clock_that_steps_back_no_stretch_admits_more_than_a_full_bucket_plus_refill(
    case: tuple[Policy, int, list[tuple[int, int]]],
) -> None:
    """Stepping back never refills: over any run of requests, at most ``burst`` units
    pass plus what the clock's forward steps refill. In particular, while the clock sits
    below its earlier maximum without moving, at most ``burst`` units pass in all."""
    policy, start, trace = case
    arrivals = run(policy, start, trace)
    for i in range(len(arrivals)):
        for j in range(i, len(arrivals)):
            window = arrivals[i : j + 1]
            assert admitted(window) * policy.interval_us <= policy.tolerance_us + forward_progress(
                window
            )


@given(strategies.gcra_policies_and_traces(backwards=True), st.data())
def test_after_the_clock_steps_back_the_wait_never_exceeds_one_full_refill(
    case: tuple[Policy, int, list[tuple[int, int]]], data: st.DataObject
) -> None:
    policy, start, trace = case
    arrivals = run(policy, start, trace)
    earlier_max = max(a.now for a in arrivals)
    back = data.draw(st.integers(min_value=1, max_value=100 * policy.tolerance_us), label="back")
    now = arrivals[-1].now - back
    tat = arrivals[-1].state
    cost = data.draw(st.integers(min_value=1, max_value=policy.burst), label="cost")
    result = step(tat, now, policy, cost)
    answer = decision(result, now, policy, cost)
    assert answer.retry_after <= policy.tolerance_us / US_PER_SECOND
    assert answer.reset_after <= policy.tolerance_us / US_PER_SECOND
    if not result.allowed:
        # Waiting what it says is enough, long before the clock is back at its maximum.
        wait = seconds_to_us(answer.retry_after)
        assert step(result.state, now + wait, policy, cost).allowed
        assert now + wait <= earlier_max + policy.tolerance_us
    # One full refill after the clock resumes, the whole burst is there again.
    refilled = now + policy.tolerance_us
    assert step(result.state, refilled, policy, policy.burst).allowed


@given(strategies.gcra_policies_and_traces(backwards=True), strategies.gcra_costs)
def test_the_decision_reports_what_the_state_means(
    case: tuple[Policy, int, list[tuple[int, int]]], cost: int
) -> None:
    policy, start, trace = case
    last = run(policy, start, trace)[-1]
    before = step(last.state, last.now, policy, 0)
    available = decision(before, last.now, policy, 0).remaining
    assert 0 <= available <= policy.burst
    result = step(last.state, last.now, policy, cost)
    answer = decision(result, last.now, policy, cost)
    assert answer.allowed is (cost <= available)
    assert answer.limit == policy.limit
    assert answer.remaining == (available - cost if answer.allowed else available)
    if answer.allowed:
        assert answer.retry_after == 0.0
    else:
        assert answer.retry_after > 0
    assert math.isinf(answer.retry_after) is (cost > policy.burst)


@given(strategies.gcra_policies_and_traces(backwards=True))
def test_a_limiter_on_a_clock_decides_as_the_steps_in_microseconds(
    case: tuple[Policy, int, list[tuple[int, int]]],
) -> None:
    policy, start, trace = case
    clock = ManualClock()
    limiter = InMemoryRateLimiter(clock)

    async def answers() -> list[RateDecision]:
        found = []
        for arrival in arrivals:
            clock.set(EPOCH + timedelta(microseconds=arrival.now))
            found.append(await limiter.acquire("k", policy, arrival.cost))
        return found

    arrivals = run(policy, start, trace)
    expected = [
        decision(step(a.tat_before, a.now, policy, a.cost), a.now, policy, a.cost) for a in arrivals
    ]
    assert asyncio.run(answers()) == expected


@given(strategies.gcra_policies)
def test_the_interval_is_the_period_per_event_rounded_up_to_a_microsecond(
    policy: Policy,
) -> None:
    period = seconds_to_us(policy.period)
    assert policy.interval_us * policy.limit >= period
    assert (policy.interval_us - 1) * policy.limit < period


@given(strategies.gcra_starts)
def test_microseconds_survive_the_trip_through_float_seconds(us: int) -> None:
    assert seconds_to_us(us / US_PER_SECOND) == us


# --- stateful ---------------------------------------------------------------------------


class LimiterMachine(RuleBasedStateMachine):
    """The limiter under a clock that advances, stalls and jumps back, checked each step."""

    def __init__(self) -> None:
        super().__init__()
        self.policy = Policy(limit=1, period=1.0, burst=1)
        self.now = 0
        self.tat: int | None = None
        # Per arrival: the clock's forward progress so far and the units admitted so far.
        self.progress: list[int] = []
        self.units: list[int] = []
        self.forward = 0
        self.last_arrival: int | None = None

    @initialize(policy=strategies.gcra_policies, start=strategies.gcra_starts)
    def setup(self, policy: Policy, start: int) -> None:
        self.policy = policy
        self.now = start

    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        self.now += data.draw(strategies.gcra_advances(self.policy))

    @rule(data=st.data())
    def backjump(self, data: st.DataObject) -> None:
        self.now -= data.draw(st.integers(min_value=1, max_value=3 * self.policy.tolerance_us))

    @rule(cost=strategies.gcra_costs)
    def acquire(self, cost: int) -> None:
        if self.last_arrival is not None:
            self.forward += max(0, self.now - self.last_arrival)
        self.last_arrival = self.now
        available = decision(step(self.tat, self.now, self.policy, 0), self.now, self.policy, 0)
        result = step(self.tat, self.now, self.policy, cost)
        answer = decision(result, self.now, self.policy, cost)
        assert answer.allowed is (cost <= available.remaining)
        if not answer.allowed and cost <= self.policy.burst:
            assert 0 < answer.retry_after <= self.policy.tolerance_us / US_PER_SECOND
        self.tat = result.state
        self.progress.append(self.forward)
        self.units.append((self.units[-1] if self.units else 0) + (cost if result.allowed else 0))

    @precondition(lambda self: self.tat is not None)
    @invariant()
    def state_is_within_one_refill_of_the_clock(self) -> None:
        assert self.tat is not None
        held = clamp(self.tat, self.now, self.policy) - self.now
        assert 0 <= held <= self.policy.tolerance_us

    @invariant()
    def no_run_of_requests_admits_more_than_a_bucket_plus_refill(self) -> None:
        if not self.units:
            return
        total, progress = self.units[-1], self.progress[-1]
        for i in range(len(self.units)):
            before = self.units[i - 1] if i else 0
            assert (total - before) * self.policy.interval_us <= (
                self.policy.tolerance_us + progress - self.progress[i]
            )


LimiterMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40)
test_limiter_state_machine = LimiterMachine.TestCase
