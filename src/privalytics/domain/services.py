"""The use cases: recording events, managing projects and credentials, reading stats."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec

from privalytics.domain import tokens as credentials
from privalytics.domain.accounts import Accounts
from privalytics.domain.caches import Credentials, Privacy, ProjectCache, Salts
from privalytics.domain.errors import (
    InvalidInput,
    NotFound,
    OriginNotAllowed,
    RateLimited,
    StorageUnavailable,
    Unauthenticated,
)
from privalytics.domain.feed import LiveFeed
from privalytics.domain.hashing import visitor_hash
from privalytics.domain.models import (
    Action,
    AdminKeyInfo,
    AdminKeyRecord,
    Bucket,
    ClientInfo,
    CreatedProject,
    Event,
    IncomingEvent,
    IssuedToken,
    Project,
    ProjectUpdate,
    RateLimit,
    Stats,
    TimeRange,
    TokenInfo,
    TokenRecord,
    Totals,
)
from privalytics.domain.ports import (
    Clock,
    EventQueries,
    EventStore,
    RateLimiter,
    SaltStore,
    SecretHasher,
    TokenStore,
    UserStore,
)
from privalytics.domain.ratelimit import Policy, check_rate_limit
from privalytics.domain.reports import breakdowns, previous_range
from privalytics.domain.sites import SiteDirectory
from privalytics.domain.validation import (
    MAX_BATCH,
    clean_event,
    clean_name,
    clean_origins,
    normalize_ip,
    normalize_origin,
)
from privalytics.domain.verification import DEFAULT_TTL, MAX_CONCURRENT_CHECKS

_log = logging.getLogger("privalytics.admin")

DEFAULT_RATE_LIMIT = RateLimit(events=1000, period_seconds=60)
DEFAULT_TOP = 10
MAX_TOP = 100
HOUR = timedelta(hours=1)


@dataclass(frozen=True, kw_only=True)
class IngestSettings:
    salt_rotation: timedelta = timedelta(days=1)
    max_event_age: timedelta = timedelta(hours=24)
    # How long a credential check and a project's settings are remembered in memory.
    cache_ttl: float = DEFAULT_TTL


class Ingestion:
    """Record events: authenticate, check the origin, validate, limit, hash, store."""

    def __init__(
        self,
        *,
        events: EventStore,
        tokens: TokenStore,
        salts: SaltStore,
        limiter: RateLimiter,
        clock: Clock,
        settings: IngestSettings,
        privacy: Privacy,
        feed: LiveFeed | None = None,
    ) -> None:
        self._events = events
        self._tokens = tokens
        self._limiter = limiter
        self._clock = clock
        self._settings = settings
        self._privacy = privacy
        self._feed = feed or LiveFeed()
        self._salts = Salts(salts, settings.salt_rotation)
        self._sites = SiteDirectory(tokens, clock, settings.cache_ttl)

    async def _load_token(self, token_id: str) -> tuple[str, bytes] | None:
        record = await self._tokens.get_token(token_id)
        if record is None or record.revoked_at is not None:
            return None
        return record.project_id, record.secret_hash

    async def authenticate(self, token: str) -> Project:
        """The project that ``token`` writes to."""
        project_id = await self._privacy.credentials.check(
            token, credentials.TOKEN_PREFIX, self._load_token
        )
        project = await self._privacy.projects.get(project_id)
        if project is None:
            raise Unauthenticated("the credential is unknown or revoked")
        return project

    async def record(
        self, token: str, incoming: Sequence[IncomingEvent], client: ClientInfo
    ) -> int:
        """Store ``incoming`` for the token's project, all or nothing; returns the count."""
        if not incoming:
            raise InvalidInput("at least one event is needed", field="events")
        if len(incoming) > MAX_BATCH:
            raise InvalidInput(f"at most {MAX_BATCH} events per batch", field="events")
        project = await self.authenticate(token)
        # authenticate() parsed the token: its id sits at a fixed place.
        return await self._record(project, f"token:{credentials.id_of(token)}", incoming, client)

    async def record_for_domain(
        self, domain: str, incoming: Sequence[IncomingEvent], client: ClientInfo
    ) -> int:
        """Store ``incoming`` for the project whose allowed origins have ``domain`` as
        their host (Plausible's way of naming a site), preferring the one that lists the
        request's origin."""
        project = await self._sites.by_domain(domain, client.origin)
        if project is None:
            raise NotFound("no project lists an origin with this domain")
        return await self._record(project, f"site:{project.id}", incoming, client)

    async def record_for_site(
        self, project_id: str, incoming: Sequence[IncomingEvent], client: ClientInfo
    ) -> int:
        """Store ``incoming`` for the project ``project_id`` when it lists its site's
        origins (Umami's way of naming a site); a project without origins is not found."""
        project = await self._privacy.projects.get(project_id)
        if project is None or not project.allowed_origins:
            raise NotFound("no project with this id lists its site's origins")
        return await self._record(project, f"site:{project.id}", incoming, client)

    async def purge_expired_salts(self) -> int:
        """Delete the salts of windows that are over; returns how many were stored."""
        return await self._salts.purge(self._clock.now())

    async def may_preflight(self, origin: str) -> bool:
        """Whether a browser at ``origin`` may be told it can send (CORS preflight)."""
        return await self._sites.may_preflight(origin)

    async def _record(
        self,
        project: Project,
        rate_key: str,
        incoming: Sequence[IncomingEvent],
        client: ClientInfo,
    ) -> int:
        if not incoming:
            raise InvalidInput("at least one event is needed", field="events")
        if len(incoming) > MAX_BATCH:
            raise InvalidInput(f"at most {MAX_BATCH} events per batch", field="events")
        if (
            client.origin is not None
            and project.allowed_origins
            and normalize_origin(client.origin) not in project.allowed_origins
        ):
            raise OriginNotAllowed("this origin may not send events to the project")
        now = self._clock.now()
        max_age = self._settings.max_event_age
        if len(incoming) == 1:
            cleaned = [clean_event(incoming[0], now, max_age)]
        else:
            cleaned = [
                clean_event(event, now, max_age, index) for index, event in enumerate(incoming)
            ]
        decision = await self._limiter.acquire(rate_key, _policy(project.rate_limit), len(cleaned))
        if not decision.allowed:
            message = (
                f"a batch of {len(cleaned)} events exceeds the limit of {project.rate_limit}"
                if decision.retry_after == float("inf")
                else f"over the rate limit of {project.rate_limit}"
            )
            raise RateLimited(
                message,
                limit=decision.limit,
                remaining=decision.remaining,
                retry_after=decision.retry_after,
                reset_after=decision.reset_after,
            )
        salt = await self._salts.current(now)
        client_ip = _canonical_ip(client.ip)
        stored = [
            Event(
                project_id=project.id,
                action=event.action,
                path=event.path,
                timestamp=event.timestamp,
                visitor_hash=visitor_hash(
                    salt,
                    project.id,
                    event.visitor_ip if event.visitor_ip is not None else client_ip,
                    event.user_agent if event.user_agent is not None else client.user_agent,
                ),
                referrer=event.referrer,
                target=event.target,
                value=event.value,
                props=event.props,
            )
            for event in cleaned
        ]
        await self._events.add(stored)
        self._feed.publish(stored)
        return len(stored)


def _canonical_ip(text: str) -> str:
    """The canonical form of an IP address; any other text (a test client's name) as is."""
    try:
        return normalize_ip(text)
    except InvalidInput:
        return text


# A Policy is checked when built; projects share a few rate limits, so each is built once.
_policy = functools.lru_cache(maxsize=1024)(Policy.from_rate_limit)


def _info(record: TokenRecord) -> TokenInfo:
    return TokenInfo(
        id=record.id,
        project_id=record.project_id,
        created_at=record.created_at,
        revoked_at=record.revoked_at,
    )


def _key_info(record: AdminKeyRecord) -> AdminKeyInfo:
    return AdminKeyInfo(id=record.id, created_at=record.created_at, revoked_at=record.revoked_at)


class Administration:
    """Projects, their tokens, and the admin keys."""

    def __init__(
        self,
        *,
        events: EventStore,
        tokens: TokenStore,
        limiter: RateLimiter,
        hasher: SecretHasher,
        clock: Clock,
        privacy: Privacy,
    ) -> None:
        self._events = events
        self._tokens = tokens
        self._limiter = limiter
        self._hasher = hasher
        self._clock = clock
        self._privacy = privacy

    async def _new_token(self, project_id: str) -> tuple[TokenRecord, IssuedToken]:
        credential = credentials.generate(credentials.TOKEN_PREFIX)
        record = TokenRecord(
            id=credential.id,
            project_id=project_id,
            secret_hash=await self._hasher.hash(credential.secret),
            created_at=self._clock.now(),
        )
        return record, IssuedToken(info=_info(record), token=credential.text)

    async def create_project(
        self, name: str, *, rate_limit: RateLimit | None = None, allowed_origins: Sequence[str] = ()
    ) -> CreatedProject:
        project = Project(
            id=secrets.token_hex(8),
            name=clean_name(name),
            rate_limit=DEFAULT_RATE_LIMIT if rate_limit is None else check_rate_limit(rate_limit),
            allowed_origins=clean_origins(tuple(allowed_origins)),
            created_at=self._clock.now(),
        )
        record, issued = await self._new_token(project.id)
        await self._tokens.add_project(project, record)
        return CreatedProject(project=project, token=issued)

    async def list_projects(self) -> list[Project]:
        return await self._tokens.list_projects()

    async def get_project(self, project_id: str) -> Project:
        project = await self._tokens.get_project(project_id)
        if project is None:
            raise NotFound(f"no project {project_id!r}")
        return project

    async def update_project(self, project_id: str, update: ProjectUpdate) -> Project:
        project = await self.get_project(project_id)
        changed = Project(
            id=project.id,
            name=project.name if update.name is None else clean_name(update.name),
            rate_limit=(
                project.rate_limit
                if update.rate_limit is None
                else check_rate_limit(update.rate_limit)
            ),
            allowed_origins=(
                project.allowed_origins
                if update.allowed_origins is None
                else clean_origins(update.allowed_origins)
            ),
            created_at=project.created_at,
        )
        if not await self._tokens.update_project(changed):
            raise NotFound(f"no project {project_id!r}")
        self._privacy.projects.forget(project_id)
        if changed.rate_limit != project.rate_limit:
            records = await self._tokens.list_tokens(project_id)
            await self._reset_limits(
                [f"site:{project_id}", *(f"token:{record.id}" for record in records)]
            )
        return changed

    async def _reset_limits(self, keys: Sequence[str]) -> None:
        """Best effort: called after a change is committed, which must not be reported as
        failed. A key not reset keeps its old state only until that state drains."""
        for key in keys:
            try:
                await self._limiter.reset(key)
            except StorageUnavailable:
                # No key in the message: the change is the caller's to know, not the log's.
                _log.warning("rate-limit state not reset: the rate limiter is unavailable")
                return

    async def delete_project(self, project_id: str) -> None:
        """Delete the project, its tokens and all of its events.

        The project and its tokens go first, so that no new event is accepted for it here;
        events still arriving through another process's cache (for up to the cache TTL) or
        already queued for a write land after this and are removed by
        :meth:`sweep_orphan_events`, which the driving adapters run periodically."""
        project = await self.get_project(project_id)
        tokens = await self._tokens.list_tokens(project.id)
        if not await self._tokens.delete_project(project.id):
            raise NotFound(f"no project {project_id!r}")
        self._privacy.projects.forget(project.id)
        for record in tokens:
            self._privacy.credentials.forget(record.id)
        await self._reset_limits(
            [f"site:{project.id}", *(f"token:{record.id}" for record in tokens)]
        )
        try:
            await self._events.delete_project_events(project.id)
        except StorageUnavailable:
            # The project is gone, which is what the caller asked; the sweep takes the rest.
            _log.warning("events of a deleted project left for the sweep: storage unavailable")

    async def sweep_orphan_events(self) -> int:
        """Delete the events of projects that no longer exist; returns how many.

        Project ids are random and never reused, and an event is only accepted for an
        existing project: an id with events but no project is a deleted one."""
        removed = 0
        for project_id in await self._events.project_ids():
            if await self._tokens.get_project(project_id) is None:
                removed += await self._events.delete_project_events(project_id)
        return removed

    async def issue_token(self, project_id: str, *, revoke_others: bool = False) -> IssuedToken:
        """A new token for the project; with ``revoke_others``, the only live one."""
        project = await self.get_project(project_id)
        record, issued = await self._new_token(project.id)
        if not revoke_others:
            await self._tokens.add_token(record)
            return issued
        # One transaction: never a moment with no live token, nor a half-done rotation.
        revoked = await self._tokens.rotate_token(record, self._clock.now())
        for token_id in revoked:
            self._privacy.credentials.forget(token_id)
        await self._reset_limits([f"token:{token_id}" for token_id in revoked])
        return issued

    async def list_tokens(self, project_id: str) -> list[TokenInfo]:
        project = await self.get_project(project_id)
        return [_info(record) for record in await self._tokens.list_tokens(project.id)]

    async def revoke_token(self, project_id: str, token_id: str) -> TokenInfo:
        record = await self._tokens.get_token(token_id)
        if record is None or record.project_id != project_id:
            raise NotFound(f"no token {token_id!r} in project {project_id!r}")
        if record.revoked_at is None:
            await self._tokens.revoke_token(token_id, self._clock.now())
        self._privacy.credentials.forget(token_id)
        await self._reset_limits([f"token:{token_id}"])
        updated = await self._tokens.get_token(token_id)
        return _info(updated or record)

    async def create_admin_key(self) -> str:
        """A new admin key; its text exists only in the return value."""
        credential = credentials.generate(credentials.ADMIN_KEY_PREFIX)
        await self._tokens.add_admin_key(
            AdminKeyRecord(
                id=credential.id,
                secret_hash=await self._hasher.hash(credential.secret),
                created_at=self._clock.now(),
            )
        )
        return credential.text

    async def list_admin_keys(self) -> list[AdminKeyInfo]:
        """Every admin key, oldest first, revoked ones included; never a secret."""
        return [_key_info(record) for record in await self._tokens.list_admin_keys()]

    async def revoke_admin_key(self, key_id: str) -> AdminKeyInfo:
        """Revoke an admin key: refused at once in this process, within the cache TTL in
        the others; revoking it again changes nothing."""
        record = await self._tokens.get_admin_key(key_id)
        if record is None:
            raise NotFound(f"no admin key {key_id!r}")
        if record.revoked_at is None:
            await self._tokens.revoke_admin_key(key_id, self._clock.now())
        self._privacy.admin_keys.forget(key_id)
        updated = await self._tokens.get_admin_key(key_id)
        return _key_info(updated or record)

    async def _load_admin_key(self, key_id: str) -> tuple[str, bytes] | None:
        record = await self._tokens.get_admin_key(key_id)
        if record is None or record.revoked_at is not None:
            return None
        return record.id, record.secret_hash

    async def check_admin_key(self, text: str) -> str:
        """The id of the admin key ``text``; raises Unauthenticated otherwise."""
        return await self._privacy.admin_keys.check(
            text, credentials.ADMIN_KEY_PREFIX, self._load_admin_key
        )


PERIODS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "12m": timedelta(days=365),
}
# A range from..to lies within these bounds, so that its previous range and its daily
# series stay representable (a datetime overflows past the years 1 and 9999) and the
# series has at most about ten years of daily steps.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
MAX_SPAN = timedelta(days=3660)


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class Reporting:
    """Read the numbers."""

    def __init__(
        self,
        *,
        events: EventStore,
        tokens: TokenStore,
        clock: Clock,
        queries: EventQueries | None = None,
    ) -> None:
        self._events = events
        self._tokens = tokens
        self._clock = clock
        self._queries = queries

    def span(
        self,
        *,
        period: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> TimeRange:
        """The range a query means: a named period ending now, or ``start``..``end``."""
        now = self._clock.now()
        if start is not None or end is not None:
            if period is not None:
                raise InvalidInput("give either period or from/to, not both", field="period")
            if start is None:
                raise InvalidInput("is needed when to is given", field="from")
            start = _utc(start)
            end = now if end is None else _utc(end)
            if end <= start:
                raise InvalidInput("must be after from", field="to")
            if start < EARLIEST:
                raise InvalidInput(f"must not be before {EARLIEST:%Y-%m-%d}", field="from")
            if end > LATEST:
                raise InvalidInput(f"must not be after {LATEST:%Y-%m-%d}", field="to")
            if end - start > MAX_SPAN:
                raise InvalidInput(f"a range spans at most {MAX_SPAN.days} days", field="to")
            return TimeRange(start=start, end=end)
        # An empty period (?period=) is a mistake, not a request for the default.
        name = "24h" if period is None else period
        if name not in PERIODS:
            raise InvalidInput(f"must be one of {', '.join(PERIODS)}", field="period")
        return TimeRange(start=now - PERIODS[name], end=now)

    async def latest(self, project_id: str, *, limit: int = 50) -> list[Event]:
        """The project's newest events of the last 24 hours, newest first."""
        if await self._tokens.get_project(project_id) is None:
            raise NotFound(f"no project {project_id!r}")
        if self._queries is None:
            return []
        now = self._clock.now()
        # Events may carry timestamps up to a minute ahead of the clock.
        span = TimeRange(start=now - 24 * HOUR, end=now + timedelta(minutes=1))
        return await self._queries.latest(project_id, span, limit)

    async def stats(self, project_id: str, span: TimeRange, *, top: int = DEFAULT_TOP) -> Stats:
        if not 1 <= top <= MAX_TOP:
            raise InvalidInput(f"must be between 1 and {MAX_TOP}", field="limit")
        if await self._tokens.get_project(project_id) is None:
            raise NotFound(f"no project {project_id!r}")
        counts = await self._events.count_by_action(project_id, span)
        actions = {action: counts.get(action, 0) for action in Action}
        last_hour = _floor_hour(self._clock.now())
        recent_span = TimeRange(start=last_hour - 23 * HOUR, end=last_hour + HOUR)
        by_hour = {b.start: b for b in await self._events.hourly(project_id, recent_span)}
        recent = [
            by_hour.get(hour, Bucket(start=hour, visits=0, unique_visitors=0))
            for hour in (recent_span.start + n * HOUR for n in range(24))
        ]
        before = previous_range(span)
        previous = Totals(
            range=before,
            visits=(await self._events.count_by_action(project_id, before)).get(Action.VISIT, 0),
            unique_visitors=await self._events.unique_visitors(project_id, before),
        )
        extra = (
            None
            if self._queries is None
            else await breakdowns(self._queries, project_id, span, top)
        )
        return Stats(
            range=span,
            visits=actions[Action.VISIT],
            unique_visitors=await self._events.unique_visitors(project_id, span),
            top_pages=await self._events.top_pages(project_id, span, top),
            actions=actions,
            recent=recent,
            previous=previous,
            **({} if extra is None else msgspec.structs.asdict(extra)),
        )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything a driving adapter needs, built once by the composition root."""

    ingestion: Ingestion
    admin: Administration
    reporting: Reporting
    health_checks: tuple[Callable[[], Awaitable[None]], ...] = ()
    closers: tuple[Callable[[], Awaitable[None]], ...] = field(default=())
    # Dashboard users; None when no user store was given (no dashboard sign-in).
    accounts: Accounts | None = None
    # Stored events, as they are stored: the dashboard's live view attaches to it.
    feed: LiveFeed = field(default_factory=LiveFeed)

    async def health(self) -> None:
        """Return when every backend answers; raise StorageUnavailable otherwise."""
        for check in self.health_checks:
            await check()

    async def purge_expired_salts(self) -> int:
        """Delete the salts of windows that are over, without waiting for an event: run at
        start and periodically by the driving adapter. Returns how many were deleted."""
        return await self.ingestion.purge_expired_salts()

    async def housekeeping(self) -> None:
        """What must happen even without traffic: run at start and every few minutes by
        the driving adapter."""
        await self.purge_expired_salts()
        await self.admin.sweep_orphan_events()

    async def aclose(self) -> None:
        for close in self.closers:
            await close()


def build_services(
    *,
    events: EventStore,
    tokens: TokenStore,
    salts: SaltStore,
    limiter: RateLimiter,
    hasher: SecretHasher,
    clock: Clock,
    settings: IngestSettings | None = None,
    health_checks: tuple[Callable[[], Awaitable[None]], ...] = (),
    closers: tuple[Callable[[], Awaitable[None]], ...] = (),
    users: UserStore | None = None,
    queries: EventQueries | None = None,
) -> Services:
    """Wire the use cases over the given ports."""
    settings = settings or IngestSettings()
    feed = LiveFeed()
    # One bound on bcrypt checks running at once, for tokens and admin keys together.
    checks = asyncio.Semaphore(MAX_CONCURRENT_CHECKS)
    privacy = Privacy(
        credentials=Credentials(hasher, clock, settings.cache_ttl, checks=checks),
        admin_keys=Credentials(hasher, clock, settings.cache_ttl, checks=checks),
        projects=ProjectCache(tokens, clock, settings.cache_ttl),
    )
    return Services(
        ingestion=Ingestion(
            events=events,
            tokens=tokens,
            salts=salts,
            limiter=limiter,
            clock=clock,
            settings=settings,
            privacy=privacy,
            feed=feed,
        ),
        admin=Administration(
            events=events,
            tokens=tokens,
            limiter=limiter,
            hasher=hasher,
            clock=clock,
            privacy=privacy,
        ),
        reporting=Reporting(events=events, tokens=tokens, clock=clock, queries=queries),
        health_checks=health_checks or (events.ping, limiter.ping),
        closers=closers,
        feed=feed,
        accounts=(
            None
            if users is None
            else Accounts(users=users, hasher=hasher, limiter=limiter, clock=clock)
        ),
    )
