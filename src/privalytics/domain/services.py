"""The use cases: recording events, managing projects and credentials, reading stats."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from privalytics.domain.accounts import Accounts
from privalytics.domain.administration import DEFAULT_RATE_LIMIT as DEFAULT_RATE_LIMIT
from privalytics.domain.administration import Administration
from privalytics.domain.bots import BotLog, without_bots
from privalytics.domain.cohortreport import CohortReporting
from privalytics.domain.derivation import Derivation
from privalytics.domain.errors import (
    InvalidInput,
    NotFound,
    OriginNotAllowed,
    RateLimited,
    ServerTokenRequired,
    StorageUnavailable,
    Unauthenticated,
)
from privalytics.domain.feed import LiveFeed
from privalytics.domain.funnelbook import Funnels
from privalytics.domain.geography import DEFAULT_MIN_VISITORS
from privalytics.domain.goalbook import Goals
from privalytics.domain.hashing import visitor_hash
from privalytics.domain.importing import Importing
from privalytics.domain.models import (
    BotReport,
    ClientInfo,
    Event,
    IncomingEvent,
    Project,
    TimeRange,
    TokenKind,
)
from privalytics.domain.ports import (
    AgentParser,
    BotDetector,
    BotLogStore,
    Clock,
    EventStore,
    FunnelStore,
    GeoLocator,
    GoalStore,
    ImportStore,
    RateLimiter,
    SaltStore,
    SecretHasher,
    SourceNamer,
    TokenStore,
    UserStore,
)
from privalytics.domain.ratelimit import Policy
from privalytics.domain.reporting import DEFAULT_TOP as DEFAULT_TOP
from privalytics.domain.reporting import EARLIEST as EARLIEST
from privalytics.domain.reporting import LATEST as LATEST
from privalytics.domain.reporting import MAX_SPAN as MAX_SPAN
from privalytics.domain.reporting import MAX_TOP as MAX_TOP
from privalytics.domain.reporting import PERIODS as PERIODS
from privalytics.domain.reporting import Reporting
from privalytics.domain.retention import Expired, Expiry, Retention
from privalytics.domain.salts import Salts
from privalytics.domain.sites import SiteDirectory
from privalytics.domain.throttle import FailureThrottle
from privalytics.domain.tokens import MAX_LENGTH, TOKEN_PREFIX, id_of, parse
from privalytics.domain.validation import (
    check_batch,
    clean_event,
    normalize_ip,
    normalize_origin,
)
from privalytics.domain.verification import (
    DEFAULT_TTL,
    MAX_CONCURRENT_CHECKS,
    CredentialVerifier,
    Privacy,
    ProjectCache,
)


@dataclass(frozen=True, kw_only=True)
class IngestSettings:
    salt_rotation: timedelta = timedelta(days=1)
    max_event_age: timedelta = timedelta(hours=24)
    # How long a credential check and a project's settings are remembered in memory.
    cache_ttl: float = DEFAULT_TTL
    # How many days raw events are kept (None: forever); see domain/retention.py.
    event_retention_days: int | None = None


def declines(client: ClientInfo) -> bool:
    """Global Privacy Control, one rule for every way events arrive: a request that carries
    ``Sec-GPC: 1`` records nothing. It is answered as an accepted request is, with no event
    stored, and nothing in it is looked at: not its token or site, its origin, its events
    or the rate limit. The signal is the request's own: a server-side sender (no browser)
    sends none, and honours its visitors' signal before sending (the ASGI middleware does).
    A driving adapter may ask this before reading a body, to answer at once; the use cases
    below ask it too, so no caller records what it declines."""
    return client.gpc


class Ingestion:
    """Record events: authenticate, check the origin, validate, turn bots away into the
    bot log (:mod:`privalytics.domain.bots`), limit, hash, derive
    (:class:`~privalytics.domain.derivation.Derivation`), store; nothing from a request
    that :func:`declines`. The address and the agent that make the visitor hash are those
    the fields are derived from; neither is stored."""

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
        derivation: Derivation,
        feed: LiveFeed | None = None,
        bots: BotDetector | None = None,
        bot_log: BotLog | None = None,
    ) -> None:
        self._events = events
        # None: the bot filter is off, every event is stored.
        self._bots = bots
        self._bot_log = bot_log or BotLog()
        self._derive = derivation.derive
        self._tokens = tokens
        self._limiter = limiter
        self._clock = clock
        self._settings = settings
        self._privacy = privacy
        self._feed = feed or LiveFeed()
        self._salts = Salts(salts, settings.salt_rotation)
        self._sites = SiteDirectory(tokens, clock, settings.cache_ttl)
        self._failures = FailureThrottle(limiter)

    async def _load_token(self, token_id: str) -> tuple[str, bytes] | None:
        record = await self._tokens.get_token(token_id)
        if record is None or record.revoked_at is not None:
            return None
        # The verifier remembers one text per credential: "<kind>:<project id>".
        return f"{record.kind.value}:{record.project_id}", record.secret_hash

    async def _check(self, token: str) -> tuple[Project, TokenKind]:
        owner = await self._privacy.tokens.check(token, TOKEN_PREFIX, self._load_token)
        kind, _, project_id = owner.partition(":")
        project = await self._privacy.projects.get(project_id)
        if project is None:
            raise Unauthenticated("the credential is unknown or revoked")
        return project, TokenKind(kind)

    async def authenticate(self, token: str) -> Project:
        """The project that ``token`` writes to."""
        return (await self._check(token))[0]

    async def _authenticate_from(self, token: str, address: str) -> tuple[Project, TokenKind]:
        """:meth:`authenticate`, with failures throttled per client address
        (:mod:`privalytics.domain.throttle`). A token known as good skips the throttle,
        and so does a malformed one, refused before anything is looked up."""
        if (
            self._privacy.tokens.known(token, TOKEN_PREFIX) is not None
            or len(token) > MAX_LENGTH
            or parse(token, TOKEN_PREFIX) is None
        ):
            return await self._check(token)
        await self._failures.guard(address)
        try:
            return await self._check(token)
        except Unauthenticated:
            await self._failures.failed(address)
            raise

    async def record(
        self, token: str, incoming: Sequence[IncomingEvent], client: ClientInfo
    ) -> int:
        """Store ``incoming`` for the token's project, all or nothing; returns the count
        (0 when the request :func:`declines`)."""
        if declines(client):
            return 0
        check_batch(incoming)
        project, kind = await self._authenticate_from(token, client.ip)
        # authenticate() parsed the token: its id sits at a fixed place.
        return await self._record(
            project,
            f"token:{id_of(token)}",
            incoming,
            client,
            names_visitors=kind is TokenKind.SERVER,
        )

    async def record_for_domain(
        self, domain: str, incoming: Sequence[IncomingEvent], client: ClientInfo
    ) -> int:
        """Store ``incoming`` for the project whose allowed origins have ``domain`` as
        their host (Plausible's way of naming a site), preferring the one that lists the
        request's origin."""
        if declines(client):
            return 0
        check_batch(incoming)
        project = await self._sites.by_domain(domain, client.origin)
        if project is None:
            raise NotFound("no project lists an origin with this domain")
        return await self._record(project, f"site:{project.id}", incoming, client)

    async def record_for_site(
        self, project_id: str, incoming: Sequence[IncomingEvent], client: ClientInfo
    ) -> int:
        """Store ``incoming`` for the project ``project_id`` when it lists its site's
        origins (Umami's way of naming a site); a project without origins is not found."""
        if declines(client):
            return 0
        check_batch(incoming)
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
        *,
        names_visitors: bool = False,
    ) -> int:
        # The caller checked the batch's size (check_batch), before looking anything up.
        if (
            client.origin is not None
            and project.allowed_origins
            and normalize_origin(client.origin) not in project.allowed_origins
        ):
            raise OriginNotAllowed("this origin may not send events to the project")
        if not names_visitors:
            _no_visitor_overrides(incoming)
        now = self._clock.now()
        max_age = self._settings.max_event_age
        if len(incoming) == 1:
            cleaned = [clean_event(incoming[0], now, max_age)]
        else:
            cleaned = [
                clean_event(event, now, max_age, index) for index, event in enumerate(incoming)
            ]
        if self._bots is not None:
            incoming, cleaned = without_bots(
                self._bots, self._bot_log, project.id, incoming, cleaned, client.user_agent
            )
            if not cleaned:
                # Answered as accepted (nothing retries), stored only as the bot log's count.
                return 0
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
        origins = project.allowed_origins
        derive = self._derive
        stored = []
        # The page as sent (incoming), not as cleaned: its query holds the campaign.
        for sent, event in zip(incoming, cleaned, strict=True):
            ip = event.visitor_ip if event.visitor_ip is not None else client_ip
            agent = event.user_agent if event.user_agent is not None else client.user_agent
            derived = derive(
                page=sent.path,
                referrer=event.referrer,
                screen_width=event.screen_width,
                ip=ip,
                user_agent=agent,
                allowed_origins=origins,
                clean_referrer=True,
            )
            stored.append(
                Event(
                    project_id=project.id,
                    action=event.action,
                    path=event.path,
                    timestamp=to_millisecond(event.timestamp),
                    visitor_hash=visitor_hash(salt, project.id, ip, agent),
                    target=event.target,
                    value=event.value,
                    props=event.props,
                    name=event.name,
                    currency=event.currency,
                    source=derived.source,
                    referrer=derived.referrer,
                    utm_source=derived.utm_source,
                    utm_medium=derived.utm_medium,
                    utm_campaign=derived.utm_campaign,
                    utm_term=derived.utm_term,
                    utm_content=derived.utm_content,
                    browser=derived.browser,
                    browser_version=derived.browser_version,
                    os=derived.os,
                    os_version=derived.os_version,
                    device=derived.device,
                    country=derived.country,
                    region=derived.region,
                    city=derived.city,
                )
            )
        await self._events.add(stored)
        self._feed.publish(stored)
        return len(stored)


def _no_visitor_overrides(incoming: Sequence[IncomingEvent]) -> None:
    """Refuse events that name their visitor: a public credential (a browser token, a
    site's domain or id) could make up visitors at will with them."""
    for index, event in enumerate(incoming):
        field = (
            "visitor_ip"
            if event.visitor_ip is not None
            else "user_agent"
            if event.user_agent is not None
            else None
        )
        if field is not None:
            raise ServerTokenRequired(
                "only a server token may name the visitor; this is a browser token, which "
                "is public: send it with a server token",
                field=field,
                index=index if len(incoming) > 1 else None,
            )


def to_millisecond(moment: datetime) -> datetime:
    """``moment`` truncated to the millisecond: what every store keeps of a time, so that
    two events 30 minutes and 500 µs apart are one session everywhere, not two in memory
    and one in SQL."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _canonical_ip(text: str) -> str:
    """The canonical form of an IP address; any other text (a test client's name) as is."""
    try:
        return normalize_ip(text)
    except InvalidInput:
        return text


# A Policy is checked when built; projects share a few rate limits, so each is built once.
_policy = functools.lru_cache(maxsize=1024)(Policy.from_rate_limit)


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
    # What the bot filter turned away, per project, day and reason.
    bot_log: BotLog = field(default_factory=BotLog)
    # Raw-event retention: the daily deletion of expired events (None: kept forever).
    expiry: Expiry | None = None
    # Each project's goals; None when no goal store was given (no goals are kept).
    goals: Goals | None = None
    # Each project's funnels; None when no funnel store was given.
    funnels: Funnels | None = None
    # Active visitors and cohort retention (None: a Services built without it).
    cohorts: CohortReporting | None = None
    # Importing files of other tools (None: no imports registry was given).
    importing: Importing | None = None

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

    async def refresh_rollups(self) -> int:
        """Bring the stored per-day figures up to date for the days that are over (run
        every minute or so by the driving adapter); returns how many days it redid."""
        return await self.reporting.refresh()

    async def expire_events(self) -> Expired | None:
        """Delete the events older than the retention, at most once a UTC day per process
        (run with the rollup refresh by the driving adapter); None when nothing ran."""
        if self.expiry is None:
            return None
        return await self.expiry.daily()

    async def expire_now(self, *, dry_run: bool = False) -> Expired | None:
        """Delete the events older than the retention now (``dry_run``: count them); None
        when events are kept forever."""
        if self.expiry is None:
            return None
        return await self.expiry.run(dry_run=dry_run)

    async def flush_bot_log(self) -> int:
        """Write the bot log's counts noted since the last flush (run every few seconds by
        the driving adapter, and on close); returns how many bot events they count."""
        return await self.bot_log.flush()

    async def bot_report(self, project_id: str, span: TimeRange) -> BotReport:
        """The project's bot log over the UTC days ``span`` touches; NotFound without
        such a project."""
        await self.admin.get_project(project_id)
        return await self.bot_log.report(project_id, span)

    async def aclose(self) -> None:
        try:
            await self.flush_bot_log()
        except StorageUnavailable:
            # Counts of bots only (no event is lost): the closers must still run.
            logging.getLogger("privalytics").warning("bot log not flushed: storage unavailable")
        finally:
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
    sources: SourceNamer,
    agents: AgentParser,
    places: GeoLocator,
    users: UserStore | None = None,
    min_cell_visitors: int = DEFAULT_MIN_VISITORS,
    bots: BotDetector | None = None,
    bot_log: BotLogStore | None = None,
    goals: GoalStore | None = None,
    funnels: FunnelStore | None = None,
    imports: ImportStore | None = None,
) -> Services:
    """Wire the use cases over the given ports. ``sources``, ``agents`` and ``places``
    name referrers, read user agents and locate addresses for every arriving event;
    ``min_cell_visitors``: regions and cities with fewer visitors are shown and filtered
    as "(other)" (k-anonymity). ``bots``: the classifier of arriving events (None: no bot
    filter); ``bot_log``: where the bot log is written (None: kept in memory); ``goals``:
    where the projects' goals are kept (None: no goals, and no goal use cases); ``funnels``:
    the same for funnels; ``imports``: the imports registry (None: no imports)."""
    settings = settings or IngestSettings()
    feed = LiveFeed()
    log = BotLog(bot_log)
    # One bound on bcrypt checks running at once, for tokens and admin keys together.
    checks = asyncio.Semaphore(MAX_CONCURRENT_CHECKS)
    privacy = Privacy(
        tokens=CredentialVerifier(hasher, clock, settings.cache_ttl, checks=checks),
        admin_keys=CredentialVerifier(hasher, clock, settings.cache_ttl, checks=checks),
        projects=ProjectCache(tokens, clock, settings.cache_ttl),
    )
    retention = Retention(settings.event_retention_days, settings.salt_rotation)
    derivation = Derivation(sources=sources, agents=agents, places=places)
    return Services(
        ingestion=Ingestion(
            events=events,
            tokens=tokens,
            salts=salts,
            limiter=limiter,
            clock=clock,
            settings=settings,
            privacy=privacy,
            derivation=derivation,
            feed=feed,
            bots=bots,
            bot_log=log,
        ),
        admin=Administration(
            events=events,
            tokens=tokens,
            limiter=limiter,
            hasher=hasher,
            clock=clock,
            privacy=privacy,
            bot_log=log,
            goals=goals,
            funnels=funnels,
        ),
        reporting=Reporting(
            events=events,
            tokens=tokens,
            clock=clock,
            min_cell_visitors=min_cell_visitors,
            retention=retention,
            goals=goals,
            funnels=funnels,
            imports=imports,
        ),
        expiry=Expiry(events=events, clock=clock, retention=retention),
        health_checks=health_checks or (events.ping, limiter.ping),
        closers=closers,
        feed=feed,
        bot_log=log,
        goals=None if goals is None else Goals(goals=goals, tokens=tokens, clock=clock),
        funnels=(None if funnels is None else Funnels(funnels=funnels, tokens=tokens, clock=clock)),
        cohorts=CohortReporting(
            events=events,
            tokens=tokens,
            clock=clock,
            rotation=settings.salt_rotation,
            min_cell_visitors=min_cell_visitors,
            retention=retention,
            goals=goals,
        ),
        importing=(
            None
            if imports is None
            else Importing(
                imports=imports,
                tokens=tokens,
                clock=clock,
                derivation=derivation,
                bots=bots,
                retention=retention,
                bot_log=log,
            )
        ),
        accounts=(
            None
            if users is None
            else Accounts(users=users, hasher=hasher, limiter=limiter, clock=clock)
        ),
    )
