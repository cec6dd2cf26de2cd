"""Rollups on SQLite and PostgreSQL: every answer equals the one over the events alone.

The reference is the in-memory store, which computes every answer from its list of events
with the same definitions; the SQL stores answer from rollups where they are up to date
and from the events elsewhere. Random events, random refreshes, random ranges; then the
scenarios that matter one by one: a day that ends, a late event, a deleted project, two
instances refreshing at once.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from msgspec.structs import replace
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import make_url

from privalytics.adapters.memory import InMemoryEventStore
from privalytics.adapters.sqlalchemy import SqlStores, open_stores, tables
from privalytics.adapters.sqlalchemy.events import SqlAlchemyEventStore
from privalytics.adapters.sqlalchemy.planning import interval_of as bounds
from privalytics.adapters.sqlalchemy.planning import number_of
from privalytics.adapters.sqlalchemy.refresh import ROLLUP_LOCK
from privalytics.adapters.sqlalchemy.rollups import RollupReader
from privalytics.domain.models import Action, Event, Ranked, TimeRange
from privalytics.domain.ports import EventStore
from privalytics.domain.reports import TARGET_ACTIONS, series
from privalytics.domain.rollups import DAY_MS, MAX_LEVEL, day_of, plan
from tests import strategies
from tests.integration.conftest import clear
from tests.strategies import HISTORY_PATHS as PATHS
from tests.strategies import HISTORY_REFERRERS as REFERRERS
from tests.strategies import HISTORY_TARGETS as TARGETS
from tests.strategies import HISTORY_VISITORS as VISITORS

FIRST_DAY = 20_500  # 2026-02-15
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def postgres_dsn(url: str) -> str:
    """A plain asyncpg DSN for a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def moment(millis: int) -> datetime:
    return EPOCH + timedelta(milliseconds=millis)


def span(start: int, end: int) -> TimeRange:
    return TimeRange(start=moment(start), end=moment(end))


class Pair:
    """A SQL store beside the in-memory reference, fed the same events."""

    def __init__(self, stores: SqlStores, window: timedelta = timedelta(days=1)) -> None:
        self._own = stores.events
        if window == timedelta(days=1):
            self.sql = stores.events
        else:
            self.sql = SqlAlchemyEventStore(stores.engine, RollupReader(stores.engine, window))
        self.memory = InMemoryEventStore(window)
        # Rankings reading one and two names per part first: with a handful of paths the
        # store's own depth reads every name at once; these settle, read deeper or read
        # everything, which the answers must not show.
        self.shallow = [RollupReader(stores.engine, window, depth=d) for d in (1, 2)]

    async def aclose(self) -> None:
        """Release the insert connection of a store made here (not the stores')."""
        if isinstance(self.sql, SqlAlchemyEventStore) and self.sql is not self._own:
            await self.sql.aclose()

    async def add(self, events: Sequence[Event]) -> None:
        await self.sql.add(events)
        await self.memory.add(events)

    async def assert_same(self, project_id: str, where: TimeRange) -> None:
        got = await answers(self.sql, project_id, where)
        expected = await answers(self.memory, project_id, where)
        assert got == expected, (where, got, expected)
        for reader in self.shallow:
            ranked = await rankings(reader, project_id, where)
            assert ranked == {key: expected[key] for key in ranked}, (where, reader)


async def rankings(reader: RollupReader, project_id: str, where: TimeRange) -> dict[str, object]:
    """The rankings of ``answers``, from ``reader``."""
    span = bounds(where)
    return {
        "pages": await reader.top_pages(project_id, span, 100),
        "top_page": await reader.top_pages(project_id, span, 1),
        "referrers": await reader.top_referrers(project_id, span, 100),
        "top_referrers": await reader.top_referrers(project_id, span, 2),
        "targets": {a: await reader.top_targets(project_id, span, a, 100) for a in TARGET_ACTIONS},
        "top_targets": {
            a: await reader.top_targets(project_id, span, a, 1) for a in TARGET_ACTIONS
        },
    }


async def answers(store: EventStore, project_id: str, where: TimeRange) -> dict[str, object]:
    """Every figure the dashboard shows for ``where``."""
    return {
        "actions": await store.count_by_action(project_id, where),
        "visitors": await store.unique_visitors(project_id, where),
        "pages": await store.top_pages(project_id, where, 100),
        "top_page": await store.top_pages(project_id, where, 1),
        "referrers": await store.top_referrers(project_id, where, 100),
        "top_referrers": await store.top_referrers(project_id, where, 2),
        "targets": {a: await store.top_targets(project_id, where, a, 100) for a in TARGET_ACTIONS},
        "top_targets": {
            a: await store.top_targets(project_id, where, a, 1) for a in TARGET_ACTIONS
        },
        "scroll": await store.average_value(project_id, where, Action.SCROLL),
        "series": await series(store, project_id, where),
        "figures": await store.figures(project_id, where, ()),
    }


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=strategies.histories())
def test_answers_from_rollups_equal_answers_from_the_events(
    sql_url: str,
    history: tuple[list[list[Event]], list[int | None], list[tuple[int, int]]],
) -> None:
    batches, refreshes, ranges = history
    # Fresh project ids per example: the database is shared by the examples.
    ids = {"p": secrets.token_hex(8), "q": secrets.token_hex(8)}

    async def scenario() -> None:
        stores = open_stores(sql_url)
        pair = Pair(stores)
        try:
            for batch, refresh in zip(batches, refreshes, strict=True):
                await pair.add([replace(e, project_id=ids[e.project_id]) for e in batch])
                if refresh is not None:
                    await pair.sql.refresh(moment(refresh * DAY_MS))
            for start, end in ranges:
                await pair.assert_same(ids["p"], span(start, end))
        finally:
            await stores.dispose()

    asyncio.run(scenario())


# --- scenarios --------------------------------------------------------------------------


def visit(project_id: str, millis: int, visitor: str = VISITORS[0], path: str = "/") -> Event:
    return Event(
        project_id=project_id,
        action=Action.VISIT,
        path=path,
        timestamp=moment(millis),
        visitor_hash=visitor,
    )


async def stale_days(stores: SqlStores, project_id: str) -> list[int]:
    query = select(tables.rollup_stale.c.day).where(tables.rollup_stale.c.project_id == project_id)
    async with stores.engine.connect() as connection:
        return sorted((await connection.execute(query)).scalars())


async def rollup_rows(stores: SqlStores, project_id: str) -> int:
    total = 0
    async with stores.engine.connect() as connection:
        for table in tables.ROLLUPS:
            query = select(func.count()).where(table.c.project_id == project_id)
            total += (await connection.execute(query)).scalar_one()
    return total


async def delete_raw_events(stores: SqlStores, project_id: str) -> None:
    async with stores.engine.begin() as connection:
        await connection.execute(
            delete(tables.events).where(tables.events.c.project == number_of(project_id))
        )


@pytest.fixture
async def sql(sql_url: str) -> AsyncIterator[SqlStores]:
    stores = open_stores(sql_url)
    yield stores
    await stores.dispose()


DAY_A = FIRST_DAY * DAY_MS
WEEK = TimeRange(start=moment(DAY_A - DAY_MS), end=moment(DAY_A + 6 * DAY_MS))


async def test_days_that_are_over_are_computed_and_today_stays_stale(sql: SqlStores) -> None:
    await sql.events.add(
        [
            visit("p", DAY_A + 1000),
            visit("p", DAY_A + DAY_MS + 1000, VISITORS[1]),
            visit("p", DAY_A + 2 * DAY_MS + 1000),
        ]
    )
    assert await stale_days(sql, "p") == [FIRST_DAY, FIRST_DAY + 1, FIRST_DAY + 2]
    # "Now" is during the third day: the first two are over.
    assert await sql.events.refresh(moment(DAY_A + 2 * DAY_MS + 5000)) == 2
    assert await stale_days(sql, "p") == [FIRST_DAY + 2]
    assert await sql.events.refresh(moment(DAY_A + 2 * DAY_MS + 6000)) == 0
    # The rollups are what answers: with the events of the computed days gone from the
    # events table, they are still counted.
    await delete_raw_events(sql, "p")
    assert await sql.events.count_by_action("p", WEEK) == {Action.VISIT: 2}
    assert await sql.events.unique_visitors("p", WEEK) == 2


async def test_a_late_event_makes_its_day_stale_and_counts_at_once(sql: SqlStores) -> None:
    pair = Pair(sql)
    await pair.add([visit("p", DAY_A + 1000), visit("p", DAY_A + DAY_MS + 1000)])
    await sql.events.refresh(moment(DAY_A + 2 * DAY_MS))
    assert await stale_days(sql, "p") == []
    await pair.add([visit("p", DAY_A + 2000, VISITORS[3], "/late")])
    assert await stale_days(sql, "p") == [FIRST_DAY]
    await pair.assert_same("p", WEEK)
    # And a range whose first whole day is the stale one.
    await pair.assert_same("p", TimeRange(start=moment(DAY_A), end=WEEK.end))
    assert await sql.events.refresh(moment(DAY_A + 2 * DAY_MS)) == 1
    await pair.assert_same("p", WEEK)


async def test_deleting_a_project_deletes_its_rollups(sql: SqlStores) -> None:
    await sql.events.add([visit("p", DAY_A + 1000), visit("p", DAY_A + 3 * DAY_MS)])
    await sql.events.add([visit("q", DAY_A + 1000)])
    await sql.events.refresh(moment(DAY_A + 2 * DAY_MS))
    assert await rollup_rows(sql, "p") > 0
    assert await sql.events.delete_project_events("p") == 2
    assert await rollup_rows(sql, "p") == 0
    assert await stale_days(sql, "p") == []
    assert await sql.events.count_by_action("p", WEEK) == {}
    assert await sql.events.count_by_action("q", WEEK) == {Action.VISIT: 1}


async def test_two_instances_refreshing_at_once_compute_each_day_once(sql_url: str) -> None:
    one, two = open_stores(sql_url), open_stores(sql_url)
    try:
        pair = Pair(one)
        events = [
            visit(
                "p",
                DAY_A + day * DAY_MS + n * 60_000,
                VISITORS[n % 6],
                PATHS[n % 4],
            )
            for day in range(10)
            for n in range(20)
        ]
        await pair.add(events)
        done = await asyncio.gather(
            one.events.refresh(moment(DAY_A + 11 * DAY_MS)),
            two.events.refresh(moment(DAY_A + 11 * DAY_MS)),
        )
        # PostgreSQL: one waits for, or skips, the other; SQLite: they take turns. Either
        # way every day is computed and nothing twice at the same time.
        assert await stale_days(one, "p") == [] or sum(done) < 10
        await one.events.refresh(moment(DAY_A + 11 * DAY_MS))
        assert await stale_days(one, "p") == []
        await pair.assert_same("p", TimeRange(start=moment(DAY_A), end=moment(DAY_A + 10 * DAY_MS)))
    finally:
        await one.dispose()
        await two.dispose()


async def test_under_weekly_salts_visitors_are_counted_per_week(sql: SqlStores) -> None:
    pair = Pair(sql, timedelta(days=7))
    # The same visitor on three days of one week (2026-02-19 is a Thursday: weeks start
    # on Thursdays, 1970-01-01 being one) and on a day of the next.
    thursday = 20_503 * DAY_MS
    await pair.add(
        [visit("p", thursday + d * DAY_MS + 1000) for d in (0, 1, 2)]
        + [visit("p", thursday + 8 * DAY_MS)]
    )
    await pair.sql.refresh(moment(thursday + 10 * DAY_MS))
    whole = TimeRange(start=moment(thursday - DAY_MS), end=moment(thursday + 10 * DAY_MS))
    assert await pair.sql.unique_visitors("p", whole) == 2
    await pair.assert_same("p", whole)
    part = TimeRange(start=moment(thursday + DAY_MS), end=moment(thursday + 9 * DAY_MS))
    assert await pair.sql.unique_visitors("p", part) == 2
    await pair.assert_same("p", part)
    await pair.aclose()


# The advisory lock that holds an insert inside the test's trigger (see below).
TRIGGER_GATE = 0x7465_7374


async def until(condition: Callable[[], Awaitable[bool]], what: str, seconds: float = 10) -> None:
    """Wait until ``condition()`` holds (polling the server), failing after ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, f"still waiting: {what}"
        await asyncio.sleep(0.01)


def waiting(
    connection: asyncpg.Connection,
    advisory: int | None = None,
    *,
    unless: asyncio.Task[int] | None = None,
) -> Callable[[], Awaitable[bool]]:
    """A condition: a backend of this database waits for a lock (the advisory lock
    ``advisory``, or with None any lock but an advisory one), or ``unless`` is done."""
    query = (
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid IN"
        " (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
    )
    if advisory is None:
        query += " AND locktype <> 'advisory'"
    else:
        # A bigint key is held as its high and low 32 bits.
        key = "(classid::bigint << 32) | objid::bigint"
        query += f" AND locktype = 'advisory' AND {key} = {advisory}"

    async def condition() -> bool:
        return (unless is not None and unless.done()) or await connection.fetchval(query) > 0

    return condition


@pytest.mark.postgres
async def test_an_insert_committing_while_its_day_is_recomputed_is_counted(
    postgres_url: str,
) -> None:
    """The day is already stale, so the insert's mark changes nothing; a refresh claiming
    the day between that mark and the insert's commit must wait for the commit (held back
    here by a trigger that waits for a lock the test holds) and count the event, or leave
    the day stale."""
    stores, other = open_stores(postgres_url), open_stores(postgres_url)
    try:
        await clear(stores.engine)
        await stores.events.add([visit("p", DAY_A + 1000)])
        async with stores.engine.begin() as connection:
            await connection.execute(
                text(
                    "CREATE FUNCTION privalytics_test_slow() RETURNS trigger LANGUAGE plpgsql"
                    f" AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared({TRIGGER_GATE});"
                    " RETURN NULL; END $$"
                )
            )
            await connection.execute(
                text(
                    "CREATE TRIGGER privalytics_test_slow AFTER INSERT ON rollup_stale"
                    " FOR EACH STATEMENT EXECUTE FUNCTION privalytics_test_slow()"
                )
            )
        gate = await asyncpg.connect(postgres_dsn(postgres_url))
        try:
            await gate.execute("SELECT pg_advisory_lock($1)", TRIGGER_GATE)
            late = asyncio.create_task(other.events.add([visit("p", DAY_A + 5000, VISITORS[1])]))
            # The insert is inside its statement, its mark made, not committed.
            await until(waiting(gate, TRIGGER_GATE), "the insert inside its trigger")
            refresh = asyncio.create_task(stores.events.refresh(moment(DAY_A + DAY_MS)))
            # The refresh either waits for the insert's locks or is done without its day.
            await until(waiting(gate, unless=refresh), "the refresh waiting, or done")
            await gate.execute("SELECT pg_advisory_unlock($1)", TRIGGER_GATE)
            await late
            await refresh
        finally:
            await gate.close()
            async with stores.engine.begin() as connection:
                await connection.execute(text("DROP TRIGGER privalytics_test_slow ON rollup_stale"))
                await connection.execute(text("DROP FUNCTION privalytics_test_slow()"))
        await stores.events.refresh(moment(DAY_A + DAY_MS))
        assert await stores.events.count_by_action("p", WEEK) == {Action.VISIT: 2}
        assert await stores.events.unique_visitors("p", WEEK) == 2
    finally:
        await stores.dispose()
        await other.dispose()


async def test_every_level_of_blocks_is_written_and_read(sql: SqlStores) -> None:
    """Five and a half years, from 2023-04-10 to 2028-11-17 (day 21 * 1024): the range is
    answered by one block of each level, 1 day up to 1024 days, each holding a few events
    that only its rows (or the events, were it stale) can count."""
    first, end = 21 * 1024 - (2 << MAX_LEVEL) + 1, 21 * 1024
    whole = TimeRange(start=moment(first * DAY_MS), end=moment(end * DAY_MS))
    # The test's premise: reading the range takes a block of every level.
    assert {level for level, _ in plan(first * DAY_MS, end * DAY_MS).blocks} == set(
        range(MAX_LEVEL + 1)
    )
    pair = Pair(sql)
    events = []
    for level, index in plan(first * DAY_MS, end * DAY_MS).blocks:
        # The block's first and last days.
        for n, day in enumerate(sorted({index << level, ((index + 1) << level) - 1})):
            seen = visit("p", day * DAY_MS + 1000 * level, VISITORS[n], PATHS[level % 4])
            seen = replace(seen, referrer=REFERRERS[2 + level % 2])
            events += [seen, replace(seen, action=Action.DOWNLOAD, target=TARGETS[2])]
    await pair.add(events)
    assert await sql.events.refresh(moment(end * DAY_MS)) == len(
        {day_of(tables.to_millis(e.timestamp)) for e in events}
    )
    async with sql.engine.connect() as connection:
        for table in tables.ROLLUPS:
            levels = select(table.c.level).where(table.c.project_id == "p").distinct()
            written = set((await connection.execute(levels)).scalars())
            assert written == set(range(MAX_LEVEL + 1)), table.name
    await pair.assert_same("p", whole)
    assert await pair.sql.count_by_action("p", whole) == {
        Action.VISIT: len(events) // 2,
        Action.DOWNLOAD: len(events) // 2,
    }
    # And each block alone, and the range less its first and last day.
    for level, index in plan(first * DAY_MS, end * DAY_MS).blocks:
        block = span((index << level) * DAY_MS, ((index + 1) << level) * DAY_MS)
        await pair.assert_same("p", block)
    await pair.assert_same("p", span((first + 1) * DAY_MS, (end - 1) * DAY_MS))


async def blocked_by(watcher: asyncpg.Connection, blocker: asyncpg.Connection) -> None:
    """Return once some session waits on a lock that ``blocker``'s session holds."""
    pid = blocker.get_server_pid()
    query = "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))"
    async with asyncio.timeout(10):
        while True:
            if await watcher.fetchval(query, pid):
                return
            await asyncio.sleep(0.01)  # polling a condition, with the deadline above


@pytest.mark.postgres
@pytest.mark.parametrize("marking_again_fails", [False, True])
async def test_a_mark_another_instance_commits_during_an_insert_is_not_lost(
    postgres_url: str, marking_again_fails: bool
) -> None:
    """The insert's statement began before another instance marked the day (so it does not
    see that mark), finds the mark there when it marks the day (so adds none) and commits
    after a refresh has claimed and recomputed the day: its event must still be counted.

    Forced with three other sessions: one holds today's mark (the insert waits on it after
    taking its snapshot), one marks the day meanwhile (the other instance), and one holds
    the id the insert's first event gets (it waits there, its marks done, uncommitted)
    while the refresh runs.

    ``marking_again_fails``: the writer's connection is cut while it marks the day again
    after its commit (held up by the other instance's uncommitted mark of that day). The
    events are stored, so the insert succeeds; the next insert makes the mark."""
    stores = open_stores(postgres_url)
    dsn = postgres_dsn(postgres_url)
    mark_holder = await asyncpg.connect(dsn)
    id_holder = await asyncpg.connect(dsn)
    other = await asyncpg.connect(dsn)
    try:
        await clear(stores.engine)
        today = FIRST_DAY + 1
        await other.execute("INSERT INTO rollup_stale VALUES ('p', $1)", today)
        await mark_holder.execute("BEGIN")
        await mark_holder.execute(
            "SELECT 1 FROM rollup_stale WHERE project_id = 'p' AND day = $1 FOR UPDATE", today
        )
        await id_holder.execute("BEGIN")
        taken = await id_holder.fetchval("SELECT nextval(pg_get_serial_sequence('events', 'id'))")
        await id_holder.execute(
            # A project number no project has, a text id no text has; the key is the id
            # and the time (the table is partitioned by time on PostgreSQL), so the time
            # is the insert's first event's.
            "INSERT INTO events (id, project, ts, visitor, action, path)"
            " VALUES ($1, -1, $2, 0, 0, 1)",
            taken + 1,
            DAY_A + 1000,
        )
        insert = asyncio.ensure_future(
            stores.events.add([visit("p", DAY_A + 1000), visit("p", DAY_A + DAY_MS + 1000)])
        )
        # The insert has its snapshot and waits on today's mark: the other instance marks
        # the first day, then today's mark is let go.
        await blocked_by(other, mark_holder)
        await other.execute("INSERT INTO rollup_stale VALUES ('p', $1)", FIRST_DAY)
        await mark_holder.execute("ROLLBACK")
        # Its marks done, it waits on the id: a refresh claims the first day meanwhile.
        await blocked_by(other, id_holder)
        assert await stores.events.refresh(moment(today * DAY_MS)) == 1
        if marking_again_fails:
            await other.execute("BEGIN")
            await other.execute("INSERT INTO rollup_stale VALUES ('p', $1)", FIRST_DAY)
        await id_holder.execute("ROLLBACK")
        if marking_again_fails:
            await blocked_by(mark_holder, other)
            await mark_holder.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE $1 = ANY(pg_blocking_pids(pid))",
                other.get_server_pid(),
            )
            await insert  # stored: no error
            await other.execute("ROLLBACK")
            assert await stale_days(stores, "p") == [today]
            await stores.events.add([visit("q", DAY_A + DAY_MS + 2000)])
        await insert
        await stores.events.refresh(moment(today * DAY_MS))
        day = TimeRange(start=moment(DAY_A), end=moment(DAY_A + DAY_MS))
        assert await stores.events.count_by_action("p", day) == {Action.VISIT: 1}
    finally:
        for connection in (mark_holder, id_holder, other):
            await connection.close()
        await stores.dispose()


async def test_many_stale_days_apart_over_a_long_range_are_read_from_the_events(
    sql: SqlStores,
) -> None:
    """Every other day stale (as after an upgrade of a quiet site): too many pieces for one
    statement (SQLite allows 500 SELECTs in one), so the range is read from the events."""
    pair = Pair(sql)
    await pair.add([visit("p", DAY_A + 2 * n * DAY_MS + 1000, VISITORS[n % 6]) for n in range(300)])
    await pair.assert_same("p", TimeRange(start=moment(DAY_A), end=moment(DAY_A + 700 * DAY_MS)))


async def test_a_refresh_ends_while_events_keep_making_its_days_stale(sql: SqlStores) -> None:
    pair = Pair(sql)
    await pair.add([visit("p", DAY_A + d * DAY_MS + 1000) for d in range(3)])
    stop = asyncio.Event()

    async def keep_sending() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            await pair.add([visit("p", DAY_A + (n % 3) * DAY_MS + 2000 + n, VISITORS[n % 6])])
            await asyncio.sleep(0)

    sender = asyncio.create_task(keep_sending())
    try:
        # Only the days stale when it began, each at most once.
        assert await asyncio.wait_for(sql.events.refresh(moment(DAY_A + 4 * DAY_MS)), 30) <= 3
    finally:
        stop.set()
        await sender
    await sql.events.refresh(moment(DAY_A + 4 * DAY_MS))
    await pair.assert_same("p", WEEK)


@pytest.mark.postgres
async def test_a_refresh_waits_for_another_process_holding_the_rollup_lock(
    postgres_url: str,
) -> None:
    stores = open_stores(postgres_url)
    try:
        await clear(stores.engine)
        await stores.events.add([visit("p", DAY_A + d * DAY_MS) for d in range(3)])
        holder = await asyncpg.connect(postgres_dsn(postgres_url))
        try:
            await holder.execute("SELECT pg_advisory_lock($1)", ROLLUP_LOCK)
            refresh = asyncio.create_task(stores.events.refresh(moment(DAY_A + 3 * DAY_MS)))
            await until(waiting(holder, ROLLUP_LOCK, unless=refresh), "the refresh waiting")
            assert not refresh.done()
            await holder.execute("SELECT pg_advisory_unlock($1)", ROLLUP_LOCK)
            assert await refresh == 3
        finally:
            await holder.close()
    finally:
        await stores.dispose()


async def test_a_name_first_in_no_block_can_top_a_ranking_over_blocks(sql: SqlStores) -> None:
    # Day A: /a 5 visits, /b 4; day B: /c 5, /b 4. /b is first on neither day and tops
    # both together. Reading two names per day, /b is met but only ties the bound (4 + 4),
    # so the reader reads deeper; reading three, both days are read whole.
    pair = Pair(sql)
    day_a = [visit("p", DAY_A + n, VISITORS[n], "/a") for n in range(5)]
    day_a += [visit("p", DAY_A + 10 + n, VISITORS[n], "/b") for n in range(4)]
    day_b = [visit("p", DAY_A + DAY_MS + n, VISITORS[n], "/c") for n in range(5)]
    day_b += [visit("p", DAY_A + DAY_MS + 10 + n, VISITORS[n], "/b") for n in range(4)]
    await pair.add(day_a + day_b)
    await sql.events.refresh(moment(DAY_A + 2 * DAY_MS))
    two_days = TimeRange(start=moment(DAY_A), end=moment(DAY_A + 2 * DAY_MS))
    for reader in pair.shallow:
        top = await reader.top_pages("p", bounds(two_days), 1)
        assert [(page.path, page.visits, page.unique_visitors) for page in top] == [("/b", 8, 8)]
    await pair.assert_same("p", two_days)
    # Past the end of the second day, a raw part joins the blocks.
    await pair.add([visit("p", DAY_A + 2 * DAY_MS + n, VISITORS[n], "/c") for n in range(4)])
    await pair.assert_same("p", TimeRange(start=moment(DAY_A), end=moment(DAY_A + 3 * DAY_MS)))


async def test_a_flat_ranking_over_blocks_is_read_whole(sql: SqlStores) -> None:
    # 40 pages (and referrers, and download targets) seen once a day on two days: every
    # first name read, however deep, counts as much as the bound, so the reader ends by
    # summing every name.
    pair = Pair(sql)
    names = [f"{n:02d}" for n in range(40)]
    events = []
    for day in range(2):
        for n, name in enumerate(reversed(names)):
            seen = visit("p", DAY_A + day * DAY_MS + n, VISITORS[n % 6], f"/{name}")
            seen = replace(seen, referrer=f"https://{name}.example/")
            download = replace(seen, action=Action.DOWNLOAD, referrer=None, target=name)
            events += [seen, download]
    await pair.add(events)
    await sql.events.refresh(moment(DAY_A + 2 * DAY_MS))
    two_days = bounds(TimeRange(start=moment(DAY_A), end=moment(DAY_A + 2 * DAY_MS)))
    for reader in pair.shallow:
        top = await reader.top_pages("p", two_days, 3)
        assert [(page.path, page.visits) for page in top] == [(f"/{n}", 2) for n in names[:3]]
        referrers = await reader.top_referrers("p", two_days, 3)
        assert referrers == [Ranked(name=f"https://{n}.example/", count=2) for n in names[:3]]
        targets = await reader.top_targets("p", two_days, Action.DOWNLOAD, 3)
        assert targets == [Ranked(name=n, count=2) for n in names[:3]]
    await pair.assert_same("p", TimeRange(start=moment(DAY_A), end=moment(DAY_A + 2 * DAY_MS)))


async def test_the_whole_ranking_orders_by_count_before_name(sql: SqlStores) -> None:
    # Three days, each with 20 names of its own seen twice and "zz" seen once: "zz" tops
    # the three days together (3 against 2) though it is last by name and first in no
    # day. Reading one, then 16 names a day never settles it (each day holds more, at 2),
    # so the reader ranks every name: by count first, then by name.
    pair = Pair(sql)
    events = []
    for day in range(3):
        start = DAY_A + day * DAY_MS
        for n in range(20):
            name = f"{'abc'[day]}{n:02d}"
            for seen in range(2):
                event = visit("p", start + 100 * n + seen, VISITORS[seen], f"/{name}")
                event = replace(event, referrer=f"https://{name}.example/")
                events += [event, replace(event, action=Action.DOWNLOAD, target=name)]
        event = visit("p", start + 5000, VISITORS[5], "/zz")
        event = replace(event, referrer="https://zz.example/")
        events += [event, replace(event, action=Action.DOWNLOAD, target="zz")]
    await pair.add(events)
    await sql.events.refresh(moment(DAY_A + 3 * DAY_MS))
    three_days = TimeRange(start=moment(DAY_A), end=moment(DAY_A + 3 * DAY_MS))
    reader = pair.shallow[0]  # one name a day first, then 16: neither settles
    top = await reader.top_pages("p", bounds(three_days), 2)
    assert [(page.path, page.visits) for page in top] == [("/zz", 3), ("/a00", 2)]
    referrers = await reader.top_referrers("p", bounds(three_days), 2)
    assert [r.name for r in referrers] == ["https://zz.example/", "https://a00.example/"]
    targets = await reader.top_targets("p", bounds(three_days), Action.DOWNLOAD, 2)
    assert targets == [Ranked(name="zz", count=3), Ranked(name="a00", count=2)]
    await pair.assert_same("p", three_days)


async def test_the_raw_part_bounds_a_ranking_summed_over_its_intervals(sql: SqlStores) -> None:
    # From noon on day A to noon on day C: day B is a block, the halves of A and C are
    # raw. Raw: /c 9, /d 6, /b 5 on day A and /b 5 on day C; block: /a 7, /e 1, /f 1.
    # Read two names per part, /c (9) leads the candidates, but /b, summed over both raw
    # halves, counts 10: the raw part's bound must come from its sums, not its rows.
    pair = Pair(sql)
    noon = DAY_A + DAY_MS // 2
    counts = {
        noon: {"/c": 9, "/d": 6, "/b": 5},
        DAY_A + DAY_MS: {"/a": 7, "/e": 1, "/f": 1},
        DAY_A + 2 * DAY_MS: {"/b": 5},
    }
    events = []
    for start, pages in counts.items():
        for path, n in pages.items():
            for k in range(n):
                seen = visit("p", start + 1000 * k, f"{k:016x}", path)
                seen = replace(seen, referrer=f"https://{path[1:]}.example/")
                click = replace(seen, action=Action.CLICK, path="/x", referrer=None, target=path)
                events += [seen, click]
    await pair.add(events)
    await sql.events.refresh(moment(DAY_A + 2 * DAY_MS + 1))
    assert await stale_days(sql, "p") == [FIRST_DAY + 2]
    halves = TimeRange(start=moment(noon), end=moment(noon + 2 * DAY_MS))
    for reader in pair.shallow:
        top = await reader.top_pages("p", bounds(halves), 1)
        assert [(page.path, page.visits) for page in top] == [("/b", 10)]
        targets = await reader.top_targets("p", bounds(halves), Action.CLICK, 1)
        assert targets == [Ranked(name="/b", count=10)]
        referrers = await reader.top_referrers("p", bounds(halves), 1)
        assert referrers == [Ranked(name="https://b.example/", count=10)]
    await pair.assert_same("p", halves)


async def test_each_part_is_read_first_by_count_not_by_name(sql: SqlStores) -> None:
    # Day A (a block): /a 3, /b 1, /z 9; day B: /a 3, a block, then as a raw half day.
    # Reading one name per part, then one more: the parts' first names by count are /z
    # and /a; by name they would be /a and /b, and /a (6) would seem to beat a bound of 1.
    pair = Pair(sql)
    counts = {DAY_A: {"/a": 3, "/b": 1, "/z": 9}, DAY_A + DAY_MS: {"/a": 3}}
    events = []
    for start, pages in counts.items():
        for path, n in pages.items():
            for k in range(n):
                seen = visit("p", start + 1000 * (k + 1), f"{k:016x}", path)
                events.append(replace(seen, referrer=f"https://{path[1:]}.example/"))
    await pair.add(events)
    await sql.events.refresh(moment(DAY_A + 2 * DAY_MS))
    blocks = TimeRange(start=moment(DAY_A), end=moment(DAY_A + 2 * DAY_MS))
    # Day A as raw (from its second millisecond), day B as a block.
    raw_first = TimeRange(start=moment(DAY_A + 1), end=moment(DAY_A + 2 * DAY_MS))
    for where in (blocks, raw_first):
        for reader in pair.shallow:
            top = await reader.top_pages("p", bounds(where), 1)
            assert [(page.path, page.visits) for page in top] == [("/z", 9)], (where, reader)
            referrers = await reader.top_referrers("p", bounds(where), 1)
            assert referrers == [Ranked(name="https://z.example/", count=9)], (where, reader)
        await pair.assert_same("p", where)


async def test_an_event_at_the_end_of_a_range_is_outside_it(sql: SqlStores) -> None:
    pair = Pair(sql)
    await pair.add([visit("p", DAY_A + 5000), visit("p", DAY_A + 4999, VISITORS[1], "/in")])
    before = span(DAY_A, DAY_A + 5000)
    await pair.assert_same("p", before)
    assert [e.path for e in await sql.events.latest("p", before, 10)] == ["/in"]


async def test_an_empty_or_reversed_range_ranks_nothing(sql: SqlStores) -> None:
    pair = Pair(sql)
    await pair.add([visit("p", DAY_A + 5000)])
    for where in (span(DAY_A + 5000, DAY_A + 5000), span(DAY_A + DAY_MS, DAY_A)):
        assert await sql.events.top_pages("p", where, 10) == []
        assert await sql.events.top_referrers("p", where, 10) == []
        await pair.assert_same("p", where)


async def test_a_daily_series_shows_each_day_of_its_range_once(sql: SqlStores) -> None:
    # Three computed days, then a late event on the third: a day's figures come from its
    # own block only, never from the next day's (computed, or stale with old figures).
    pair = Pair(sql)
    await pair.add([visit("p", DAY_A + d * DAY_MS + 1000, VISITORS[d]) for d in range(3)])
    await sql.events.refresh(moment(DAY_A + 3 * DAY_MS))

    async def daily(where: TimeRange) -> list[tuple[int, int]]:
        got = await pair.sql.series("p", where, where.start, timedelta(days=1))
        assert got == await pair.memory.series("p", where, where.start, timedelta(days=1))
        return [(b.visits, b.unique_visitors) for b in got]

    # Days A and A + 1 are one run of blocks, read as one range of days.
    assert await daily(span(DAY_A, DAY_A + 2 * DAY_MS)) == [(1, 1), (1, 1)]
    await pair.add([visit("p", DAY_A + 2 * DAY_MS + 2000, VISITORS[4])])
    assert await stale_days(sql, "p") == [FIRST_DAY + 2]
    assert await daily(span(DAY_A, DAY_A + 3 * DAY_MS)) == [(1, 1), (1, 1), (2, 2)]


async def test_days_recomputed_together_keep_their_own_figures(sql: SqlStores) -> None:
    # Days A and B are recomputed in one transaction, from one interval of events: each
    # keeps its own referrers, targets and values. Day C has events but no visit (its
    # series shows 0 visits); day D, still under way, is read from the events.
    pair = Pair(sql)
    seen_a = replace(visit("p", DAY_A + 1000, VISITORS[0], "/a"), referrer=REFERRERS[2])
    seen_b = replace(visit("p", DAY_A + DAY_MS + 1000, VISITORS[1], "/b"), referrer=REFERRERS[2])
    seen_d = visit("p", DAY_A + 3 * DAY_MS + 1000, VISITORS[2], "/a")
    click = replace(seen_a, action=Action.CLICK, referrer=None, target=TARGETS[3])
    await pair.add(
        [
            seen_a,
            replace(seen_a, referrer=REFERRERS[3]),
            replace(seen_a, action=Action.DOWNLOAD, referrer=None, target=TARGETS[2]),
            replace(seen_a, action=Action.SHARE, referrer=None, target=TARGETS[2]),
            replace(seen_a, action=Action.SCROLL, referrer=None, value=40.0),
            replace(click, value=2.0),
            replace(click, value=4.0),
            seen_b,
            replace(seen_b, action=Action.SCROLL, referrer=None, value=90.0),
            replace(click, timestamp=moment(DAY_A + 2 * DAY_MS + 1000)),
            seen_d,
            replace(click, timestamp=moment(DAY_A + 3 * DAY_MS + 2000), value=9.0),
            replace(click, timestamp=moment(DAY_A + 3 * DAY_MS + 3000)),
            replace(seen_d, action=Action.SCROLL, value=20.0),
        ]
    )
    assert await sql.events.refresh(moment(DAY_A + 3 * DAY_MS + 5000)) == 3
    for day in range(3):
        await pair.assert_same("p", span(DAY_A + day * DAY_MS, DAY_A + (day + 1) * DAY_MS))
    four_days = span(DAY_A, DAY_A + 3 * DAY_MS + DAY_MS // 2)
    await pair.assert_same("p", four_days)
    # Values of clicks, some without one, from the rows of days A to C and the events of D.
    assert await pair.sql.average_value("p", four_days, Action.CLICK) == 5.0
    assert await pair.memory.average_value("p", four_days, Action.CLICK) == 5.0
    # Late events make day A stale: until it is recomputed, it is read from its events.
    late = replace(seen_a, timestamp=moment(DAY_A + 5000), referrer=REFERRERS[3])
    await pair.add(
        [
            late,
            replace(late, action=Action.DOWNLOAD, referrer=None, target=TARGETS[3]),
            replace(click, timestamp=moment(DAY_A + 6000), value=15.0),
        ]
    )
    await pair.assert_same("p", four_days)
    assert await pair.sql.average_value("p", four_days, Action.CLICK) == 7.5


async def test_a_page_whose_events_are_gone_leaves_the_rankings_when_its_day_is_recomputed(
    sql: SqlStores,
) -> None:
    await sql.events.add(
        [visit("p", DAY_A + 1000, VISITORS[0], "/gone"), visit("p", DAY_A + 2000, VISITORS[1])]
    )
    await sql.events.refresh(moment(DAY_A + DAY_MS))
    # Events deleted by hand (no route deletes part of a day); the day's next event makes
    # it stale, and its recomputation takes "/gone" out of the day's and blocks' rows.
    async with sql.engine.begin() as connection:
        gone = select(tables.texts.c.id).where(tables.texts.c.text == "/gone")
        await connection.execute(delete(tables.events).where(tables.events.c.path.in_(gone)))
    await sql.events.add([visit("p", DAY_A + 3000, VISITORS[1])])
    assert await sql.events.refresh(moment(DAY_A + DAY_MS)) == 1
    for where in (WEEK, span(DAY_A - 100 * DAY_MS, DAY_A + 100 * DAY_MS)):
        top = await sql.events.top_pages("p", where, 10)
        assert [(page.path, page.visits, page.unique_visitors) for page in top] == [("/", 2, 1)]
        assert await sql.events.unique_visitors("p", where) == 1


async def test_an_empty_range_counts_nothing(sql: SqlStores) -> None:
    pair = Pair(sql)
    await pair.add([visit("p", DAY_A + 1000), visit("p", DAY_A + DAY_MS + 1000, VISITORS[1])])
    await sql.events.refresh(moment(DAY_A + 2 * DAY_MS))
    for moment_ms in (DAY_A, DAY_A + 1000, DAY_A + DAY_MS):
        empty = span(moment_ms, moment_ms)
        assert await pair.sql.unique_visitors("p", empty) == 0
        await pair.assert_same("p", empty)
