"""Importing another tool's per-request history (``privalytics import``): a web server's
access log, a GoatCounter export.

An imported request becomes the event a live one would have been: the same validation
and cleaning (:func:`~privalytics.domain.validation.clean_event`), the same bot
classifier, the same derivation of source, campaign, browser, system, device and place
(:class:`~privalytics.domain.derivation.Derivation`), and a visitor hash made as live
traffic's (:func:`~privalytics.domain.hashing.visitor_hash`). The salt of a past window
is gone (deleted when its window ended), so each salt window the file touches gets a fresh
random salt, held in this process for the run only and never stored: visitors are counted
within a window as live ones are, and nobody can link them to anything afterwards.

All or nothing per file: a first pass parses and validates every line and stores nothing;
a malformed line is reported with its number and the file is refused. A second pass reads
the file again and stores its events in batches within one transaction with the file's
line in the imports registry (:class:`~privalytics.domain.ports.ImportStore`), which makes
importing the same file (same SHA-256) again a no-op. The bots a stored file held are
counted in the project's bot log (per UTC day and reason), as live bots are.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import date, datetime, timedelta

import msgspec

from privalytics.domain.bots import EMPTY_AGENT, MAX_REASON, BotLog, day_of
from privalytics.domain.derivation import Derivation
from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.hashing import SALT_BYTES, visitor_hash, window_of
from privalytics.domain.models import Action, Derived, Event, ImportRecord, IncomingEvent
from privalytics.domain.ports import BotDetector, Clock, ImportStore, TokenStore
from privalytics.domain.retention import Retention
from privalytics.domain.validation import CleanEvent, clean_event, normalize_ip

ACCESS_LOG = "access-log"
GOATCOUNTER = "goatcounter"
FORMATS = (ACCESS_LOG, GOATCOUNTER)
# Events per insert within the import's transaction.
BATCH = 5000
# Malformed lines named in the refusal (all are counted).
MAX_REPORTED = 20
# What begins the drop reason of a line the bot classifier refused (then its reason).
BOT = "bot: "


class ImportedHit(msgspec.Struct, frozen=True, kw_only=True):
    """One request of an imported file, as its parser read it: never stored. Either an
    address and an agent (an access log: hashed and derived as live traffic), or a
    ``session`` id and what the other tool ``known`` derived already (GoatCounter)."""

    line: int
    timestamp: datetime
    # The page as requested: a path with its query (read for the campaign, then dropped).
    page: str
    referrer: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    session: str | None = None
    known: Derived | None = None
    # A custom event's name (GoatCounter's events); None: a page view.
    name: str | None = None


class Skipped(msgspec.Struct, frozen=True, kw_only=True):
    """A well-formed line that is no page view to count (a POST, a 404, an image, a
    bot...): ``reason`` names the kind, never the line's content."""

    line: int
    reason: str
    # A bot's line: its time, to count it in the project's bot log as live bots are.
    bot_at: datetime | None = None


class Malformed(msgspec.Struct, frozen=True, kw_only=True):
    """A line the parser cannot read; ``message`` says why without quoting an address or
    an agent."""

    line: int
    message: str


Parsed = ImportedHit | Skipped | Malformed


class MalformedFile(InvalidInput):
    """A file with malformed lines: nothing of it was stored. ``lines``: the first
    :data:`MAX_REPORTED` (line number, message); ``count``: how many there are."""

    def __init__(self, lines: list[tuple[int, str]], count: int) -> None:
        self.lines = lines
        self.count = count
        shown = "; ".join(f"line {number}: {message}" for number, message in lines)
        more = f" (and {count - len(lines)} more)" if count > len(lines) else ""
        noun = "line is" if count == 1 else "lines are"
        super().__init__(f"{count} {noun} malformed, nothing was imported: {shown}{more}")


class ImportSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What an import did: the registry line (the earlier one when ``already``), how
    many lines were read, and the dropped ones per reason."""

    record: ImportRecord
    already: bool
    lines: int = 0
    dropped: dict[str, int] = msgspec.field(default_factory=dict)


def _incoming(hit: ImportedHit) -> IncomingEvent:
    if hit.name is not None:
        return IncomingEvent(action=Action.CUSTOM, name=hit.name, path="/", timestamp=hit.timestamp)
    return IncomingEvent(
        action=Action.VISIT, path=hit.page, referrer=hit.referrer, timestamp=hit.timestamp
    )


class Importing:
    """Import a file's requests into a project (see the module's docstring)."""

    def __init__(
        self,
        *,
        imports: ImportStore,
        tokens: TokenStore,
        clock: Clock,
        derivation: Derivation,
        bots: BotDetector | None,
        retention: Retention,
        bot_log: BotLog | None = None,
    ) -> None:
        self._imports = imports
        self._tokens = tokens
        self._clock = clock
        self._derivation = derivation
        self._bots = bots
        self._retention = retention
        self._bot_log = bot_log

    async def imports(self, project_id: str) -> list[ImportRecord]:
        """The project's imports, oldest first."""
        if await self._tokens.get_project(project_id) is None:
            raise NotFound(f"no project {project_id!r}")
        return await self._imports.list_imports(project_id)

    def _check(
        self, hit: ImportedHit, now: datetime
    ) -> tuple[CleanEvent | None, str | None, str | None]:
        """(the cleaned event, None, None); (None, a drop reason, None); or (None, None, a
        malformed line's message)."""
        if hit.user_agent is not None:
            if not hit.user_agent.strip():
                return None, BOT + EMPTY_AGENT, None
            if self._bots is not None:
                reason = self._bots.classify(hit.user_agent)
                if reason is not None:
                    return None, BOT + reason[:MAX_REASON], None
        try:
            return clean_event(_incoming(hit), now, None), None, None
        except InvalidInput as error:
            return None, None, str(error)

    async def run(
        self,
        project_id: str,
        *,
        form: str,
        sha256: str,
        read: Callable[[], Iterable[Parsed]],
    ) -> ImportSummary:
        """Import the file that ``read`` parses (called twice: validate, then store) in
        format ``form`` with digest ``sha256``: all of it, or nothing (MalformedFile)."""
        if form not in FORMATS:
            raise InvalidInput(f"must be one of {', '.join(FORMATS)}", field="format")
        project = await self._tokens.get_project(project_id)
        if project is None:
            raise NotFound(f"no project {project_id!r}")
        earlier = await self._imports.find_import(project_id, sha256)
        if earlier is not None:
            return ImportSummary(record=earlier, already=True)
        now = self._clock.now()
        lines, dropped, first, last, bots = self._validate(read(), now)
        raw_from = self._retention.raw_from(now)
        if raw_from is not None and first is not None and first < raw_from:
            raise InvalidInput(
                f"the file has events from {first:%Y-%m-%d}, before {raw_from:%Y-%m-%d}, "
                "where the kept raw events begin under PRIVALYTICS_EVENT_RETENTION_DAYS: "
                "their days' figures would be recomputed from the imported events alone"
            )
        record = ImportRecord(
            id=f"imp_{secrets.token_hex(8)}",
            project_id=project_id,
            sha256=sha256,
            format=form,
            first=first,
            last=last,
            events=lines - sum(dropped.values()),
            imported_at=now,
        )
        stored = await self._imports.import_events(
            record, self._batches(project.id, project.allowed_origins, read(), now)
        )
        if stored is None:
            # Another run imported the same file meanwhile: nothing was stored by this one.
            earlier = await self._imports.find_import(project_id, sha256)
            assert earlier is not None
            return ImportSummary(record=earlier, already=True)
        # The file's bots go into the bot log as live ones do, once it is imported.
        if self._bot_log is not None:
            for (day, reason), count in bots.items():
                self._bot_log.note(project_id, day, reason, count)
        return ImportSummary(record=stored, already=False, lines=lines, dropped=dict(dropped))

    def _validate(
        self, parsed: Iterable[Parsed], now: datetime
    ) -> tuple[int, Counter[str], datetime | None, datetime | None, Counter[tuple[date, str]]]:
        """The lines, the dropped ones per reason, the first and last event's times, and
        the bots per UTC day and bot log reason; MalformedFile if any line is."""
        bad: list[tuple[int, str]] = []
        count = lines = 0
        dropped: Counter[str] = Counter()
        bots: Counter[tuple[date, str]] = Counter()
        first: datetime | None = None
        last: datetime | None = None
        for item in parsed:
            lines += 1
            if isinstance(item, Malformed):
                count += 1
                if len(bad) < MAX_REPORTED:
                    bad.append((item.line, item.message))
                continue
            if isinstance(item, Skipped):
                dropped[item.reason] += 1
                if item.bot_at is not None:
                    bots[day_of(item.bot_at), item.reason] += 1
                continue
            cleaned, reason, message = self._check(item, now)
            if reason is not None:
                dropped[reason] += 1
                if reason.startswith(BOT):
                    bots[day_of(item.timestamp), reason.removeprefix(BOT)] += 1
            elif message is not None:
                count += 1
                if len(bad) < MAX_REPORTED:
                    bad.append((item.line, message))
            else:
                assert cleaned is not None
                moment = cleaned.timestamp
                assert moment is not None
                if first is None or moment < first:
                    first = moment
                if last is None or moment > last:
                    last = moment
        if count:
            raise MalformedFile(bad, count)
        return lines, dropped, first, last, bots

    async def _batches(
        self,
        project_id: str,
        origins: tuple[str, ...],
        parsed: Iterable[Parsed],
        now: datetime,
    ) -> AsyncIterator[list[Event]]:
        rotation = self._retention.salt_rotation
        salts: dict[int, bytes] = {}
        batch: list[Event] = []
        for item in parsed:
            if not isinstance(item, ImportedHit):
                continue
            cleaned, _, _ = self._check(item, now)
            if cleaned is None:
                continue
            batch.append(self._event(project_id, origins, item, cleaned, rotation, salts))
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def _event(
        self,
        project_id: str,
        origins: tuple[str, ...],
        hit: ImportedHit,
        cleaned: CleanEvent,
        rotation: timedelta,
        salts: dict[int, bytes],
    ) -> Event:
        timestamp = cleaned.timestamp
        assert timestamp is not None
        window = window_of(timestamp, rotation)
        salt = salts.get(window)
        if salt is None:
            salt = salts[window] = secrets.token_bytes(SALT_BYTES)
        if hit.known is None:
            ip = _canonical_ip(hit.ip or "")
            agent = hit.user_agent or ""
            derived = self._derivation.derive(
                page=hit.page,
                referrer=cleaned.referrer,
                screen_width=None,
                ip=ip,
                user_agent=agent,
                allowed_origins=origins,
                clean_referrer=True,
            )
            visitor = visitor_hash(salt, project_id, ip, agent)
        else:
            derived = self._derivation.derive_known(
                page=hit.page,
                referrer=cleaned.referrer,
                known=hit.known,
                allowed_origins=origins,
            )
            # A session of the other tool stands for the visitor within the window.
            session = hit.session or f"line {hit.line}"
            visitor = visitor_hash(salt, project_id, f"session:{session}", "")
        return Event(
            project_id=project_id,
            action=cleaned.action,
            path=cleaned.path,
            timestamp=to_millisecond(timestamp),
            visitor_hash=visitor,
            name=cleaned.name,
            **msgspec.structs.asdict(derived),
        )


def _canonical_ip(text: str) -> str:
    # As live ingestion hashes a client's address (services._canonical_ip).
    try:
        return normalize_ip(text)
    except InvalidInput:
        return text


def to_millisecond(moment: datetime) -> datetime:
    # As every store keeps a time (services.to_millisecond).
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
