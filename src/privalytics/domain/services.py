"""The use cases: recording events, managing projects and credentials, reading stats."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from privalytics.domain import tokens as credentials
from privalytics.domain.errors import (
    InvalidInput,
    NotFound,
    OriginNotAllowed,
    RateLimited,
    Unauthenticated,
)
from privalytics.domain.hashing import SALT_BYTES, visitor_hash, window_of
from privalytics.domain.models import (
    Action,
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
)
from privalytics.domain.ports import (
    Clock,
    EventStore,
    RateLimiter,
    SaltStore,
    SecretHasher,
    TokenStore,
)
from privalytics.domain.ratelimit import Policy
from privalytics.domain.validation import (
    MAX_BATCH,
    clean_event,
    clean_name,
    clean_origins,
    clean_rate_limit,
    normalize_ip,
    normalize_origin,
)
from privalytics.domain.verification import VerificationCache

DEFAULT_RATE_LIMIT = RateLimit(events=1000, period_seconds=60)
DEFAULT_TOP = 10
MAX_TOP = 100
HOUR = timedelta(hours=1)


@dataclass(frozen=True, kw_only=True)
class IngestSettings:
    salt_rotation: timedelta = timedelta(days=1)
    max_event_age: timedelta = timedelta(hours=24)
    # How long a credential check and a project's settings are remembered in memory.
    cache_ttl: float = 30.0


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


class Salts:
    """The salt of the current window, created once across processes, old ones deleted."""

    def __init__(self, store: SaltStore, rotation: timedelta) -> None:
        self._store = store
        self._rotation = rotation
        self._current: tuple[int, bytes] | None = None
        self._lock = asyncio.Lock()

    async def current(self, now: datetime) -> bytes:
        window = window_of(now, self._rotation)
        cached = self._current
        if cached is not None and cached[0] == window:
            return cached[1]
        async with self._lock:
            cached = self._current
            if cached is not None and cached[0] == window:
                return cached[1]
            salt = await self._store.get_or_create(window, secrets.token_bytes(SALT_BYTES))
            await self._store.delete_before(window)
            self._current = (window, salt)
            return salt


class Credentials:
    """Checks credentials against their bcrypt hashes, remembering outcomes (see
    :mod:`privalytics.domain.verification`) and checking each one once when many
    requests bring the same new credential at the same moment."""

    def __init__(self, hasher: SecretHasher, clock: Clock, ttl: float) -> None:
        self._hasher = hasher
        self._clock = clock
        self._cache = VerificationCache(ttl=ttl)
        self._inflight: dict[bytes, asyncio.Future[str | None]] = {}
        # Bumped by every forget(): a check that was under way when a credential was revoked
        # must not put it back into the cache.
        self._epoch = 0

    async def check(
        self, text: str, prefix: str, load: Callable[[str], Awaitable[tuple[str, bytes] | None]]
    ) -> str:
        """The owner of the credential ``text``; ``load(id)`` gives (owner, hash) of a live one."""
        credential = credentials.parse(text, prefix)
        if credential is None:
            raise Unauthenticated("the credential is malformed")
        digest = self._cache.digest(text)
        now = _seconds(self._clock.now())
        known = self._cache.lookup(credential.id, digest, now)
        if known is False:
            raise Unauthenticated("the credential is unknown or revoked")
        if isinstance(known, str):
            return known
        pending = self._inflight.get(digest)
        if pending is None:
            # The check runs in a task of its own: when the request that started it is
            # cancelled (its client went away), the others waiting on it still get the answer.
            pending = asyncio.ensure_future(self._verify_and_remember(credential, digest, load))
            self._inflight[digest] = pending
            pending.add_done_callback(lambda done: self._settle(digest, done))
        owner = await asyncio.shield(pending)
        if owner is None:
            raise Unauthenticated("the credential is unknown or revoked")
        return owner

    def _settle(self, digest: bytes, done: asyncio.Future[str | None]) -> None:
        del self._inflight[digest]
        if not done.cancelled():
            # Retrieved here so that a failure nobody awaited any more is not reported as lost;
            # every caller still awaiting gets it raised.
            done.exception()

    async def _verify_and_remember(
        self,
        credential: credentials.Credential,
        digest: bytes,
        load: Callable[[str], Awaitable[tuple[str, bytes] | None]],
    ) -> str | None:
        epoch = self._epoch
        owner = await self._verify(credential, load)
        now = _seconds(self._clock.now())
        if owner is None:
            self._cache.remember_refused(digest, now)
        elif epoch == self._epoch:
            self._cache.remember_verified(credential.id, digest, owner, now)
        return owner

    async def _verify(
        self,
        credential: credentials.Credential,
        load: Callable[[str], Awaitable[tuple[str, bytes] | None]],
    ) -> str | None:
        found = await load(credential.id)
        if found is None:
            return None
        owner, hashed = found
        return owner if await self._hasher.verify(credential.secret, hashed) else None

    def forget(self, cred_id: str) -> None:
        self._epoch += 1
        self._cache.forget(cred_id)


class _ProjectCache:
    def __init__(self, store: TokenStore, clock: Clock, ttl: float) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[str, tuple[Project, float]] = {}

    async def get(self, project_id: str) -> Project | None:
        now = _seconds(self._clock.now())
        entry = self._entries.get(project_id)
        if entry is not None and entry[1] > now:
            return entry[0]
        project = await self._store.get_project(project_id)
        if project is None:
            self._entries.pop(project_id, None)
        else:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[project_id] = (project, now + self._ttl)
        return project

    def forget(self, project_id: str) -> None:
        self._entries.pop(project_id, None)


@dataclass(kw_only=True)
class Privacy:
    """Shared by the use cases of one process: caches that must agree with each other."""

    credentials: Credentials
    admin_keys: Credentials
    projects: _ProjectCache


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
    ) -> None:
        self._events = events
        self._tokens = tokens
        self._limiter = limiter
        self._clock = clock
        self._settings = settings
        self._privacy = privacy
        self._salts = Salts(salts, settings.salt_rotation)

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
        token_id = token.split("_", 2)[1]
        decision = await self._limiter.acquire(
            f"token:{token_id}", Policy.from_rate_limit(project.rate_limit), len(cleaned)
        )
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
        client_ip = normalize_ip(client.ip) if _is_ip(client.ip) else client.ip
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
        return len(stored)


def _is_ip(text: str) -> bool:
    try:
        normalize_ip(text)
    except InvalidInput:
        return False
    return True


def _info(record: TokenRecord) -> TokenInfo:
    return TokenInfo(
        id=record.id,
        project_id=record.project_id,
        created_at=record.created_at,
        revoked_at=record.revoked_at,
    )


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
            rate_limit=DEFAULT_RATE_LIMIT if rate_limit is None else clean_rate_limit(rate_limit),
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
                else clean_rate_limit(update.rate_limit)
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
            for record in await self._tokens.list_tokens(project_id):
                await self._limiter.reset(f"token:{record.id}")
        return changed

    async def delete_project(self, project_id: str) -> None:
        """Delete the project, its tokens and all of its events."""
        project = await self.get_project(project_id)
        tokens = await self._tokens.list_tokens(project.id)
        await self._events.delete_project_events(project.id)
        if not await self._tokens.delete_project(project.id):
            raise NotFound(f"no project {project_id!r}")
        self._privacy.projects.forget(project.id)
        for record in tokens:
            self._privacy.credentials.forget(record.id)
            await self._limiter.reset(f"token:{record.id}")

    async def issue_token(self, project_id: str, *, revoke_others: bool = False) -> IssuedToken:
        """A new token for the project; with ``revoke_others``, the only live one."""
        project = await self.get_project(project_id)
        previous = await self._tokens.list_tokens(project.id)
        record, issued = await self._new_token(project.id)
        await self._tokens.add_token(record)
        if revoke_others:
            for old in previous:
                if old.revoked_at is None:
                    await self.revoke_token(project.id, old.id)
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
        await self._limiter.reset(f"token:{token_id}")
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


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class Reporting:
    """Read the numbers."""

    def __init__(self, *, events: EventStore, tokens: TokenStore, clock: Clock) -> None:
        self._events = events
        self._tokens = tokens
        self._clock = clock

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
                raise InvalidInput("from is needed with to", field="from")
            start = _utc(start)
            end = now if end is None else _utc(end)
            if end <= start:
                raise InvalidInput("must be after from", field="to")
            return TimeRange(start=start, end=end)
        name = period or "24h"
        if name not in PERIODS:
            raise InvalidInput(f"must be one of {', '.join(PERIODS)}", field="period")
        return TimeRange(start=now - PERIODS[name], end=now)

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
        return Stats(
            range=span,
            visits=actions[Action.VISIT],
            unique_visitors=await self._events.unique_visitors(project_id, span),
            top_pages=await self._events.top_pages(project_id, span, top),
            actions=actions,
            recent=recent,
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

    async def health(self) -> None:
        """Return when every backend answers; raise StorageUnavailable otherwise."""
        for check in self.health_checks:
            await check()

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
) -> Services:
    """Wire the use cases over the given ports."""
    settings = settings or IngestSettings()
    privacy = Privacy(
        credentials=Credentials(hasher, clock, settings.cache_ttl),
        admin_keys=Credentials(hasher, clock, settings.cache_ttl),
        projects=_ProjectCache(tokens, clock, settings.cache_ttl),
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
        ),
        admin=Administration(
            events=events,
            tokens=tokens,
            limiter=limiter,
            hasher=hasher,
            clock=clock,
            privacy=privacy,
        ),
        reporting=Reporting(events=events, tokens=tokens, clock=clock),
        health_checks=health_checks or (events.ping,),
        closers=closers,
    )
