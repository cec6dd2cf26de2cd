"""Bots: which arriving events are a bot's, and the bot log that counts them.

A bot's event is answered as an accepted one is (so that nothing retries) and is never
stored as an event: the project's bot log counts it instead, per UTC day and per reason.
The reason is a short label ("Googlebot", "HeadlessChrome", "empty user agent",
"webdriver"); no address and no user agent is ever part of it.

The counts are added up in memory and written by :meth:`BotLog.flush`, which the driving
adapters run every few seconds and on shutdown, so a bot costs the ingestion path a
dictionary update, not a write. A process killed without shutting down loses the counts
it had not flushed yet (never an event: bots' events are not stored anyway).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from privalytics.domain.models import BotCount, BotReport, IncomingEvent, Ranked, TimeRange
from privalytics.domain.ports import BotDetector, BotLogStore
from privalytics.domain.validation import CleanEvent

EMPTY_AGENT = "empty user agent"
WEBDRIVER = "webdriver"
# Reasons are labels, never text from a request: the longest is bounded all the same.
MAX_REASON = 64

_Key = tuple[str, date, str]


def bot_reason(detector: BotDetector | None, user_agent: str, webdriver: bool) -> str | None:
    """Why an event with ``user_agent`` (and ``webdriver``, what the tracker read of
    ``navigator.webdriver``) is a bot's; None for a visitor's, and always None without a
    ``detector`` (the filter turned off). The agent's own word comes first ("HeadlessChrome"
    says more than "webdriver")."""
    if detector is None:
        return None
    if not user_agent.strip():
        return EMPTY_AGENT
    reason = detector.classify(user_agent)
    if reason is not None:
        return reason[:MAX_REASON]
    return WEBDRIVER if webdriver else None


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


class BotLog:
    """The bot log of every project: counts noted in memory, flushed to ``store`` (None:
    no store, the counts stay in this process's memory)."""

    def __init__(self, store: BotLogStore | None = None) -> None:
        self._store = store
        self._pending: Counter[_Key] = Counter()
        # What a flush under way is writing: still counted by reports meanwhile.
        self._flushing: Counter[_Key] = Counter()

    def note(self, project_id: str, day: date, reason: str, count: int = 1) -> None:
        """Count ``count`` bot events of ``reason`` for the project on ``day``."""
        self._pending[project_id, day, reason] += count

    @property
    def unflushed(self) -> int:
        """Bot events counted in memory and not written yet."""
        return sum(self._pending.values()) + sum(self._flushing.values())

    async def flush(self) -> int:
        """Write what was counted since the last flush; returns how many bot events that
        was. On a storage failure the counts stay in memory for the next flush."""
        store = self._store
        if store is None or not self._pending or self._flushing:
            return 0
        self._flushing, self._pending = self._pending, Counter()
        taken = self._flushing
        try:
            await store.add_bot_counts(
                [
                    BotCount(project_id=project, day=day, reason=reason, count=count)
                    for (project, day, reason), count in taken.items()
                ]
            )
        except BaseException:
            self._pending.update(taken)
            raise
        finally:
            self._flushing = Counter()
        return sum(taken.values())

    async def forget(self, project_id: str) -> int:
        """Delete the project's bot log, stored and counted; returns the stored lines."""
        for key in [key for key in self._pending if key[0] == project_id]:
            del self._pending[key]
        if self._store is None:
            return 0
        return await self._store.delete_project_bot_counts(project_id)

    async def report(self, project_id: str, span: TimeRange) -> BotReport:
        """The project's bot log over the UTC days ``span`` touches (the log keeps days,
        not moments), with what this process has not flushed yet."""
        first = day_of(span.start)
        # The end is excluded: a range ending at midnight does not touch the next day.
        last = day_of(span.end - timedelta(microseconds=1))
        last = max(last, first)
        totals: Counter[tuple[date, str]] = Counter()
        stored = (
            [] if self._store is None else await self._store.bot_counts(project_id, first, last)
        )
        for line in stored:
            totals[line.day, line.reason] += line.count
        for pending in (self._pending, self._flushing):
            for (project, day, reason), count in pending.items():
                if project == project_id and first <= day <= last:
                    totals[day, reason] += count
        per_reason: Counter[str] = Counter()
        for (_, reason), count in totals.items():
            per_reason[reason] += count
        return BotReport(
            range=span,
            first_day=first,
            last_day=last,
            total=sum(totals.values()),
            reasons=[
                Ranked(name=reason, count=count)
                for reason, count in sorted(per_reason.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            days=[
                BotCount(project_id=project_id, day=day, reason=reason, count=count)
                for (day, reason), count in sorted(totals.items())
            ],
        )


def without_bots(
    detector: BotDetector,
    log: BotLog,
    project_id: str,
    incoming: Sequence[IncomingEvent],
    cleaned: list[CleanEvent],
    client_agent: str,
) -> tuple[Sequence[IncomingEvent], list[CleanEvent]]:
    """The events (as sent and as cleaned) that are not a bot's; each bot's is counted in
    ``log``. An event's agent is its own (a server-side sender's visitor's), else the
    request's (``client_agent``)."""
    kept_sent: list[IncomingEvent] = []
    kept: list[CleanEvent] = []
    for sent, event in zip(incoming, cleaned, strict=True):
        agent = event.user_agent if event.user_agent is not None else client_agent
        reason = bot_reason(detector, agent, sent.webdriver)
        if reason is None:
            kept_sent.append(sent)
            kept.append(event)
        else:
            log.note(project_id, day_of(event.timestamp), reason)
    if len(kept) == len(cleaned):
        return incoming, cleaned
    return kept_sent, kept
