"""Events as integers (migration 0006): an event's texts become ids of its project's
dictionary (``texts``), its project a number (``project_numbers``), its visitor hash a
signed 64-bit integer, its action a code.

The writers resolve texts through :class:`Dictionary`, an in-process cache bounded in
size, and add the texts it does not know in the transaction that stores the events
(:func:`resolve_sqlite`, :func:`resolve_postgres`): ids are reserved from the project's
counter (``project_numbers.texts``, whose row lock makes concurrent instances take turns
on PostgreSQL, as SQLite's write lock does), inserted with ``ON CONFLICT DO NOTHING`` and
read back, so that a text another instance added first keeps its id. What a transaction
resolved enters the cache only once it has committed: an id of a rolled-back transaction
names nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from privalytics.adapters.sqlalchemy.tables import ACTION_CODES, TEXT_FIELDS, to_millis
from privalytics.domain.models import Action, Event

# An event as the writers take it: project id, ts, visitor, action code, value, props,
# then the texts of TEXT_FIELDS (the dictionary's part); and as stored: the same with the
# project's number and text ids.
Values = tuple[Any, ...]
FIXED = 6  # fields before the texts
STORED_COLUMNS = ("project", "ts", "visitor", "action", "value", "props", *TEXT_FIELDS)

ACTIONS: dict[int, Action] = {code: action for action, code in ACTION_CODES.items()}
# A project's texts -> ids as a process knows them; None -> None too, so that every field
# of a row, set or not, is one look-up.
Known = dict[str | None, int | None]
# Texts kept in the cache (over every project) before it starts again empty.
MAX_CACHED = 200_000
_SIGN = 1 << 63
_WRAP = 1 << 64


def visitor_number(visitor_hash: str) -> int:
    """The stored integer of a visitor hash: its first 16 hex digits (64 bits), signed."""
    n = int(visitor_hash[:16], 16)
    return n - _WRAP if n >= _SIGN else n


def visitor_text(number: int) -> str:
    """The visitor hash of a stored integer: 16 lowercase hex digits."""
    return f"{number % _WRAP:016x}"


def event_values(event: Event) -> Values:
    """An event as the writers take it (see :data:`Values`)."""
    return (
        event.project_id,
        to_millis(event.timestamp),
        visitor_number(event.visitor_hash),
        ACTION_CODES[event.action],
        event.value,
        msgspec.json.encode(event.props).decode() if event.props else None,
        event.path,
        event.target,
        event.source,
        event.referrer,
        event.utm_source,
        event.utm_medium,
        event.utm_campaign,
        event.utm_term,
        event.utm_content,
        event.browser,
        event.browser_version,
        event.os,
        event.os_version,
        event.device,
        event.country,
        event.region,
        event.city,
        event.name,
        event.currency,
    )


class Dictionary:
    """What one process knows of the project numbers and the dictionary: project id ->
    number, and per number text -> id. Both only grow (a number or an id, once committed,
    never changes), but for :meth:`forget` when a project's events and texts are deleted.
    """

    def __init__(self, max_cached: int = MAX_CACHED) -> None:
        self.numbers: dict[str, int] = {}
        self.ids: dict[int, Known] = {}
        self._max = max_cached
        self._size = 0

    def encode(self, rows: Sequence[Values]) -> list[Values] | None:
        """``rows`` as stored, or None when a project or a text is not known here."""
        numbers, ids = self.numbers, self.ids
        try:
            # Each project's ids map None to None too: one C-level look-up per text.
            return [
                (n, row[1], row[2], row[3], row[4], row[5], *map(ids[n].__getitem__, row[FIXED:]))
                for row in rows
                for n in (numbers[row[0]],)
            ]
        except KeyError:
            return None

    def learn(self, numbers: dict[str, int], ids: dict[int, Known]) -> None:
        """Add what a committed transaction resolved."""
        if self._size > self._max:
            self.numbers.clear()
            self.ids.clear()
            self._size = 0
        self.numbers.update(numbers)
        for number in numbers.values():
            self.ids.setdefault(number, {None: None})
        for number, found in ids.items():
            self.ids.setdefault(number, {None: None}).update(found)
            self._size += len(found)

    def forget(self, project_id: str) -> None:
        """Drop what is known of a project whose texts were deleted."""
        number = self.numbers.pop(project_id, None)
        if number is not None:
            self.ids.pop(number, None)


def _wanted(rows: Sequence[Values], cache: Dictionary) -> tuple[set[str], dict[str, set[str]]]:
    """The project ids not known, and per project id the texts not known."""
    projects = {row[0] for row in rows}
    texts: dict[str, set[str]] = {}
    for row in rows:
        known = cache.ids.get(cache.numbers.get(row[0], -1), {})
        missing = {t for t in row[FIXED:] if t is not None and t not in known}
        if missing:
            texts.setdefault(row[0], set()).update(missing)
    return projects - cache.numbers.keys(), texts


def _stored(rows: Sequence[Values], numbers: dict[str, int], ids: dict[int, Known]) -> list[Values]:
    out = []
    for row in rows:
        number = numbers[row[0]]
        known = ids[number]
        out.append((number, *row[1:FIXED], *[known[t] for t in row[FIXED:]]))
    return out


Resolved = tuple[list[Values], dict[str, int], dict[int, Known]]
# A SQLite statement with ``?`` parameters, run in the caller's transaction: its rows.
Execute = Callable[[str, Sequence[Any]], list[Any]]
_CHUNK = 500  # ``?`` per IN list


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def resolve_sqlite(execute: Execute, rows: Sequence[Values], cache: Dictionary) -> Resolved:
    """``rows`` as stored, adding the projects and texts ``cache`` does not know, inside
    the caller's transaction; and what was resolved (for :meth:`Dictionary.learn` once the
    transaction has committed)."""
    new_projects, new_texts = _wanted(rows, cache)
    numbers = {p: cache.numbers[p] for p in {row[0] for row in rows} - new_projects}
    for project_id in sorted(new_projects):
        execute(
            "INSERT INTO project_numbers (project_id, texts) VALUES (?, 0) "
            "ON CONFLICT (project_id) DO NOTHING",
            (project_id,),
        )
        (number,) = execute(
            "SELECT number FROM project_numbers WHERE project_id = ?", (project_id,)
        )[0]
        numbers[project_id] = number
    ids: dict[int, Known] = {}
    for project_id in sorted(numbers, key=numbers.__getitem__):
        number = numbers[project_id]
        wanted = sorted(new_texts.get(project_id, ()))
        if not wanted:
            continue
        found = _read_texts(execute, number, wanted)
        missing = [t for t in wanted if t not in found]
        if missing:
            (last,) = execute(
                "UPDATE project_numbers SET texts = texts + ? WHERE number = ? RETURNING texts",
                (len(missing), number),
            )[0]
            first = last - len(missing) + 1
            for offset, text in enumerate(missing):
                execute(
                    "INSERT INTO texts (project, id, text) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (number, first + offset, text),
                )
            found.update(_read_texts(execute, number, missing))
        ids[number] = found
    merged: dict[int, Known] = {
        n: {None: None, **cache.ids.get(n, {}), **ids.get(n, {})} for n in numbers.values()
    }
    return _stored(rows, numbers, merged), numbers, ids


def _read_texts(execute: Execute, number: int, texts: Sequence[str]) -> Known:
    found: Known = {}
    for chunk in _chunks(texts):
        marks = ", ".join("?" * len(chunk))
        for id_, text in execute(
            f"SELECT id, text FROM texts WHERE project = ? AND text IN ({marks})",  # noqa: S608
            (number, *chunk),
        ):
            found[text] = id_
    return found


async def resolve_postgres(driver: Any, rows: Sequence[Values], cache: Dictionary) -> Resolved:
    """As :func:`resolve_sqlite`, on an asyncpg connection inside its transaction."""
    new_projects, new_texts = _wanted(rows, cache)
    numbers = {p: cache.numbers[p] for p in {row[0] for row in rows} - new_projects}
    if new_projects:
        wanted_projects = sorted(new_projects)
        await driver.execute(
            "INSERT INTO project_numbers (project_id, texts) SELECT unnest($1::text[]), 0 "
            "ON CONFLICT (project_id) DO NOTHING",
            wanted_projects,
        )
        for project_id, number in await driver.fetch(
            "SELECT project_id, number FROM project_numbers WHERE project_id = ANY($1::text[])",
            wanted_projects,
        ):
            numbers[project_id] = number
    ids: dict[int, Known] = {}
    # Counters locked in number order: two instances never wait for each other in turn.
    for project_id in sorted(numbers, key=numbers.__getitem__):
        number = numbers[project_id]
        wanted = sorted(new_texts.get(project_id, ()))
        if not wanted:
            continue
        found = await _pg_texts(driver, number, wanted)
        missing = [t for t in wanted if t not in found]
        if missing:
            last = await driver.fetchval(
                "UPDATE project_numbers SET texts = texts + $1 WHERE number = $2 RETURNING texts",
                len(missing),
                number,
            )
            first = last - len(missing) + 1
            await driver.execute(
                "INSERT INTO texts (project, id, text) "
                "SELECT $1, * FROM unnest($2::integer[], $3::text[]) ON CONFLICT DO NOTHING",
                number,
                list(range(first, first + len(missing))),
                missing,
            )
            found.update(await _pg_texts(driver, number, missing))
        ids[number] = found
    merged: dict[int, Known] = {
        n: {None: None, **cache.ids.get(n, {}), **ids.get(n, {})} for n in numbers.values()
    }
    return _stored(rows, numbers, merged), numbers, ids


async def _pg_texts(driver: Any, number: int, texts: Sequence[str]) -> Known:
    rows = await driver.fetch(
        "SELECT id, text FROM texts WHERE project = $1 AND text = ANY($2::text[])",
        number,
        list(texts),
    )
    return {text: id_ for id_, text in rows}
