"""In-memory adapters: real implementations of the ports, for one process.

Usable for embedding and tests; the contract suites run them beside the SQL stores so
they cannot drift apart.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta

import msgspec

from privalytics.domain import activity, funnels, insight
from privalytics.domain.cohorts import Tally
from privalytics.domain.dimensions import Dimension
from privalytics.domain.filters import Filter
from privalytics.domain.funnels import Funnel, Step
from privalytics.domain.goals import Goal
from privalytics.domain.insight import Figures, Row
from privalytics.domain.models import (
    Action,
    AdminKeyRecord,
    BotCount,
    Bucket,
    Event,
    ImportRecord,
    PageStats,
    Project,
    Ranked,
    RateDecision,
    TimeRange,
    TokenRecord,
    User,
)
from privalytics.domain.ports import Clock
from privalytics.domain.ratelimit import Policy, decision, seconds_to_us, step
from privalytics.domain.reports import REFERRERS, TARGETS


def _in(event: Event, project_id: str, span: TimeRange) -> bool:
    return event.project_id == project_id and span.start <= event.timestamp < span.end


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ranked(counts: dict[str, int], limit: int) -> list[Ranked]:
    ranked = sorted(counts, key=lambda name: (-counts[name], name))[:limit]
    return [Ranked(name=name, count=counts[name]) for name in ranked]


class InMemoryEventStore:
    """Events in a list. ``visitor_window``: the salt window, over which distinct visitors
    are counted and then summed (see the EventStore port)."""

    def __init__(self, visitor_window: timedelta = timedelta(days=1)) -> None:
        self.events: list[Event] = []
        self._window = visitor_window

    def _visitor(self, event: Event) -> tuple[int, str]:
        """The visitor of ``event`` within its salt window: a hash stands for one visitor
        in one window only."""
        return (event.timestamp - _EPOCH) // self._window, event.visitor_hash

    async def add(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    async def count_by_action(self, project_id: str, span: TimeRange) -> dict[Action, int]:
        counts: dict[Action, int] = defaultdict(int)
        for event in self.events:
            if _in(event, project_id, span):
                counts[event.action] += 1
        return dict(counts)

    async def unique_visitors(self, project_id: str, span: TimeRange) -> int:
        return len({self._visitor(e) for e in self.events if _in(e, project_id, span)})

    async def top_pages(self, project_id: str, span: TimeRange, limit: int) -> list[PageStats]:
        visits: dict[str, int] = defaultdict(int)
        visitors: dict[str, set[tuple[int, str]]] = defaultdict(set)
        for event in self.events:
            if event.action is Action.VISIT and _in(event, project_id, span):
                visits[event.path] += 1
                visitors[event.path].add(self._visitor(event))
        ranked = sorted(visits, key=lambda path: (-visits[path], path))[:limit]
        return [
            PageStats(path=p, visits=visits[p], unique_visitors=len(visitors[p])) for p in ranked
        ]

    async def top_referrers(self, project_id: str, span: TimeRange, limit: int) -> list[Ranked]:
        counts: dict[str, int] = defaultdict(int)
        for event in self.events:
            name = REFERRERS.name_in(event)
            if name is not None and _in(event, project_id, span):
                counts[name] += 1
        return _ranked(counts, limit)

    async def top_targets(
        self, project_id: str, span: TimeRange, action: Action, limit: int
    ) -> list[Ranked]:
        counts: dict[str, int] = defaultdict(int)
        for event in self.events:
            name = TARGETS.name_in(event, action)
            if name is not None and _in(event, project_id, span):
                counts[name] += 1
        return _ranked(counts, limit)

    async def average_value(self, project_id: str, span: TimeRange, action: Action) -> float | None:
        values = [
            e.value
            for e in self.events
            if e.action is action and e.value is not None and _in(e, project_id, span)
        ]
        return sum(values) / len(values) if values else None

    async def series(
        self, project_id: str, span: TimeRange, origin: datetime, step: timedelta
    ) -> list[Bucket]:
        visits: dict[datetime, int] = defaultdict(int)
        visitors: dict[datetime, set[str]] = defaultdict(set)
        for event in self.events:
            if _in(event, project_id, span):
                start = origin + (event.timestamp - origin) // step * step
                visits[start] += event.action is Action.VISIT
                visitors[start].add(event.visitor_hash)
        return [
            Bucket(start=s, visits=visits[s], unique_visitors=len(visitors[s]))
            for s in sorted(visitors)
        ]

    async def figures(self, project_id: str, span: TimeRange, filters: Sequence[Filter]) -> Figures:
        chosen = [e for e in self.events if _in(e, project_id, span)]
        return insight.figures(chosen, filters, self._window)

    async def breakdown(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
        limit: int | None,
    ) -> list[Row]:
        chosen = [e for e in self.events if _in(e, project_id, span)]
        return insight.breakdown(chosen, dimension, filters, self._window)[:limit]

    async def cell_sizes(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
    ) -> dict[str | None, int]:
        chosen = [e for e in self.events if _in(e, project_id, span)]
        return insight.cell_sizes(chosen, dimension, filters, self._window)

    async def selected_events(
        self, project_id: str, span: TimeRange, filters: Sequence[Filter]
    ) -> list[Event]:
        chosen = [e for e in self.events if _in(e, project_id, span)]
        return activity.selected_events(chosen, filters, self._window)

    async def funnel_counts(
        self,
        project_id: str,
        span: TimeRange,
        steps: Sequence[Step],
        filters: Sequence[Filter],
    ) -> list[int]:
        events = await self.selected_events(project_id, span, filters)
        return funnels.funnel_counts(events, steps, self._window)

    async def visitor_days(self, project_id: str, span: TimeRange) -> dict[date, set[str]]:
        tally = Tally()
        tally.add(e for e in self.events if _in(e, project_id, span))
        return tally.seen

    async def latest(self, project_id: str, span: TimeRange, limit: int) -> list[Event]:
        found = [(e.timestamp, n, e) for n, e in enumerate(self.events) if _in(e, project_id, span)]
        found.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [e for _, _, e in found[:limit]]

    async def stream(
        self, project_id: str, span: TimeRange, chunk: int
    ) -> AsyncIterator[list[Event]]:
        found = [(e.timestamp, n, e) for n, e in enumerate(self.events) if _in(e, project_id, span)]
        found.sort(key=lambda item: (item[0], item[1]))
        for start in range(0, len(found), chunk):
            yield [e for _, _, e in found[start : start + chunk]]

    async def erase(self, project_id: str, span: TimeRange) -> int:
        kept = [e for e in self.events if not _in(e, project_id, span)]
        removed = len(self.events) - len(kept)
        self.events = kept
        return removed

    async def delete_project_events(self, project_id: str) -> int:
        kept = [e for e in self.events if e.project_id != project_id]
        removed = len(self.events) - len(kept)
        self.events = kept
        return removed

    async def expire(self, before: datetime, *, dry_run: bool = False) -> int:
        # No rollups here: the figures of the expired days go with their events.
        kept = [e for e in self.events if e.timestamp >= before]
        removed = len(self.events) - len(kept)
        if not dry_run:
            self.events = kept
        return removed

    async def refresh(self, before: datetime) -> int:
        # Every answer is computed from the list: nothing to bring up to date.
        return 0

    async def project_ids(self) -> list[str]:
        return sorted({e.project_id for e in self.events})

    async def ping(self) -> None:
        return None


class InMemoryTokenStore:
    def __init__(self) -> None:
        self.projects: dict[str, Project] = {}
        self.tokens: dict[str, TokenRecord] = {}
        self.admin_keys: dict[str, AdminKeyRecord] = {}

    async def add_project(self, project: Project, token: TokenRecord) -> None:
        self.projects[project.id] = project
        self.tokens[token.id] = token

    async def get_project(self, project_id: str) -> Project | None:
        return self.projects.get(project_id)

    async def list_projects(self) -> list[Project]:
        return sorted(self.projects.values(), key=lambda p: (p.created_at, p.id))

    async def update_project(self, project: Project) -> bool:
        if project.id not in self.projects:
            return False
        self.projects[project.id] = project
        return True

    async def delete_project(self, project_id: str) -> bool:
        if self.projects.pop(project_id, None) is None:
            return False
        for token_id in [t.id for t in self.tokens.values() if t.project_id == project_id]:
            del self.tokens[token_id]
        return True

    async def add_token(self, token: TokenRecord) -> bool:
        if token.project_id not in self.projects:
            return False
        self.tokens[token.id] = token
        return True

    async def get_token(self, token_id: str) -> TokenRecord | None:
        return self.tokens.get(token_id)

    async def list_tokens(self, project_id: str) -> list[TokenRecord]:
        found = [t for t in self.tokens.values() if t.project_id == project_id]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    async def revoke_token(self, token_id: str, at: datetime, *, keep_last: bool = False) -> bool:
        token = self.tokens.get(token_id)
        if token is None or token.revoked_at is not None:
            return False
        if keep_last and not any(
            t.project_id == token.project_id and t.revoked_at is None and t.id != token_id
            for t in self.tokens.values()
        ):
            return False
        self.tokens[token_id] = msgspec.structs.replace(token, revoked_at=at)
        return True

    async def rotate_token(self, token: TokenRecord, at: datetime) -> list[str] | None:
        if token.project_id not in self.projects:
            return None
        live = [
            t.id
            for t in self.tokens.values()
            if t.project_id == token.project_id and t.kind == token.kind and t.revoked_at is None
        ]
        self.tokens[token.id] = token
        for token_id in live:
            self.tokens[token_id] = msgspec.structs.replace(self.tokens[token_id], revoked_at=at)
        return sorted(live)

    async def add_admin_key(self, key: AdminKeyRecord) -> None:
        self.admin_keys[key.id] = key

    async def get_admin_key(self, key_id: str) -> AdminKeyRecord | None:
        return self.admin_keys.get(key_id)

    async def list_admin_keys(self) -> list[AdminKeyRecord]:
        return sorted(self.admin_keys.values(), key=lambda k: (k.created_at, k.id))

    async def revoke_admin_key(self, key_id: str, at: datetime) -> bool:
        key = self.admin_keys.get(key_id)
        if key is None or key.revoked_at is not None:
            return False
        self.admin_keys[key_id] = AdminKeyRecord(
            id=key.id, secret_hash=key.secret_hash, created_at=key.created_at, revoked_at=at
        )
        return True


class InMemorySaltStore:
    def __init__(self) -> None:
        self.salts: dict[int, bytes] = {}

    async def get_or_create(self, start: int, candidate: bytes) -> bytes:
        return self.salts.setdefault(start, candidate)

    async def delete_expired(self, current: int, rotation: int) -> int:
        old = [start for start in self.salts if start < current or start % rotation]
        for start in old:
            del self.salts[start]
        return len(old)


# Heap entries looked at per acquire at most: more than the one an acquire can add, so
# expired keys never pile up, and few enough that no acquire pays for many.
SWEEP_PER_ACQUIRE = 4
# How long a key outlives its TAT: a clock stepping back by less (an NTP correction) still
# finds its state, as with the Redis limiter, whose keys outlive their TAT by a bucket
# and a second.
KEEP_AFTER_US = 60 * 1_000_000


class InMemoryRateLimiter:
    """GCRA state per key in this process only: the limit holds per process.

    A key whose TAT has passed holds nothing (its state is the fresh one) and is dropped
    ``KEEP_AFTER_US`` later. Each key waits for that in a heap, under the TAT it had when
    it was (re)filed; each acquire looks at most at ``SWEEP_PER_ACQUIRE`` entries that are
    due, dropping a key that is done and filing again one that has moved on. However many
    keys are live (sign-in makes one per username tried), an acquire never walks them all,
    and the heap holds about one entry per key."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        # Theoretical arrival times in whole microseconds (the algorithm's own unit).
        self._tats: dict[str, int] = {}
        # (TAT when filed, key): a key's TAT is never before its entry's (unless the clock
        # went back, which only keeps it longer).
        self._expiry: list[tuple[int, str]] = []

    async def acquire(self, key: str, policy: Policy, cost: int = 1) -> RateDecision:
        now = seconds_to_us(self._clock.now().timestamp())
        before = self._tats.get(key)
        result = step(before, now, policy, cost)
        self._tats[key] = result.state
        if before is None:
            heapq.heappush(self._expiry, (result.state, key))
        self._sweep(now - KEEP_AFTER_US)
        return decision(result, now, policy, cost)

    def _sweep(self, done_before: int) -> None:
        """Look at up to SWEEP_PER_ACQUIRE keys filed under a TAT before ``done_before``."""
        expiry, tats = self._expiry, self._tats
        for _ in range(SWEEP_PER_ACQUIRE):
            if not expiry or expiry[0][0] >= done_before:
                return
            _, key = expiry[0]
            tat = tats.get(key)
            if tat is not None and tat >= done_before:
                heapq.heapreplace(expiry, (tat, key))  # moved on: due later
                continue
            heapq.heappop(expiry)
            if tat is not None:
                del tats[key]

    async def reset(self, key: str) -> None:
        self._tats.pop(key, None)

    async def ping(self) -> None:
        """Always answers: the state lives in this process."""


class InMemoryUserStore:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}

    async def add_user(self, user: User) -> bool:
        if user.username in self.users:
            return False
        self.users[user.username] = user
        return True

    async def get_user(self, username: str) -> User | None:
        return self.users.get(username)

    async def set_password(self, username: str, password_hash: bytes) -> bool:
        user = self.users.get(username)
        if user is None:
            return False
        self.users[username] = User(
            username=username, password_hash=password_hash, created_at=user.created_at
        )
        return True

    async def list_users(self) -> list[User]:
        return [self.users[name] for name in sorted(self.users)]

    async def delete_user(self, username: str) -> bool:
        return self.users.pop(username, None) is not None


class InMemoryBotLogStore:
    """The bot log in a dictionary, keyed by project, day and reason."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, date, str], int] = {}

    async def add_bot_counts(self, counts: Sequence[BotCount]) -> None:
        for line in counts:
            key = (line.project_id, line.day, line.reason)
            self._counts[key] = self._counts.get(key, 0) + line.count

    async def bot_counts(self, project_id: str, first: date, last: date) -> list[BotCount]:
        return [
            BotCount(project_id=project, day=day, reason=reason, count=count)
            for (project, day, reason), count in sorted(self._counts.items())
            if project == project_id and first <= day <= last
        ]

    async def delete_project_bot_counts(self, project_id: str) -> int:
        gone = [key for key in self._counts if key[0] == project_id]
        for key in gone:
            del self._counts[key]
        return len(gone)


class InMemoryGoalStore:
    """Each project's goals in a dictionary, in the order they were added."""

    def __init__(self) -> None:
        self._goals: dict[str, list[Goal]] = defaultdict(list)

    async def add_goal(self, goal: Goal, limit: int) -> bool:
        # No await between the checks and the append: one step for the event loop.
        kept = self._goals[goal.project_id]
        if len(kept) >= limit or any(other.name == goal.name for other in kept):
            return False
        kept.append(goal)
        return True

    async def list_goals(self, project_id: str) -> list[Goal]:
        return sorted(self._goals.get(project_id, []), key=lambda g: (g.created_at, g.id))

    async def delete_goal(self, project_id: str, goal_id: str) -> Goal | None:
        kept = self._goals.get(project_id, [])
        for goal in kept:
            if goal.id == goal_id:
                kept.remove(goal)
                return goal
        return None

    async def delete_project_goals(self, project_id: str) -> int:
        return len(self._goals.pop(project_id, []))


class InMemoryFunnelStore:
    """Each project's funnels in a dictionary, in the order they were added."""

    def __init__(self) -> None:
        self._funnels: dict[str, list[Funnel]] = defaultdict(list)

    async def add_funnel(self, funnel: Funnel, limit: int) -> bool:
        # No await between the checks and the append: one step for the event loop.
        kept = self._funnels[funnel.project_id]
        if len(kept) >= limit or any(other.name == funnel.name for other in kept):
            return False
        kept.append(funnel)
        return True

    async def list_funnels(self, project_id: str) -> list[Funnel]:
        return sorted(self._funnels.get(project_id, []), key=lambda f: (f.created_at, f.id))

    async def get_funnel(self, project_id: str, funnel_id: str) -> Funnel | None:
        return next((f for f in self._funnels.get(project_id, []) if f.id == funnel_id), None)

    async def delete_funnel(self, project_id: str, funnel_id: str) -> Funnel | None:
        found = await self.get_funnel(project_id, funnel_id)
        if found is not None:
            self._funnels[project_id].remove(found)
        return found

    async def delete_project_funnels(self, project_id: str) -> int:
        return len(self._funnels.pop(project_id, []))


class InMemoryImportStore:
    """The imports registry beside an :class:`InMemoryEventStore`, whose events an import
    adds all at once (after every batch was read) or not at all."""

    def __init__(self, events: InMemoryEventStore) -> None:
        self._events = events
        self.records: list[ImportRecord] = []

    async def import_events(
        self, record: ImportRecord, batches: AsyncIterable[Sequence[Event]]
    ) -> ImportRecord | None:
        if await self.find_import(record.project_id, record.sha256) is not None:
            return None
        read: list[Event] = []
        async for batch in batches:
            read.extend(batch)
        if await self.find_import(record.project_id, record.sha256) is not None:
            return None
        stored = msgspec.structs.replace(record, events=len(read))
        await self._events.add(read)
        self.records.append(stored)
        return stored

    async def find_import(self, project_id: str, sha256: str) -> ImportRecord | None:
        for record in self.records:
            if record.project_id == project_id and record.sha256 == sha256:
                return record
        return None

    async def list_imports(self, project_id: str) -> list[ImportRecord]:
        return [r for r in self.records if r.project_id == project_id]

    async def imported_within(self, project_id: str, span: TimeRange) -> bool:
        return any(
            r.project_id == project_id
            and r.first is not None
            and r.last is not None
            and r.events > 0
            and r.first < span.end
            and r.last >= span.start
            for r in self.records
        )

    async def delete_project_imports(self, project_id: str) -> int:
        kept = [r for r in self.records if r.project_id != project_id]
        deleted = len(self.records) - len(kept)
        self.records = kept
        return deleted
