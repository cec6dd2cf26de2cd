"""The composition root: settings -> adapters -> services. The only place that reads
settings into adapters and picks them; the command line asks it for what it needs
(settings, services, migrations, the server's options, the demo)."""

from __future__ import annotations

import functools
import gc
import glob
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

import msgspec

from privalytics.adapters.bcrypt import BcryptSecretHasher
from privalytics.adapters.clock import SystemClock
from privalytics.config import Settings as Settings
from privalytics.config import load_settings, unknown_variables, variable
from privalytics.config import where as where
from privalytics.domain.errors import ConfigError
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
    SourceNamer,
    TokenStore,
    UserStore,
)
from privalytics.domain.services import IngestSettings, Services, build_services

if TYPE_CHECKING:
    from litestar import Litestar

    from privalytics.adapters.http.dashboard import DashboardOptions
    from privalytics.adapters.metrics import Metrics

Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class _Storage:
    events: EventStore
    tokens: TokenStore
    salts: SaltStore
    ping: Closer
    closers: tuple[Closer, ...]
    users: UserStore
    bots: BotLogStore
    goals: GoalStore
    funnels: FunnelStore
    imports: ImportStore


def _memory_storage(url: str, visitor_window: timedelta, deadline: float) -> _Storage:
    from privalytics.adapters.memory import (
        InMemoryBotLogStore,
        InMemoryEventStore,
        InMemoryFunnelStore,
        InMemoryGoalStore,
        InMemoryImportStore,
        InMemorySaltStore,
        InMemoryTokenStore,
        InMemoryUserStore,
    )

    events = InMemoryEventStore(visitor_window)
    return _Storage(
        events=events,
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        ping=events.ping,
        closers=(),
        users=InMemoryUserStore(),
        bots=InMemoryBotLogStore(),
        goals=InMemoryGoalStore(),
        funnels=InMemoryFunnelStore(),
        imports=InMemoryImportStore(events),
    )


def _sql_storage(url: str, visitor_window: timedelta, deadline: float) -> _Storage:
    from privalytics.adapters.groupcommit import GroupCommitEventStore
    from privalytics.adapters.sqlalchemy import open_stores

    stores = open_stores(url, visitor_window, statement_timeout=deadline)
    events: EventStore = stores.events
    closers: tuple[Closer, ...] = (stores.dispose,)
    if not stores.events.commits_together:
        # A caller waits for its commit no longer than one statement may last.
        grouped = GroupCommitEventStore(stores.events, deadline=deadline)
        events, closers = grouped, (grouped.aclose, stores.dispose)
    return _Storage(
        events=events,
        tokens=stores.tokens,
        salts=stores.salts,
        ping=stores.events.ping,
        closers=closers,
        users=stores.users,
        bots=stores.bots,
        goals=stores.goals,
        funnels=stores.funnels,
        imports=stores.imports,
    )


# The one table from a URL's backend to the storage adapter.
# Each gets the URL, the salt window (over which distinct visitors are counted) and the
# statement deadline in seconds.
STORAGE_BACKENDS: dict[str, Callable[[str, timedelta, float], _Storage]] = {
    "memory": _memory_storage,
    "sqlite+aiosqlite": _sql_storage,
    "postgresql+asyncpg": _sql_storage,
}


def storage_forms() -> tuple[str, ...]:
    """The accepted database URL forms: memory:// and the SQL adapter's own list."""
    # Imported here: SQLAlchemy is loaded only when a SQL database is used (or refused).
    from privalytics.adapters.sqlalchemy.engine import ACCEPTED_URLS

    return ("memory://", *ACCEPTED_URLS)


def _memory_limiter(url: str, clock: Clock) -> tuple[RateLimiter, tuple[Closer, ...]]:
    from privalytics.adapters.memory import InMemoryRateLimiter

    return InMemoryRateLimiter(clock), ()


def _redis_limiter(url: str, clock: Clock) -> tuple[RateLimiter, tuple[Closer, ...]]:
    from privalytics.adapters.redis import RedisRateLimiter

    limiter = RedisRateLimiter.from_url(url, clock)
    return limiter, (limiter.aclose,)


LIMITER_BACKENDS: dict[str, Callable[[str, Clock], tuple[RateLimiter, tuple[Closer, ...]]]] = {
    "memory": _memory_limiter,
    "redis": _redis_limiter,
    "rediss": _redis_limiter,
}
LIMITER_FORMS = ("memory://", "redis://HOST[:PORT][/DB]", "rediss://HOST[:PORT][/DB]")


def backend_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def check_backends(settings: Settings) -> None:
    """Refuse URLs no adapter serves, and combinations that cannot keep their promises."""
    if backend_of(settings.database_url) not in STORAGE_BACKENDS:
        raise ConfigError(
            "PRIVALYTICS_DATABASE_URL: unsupported database; accepted forms: "
            + ", ".join(storage_forms())
        )
    if backend_of(settings.rate_limit_url) not in LIMITER_BACKENDS:
        raise ConfigError(
            "PRIVALYTICS_RATE_LIMIT_URL: unsupported rate limiter; accepted forms: "
            + ", ".join(LIMITER_FORMS)
        )
    if settings.workers > 1:
        if backend_of(settings.rate_limit_url) == "memory":
            raise ConfigError(
                f"--workers {settings.workers} needs a shared rate limiter: the in-memory one "
                "would let each worker admit the full limit. Set PRIVALYTICS_RATE_LIMIT_URL="
                "redis://HOST:6379/0 (or run one worker)."
            )
        if backend_of(settings.database_url) == "memory":
            raise ConfigError(
                f"--workers {settings.workers} cannot share a memory:// database; "
                "use SQLite or PostgreSQL"
            )


class Lookups(NamedTuple):
    """What derives an arriving event's fields: referrer names, user agents, locations."""

    sources: SourceNamer
    agents: AgentParser
    places: GeoLocator
    closers: tuple[Closer, ...]


def lookups(settings: Settings) -> Lookups:
    """The real lookups, each built once per process: an unusable
    ``PRIVALYTICS_GEOIP_DATABASE`` is a ConfigError naming it."""
    from privalytics.adapters.agents import UaParserAgentParser
    from privalytics.adapters.referrers import PublicSuffixSourceNamer

    places = _places(settings)
    closers: tuple[Closer, ...] = ()
    close = getattr(places, "close", None)
    if close is not None:  # an operator's MaxMind DB: its file is closed with the services

        async def close_reader() -> None:
            close()

        closers = (close_reader,)
    return Lookups(PublicSuffixSourceNamer(), UaParserAgentParser(), places, closers)


def _metered(storage: _Storage, limiter: RateLimiter, metrics: Metrics) -> RateLimiter:
    """Tell ``metrics`` what the event writer does; the limiter, timed."""
    from privalytics.adapters.groupcommit import GroupCommitEventStore
    from privalytics.adapters.metrics import TimedRateLimiter
    from privalytics.adapters.sqlalchemy.events import SqlAlchemyEventStore

    # PostgreSQL's inserts go through the group commit, SQLite's through its writer thread.
    if isinstance(storage.events, GroupCommitEventStore | SqlAlchemyEventStore):
        storage.events.observe(metrics)
    return TimedRateLimiter(limiter, metrics)


@functools.cache
def _bot_detector() -> BotDetector:
    """Built once per process (half a second) and shared: it keeps no state but a bounded
    cache of answers."""
    from privalytics.adapters.bots import CrawlerListBotDetector

    return CrawlerListBotDetector()


def _places(settings: Settings) -> GeoLocator:
    from privalytics.adapters.geo import geo_locator

    return geo_locator(settings.geoip_database or None, setting=variable("geoip_database"))


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    looked_up: Lookups | None = None,
) -> Services:
    """Services for ``settings``. Opening is lazy: nothing connects until first use (but
    an operator's GeoIP database, opened and checked here). ``metrics`` is told what the
    event writer and the rate limiter do."""
    check_backends(settings)
    clock = clock or SystemClock()
    looked_up = looked_up or lookups(settings)
    storage = STORAGE_BACKENDS[backend_of(settings.database_url)](
        settings.database_url, settings.rotation, settings.statement_timeout
    )
    limiter, limiter_closers = LIMITER_BACKENDS[backend_of(settings.rate_limit_url)](
        settings.rate_limit_url, clock
    )
    if metrics is not None:
        limiter = _metered(storage, limiter, metrics)
    return build_services(
        events=storage.events,
        tokens=storage.tokens,
        salts=storage.salts,
        limiter=limiter,
        hasher=BcryptSecretHasher(settings.bcrypt_rounds),
        clock=clock,
        settings=IngestSettings(
            salt_rotation=settings.rotation,
            max_event_age=timedelta(hours=settings.max_event_age_hours),
            cache_ttl=settings.cache_ttl,
            event_retention_days=settings.retention_days,
        ),
        # Events need both: a server whose limiter is down answers every event with 503.
        health_checks=(storage.ping, limiter.ping),
        closers=(*storage.closers, *limiter_closers, *looked_up.closers),
        users=storage.users,
        sources=looked_up.sources,
        agents=looked_up.agents,
        places=looked_up.places,
        min_cell_visitors=settings.min_cell_visitors,
        bots=_bot_detector() if settings.bot_filter_on else None,
        bot_log=storage.bots,
        goals=storage.goals,
        funnels=storage.funnels,
        imports=storage.imports,
    )


async def migrate(settings: Settings) -> tuple[str | None, str | None] | None:
    """Bring the database schema to the newest revision; returns the revisions before
    (None: there was no schema) and after, or None for memory://, which has no schema."""
    check_backends(settings)
    if backend_of(settings.database_url) == "memory":
        return None
    from privalytics.adapters.sqlalchemy import migrate as migrate_sql

    return await migrate_sql(settings.database_url)


def settings(**flags: Any) -> Settings:
    """The settings of this process: the environment, with ``flags`` (None: not given)
    over it. Raises ConfigError naming the flag or variable of a value that does not do."""
    return load_settings(**flags)


def settings_warnings() -> list[str]:
    """One line per ``PRIVALYTICS_*`` variable of the environment that is no setting."""
    return unknown_variables()


class DatabaseServer(NamedTuple):
    """Whom a database URL asks (never its password), for a message about it."""

    address: str  # host:port
    hostname: str | None
    database: str
    user: str


def database_server(settings: Settings) -> DatabaseServer | None:
    """The server, database and user of the database URL; None when its port is no
    number (the driver refused it first)."""
    url = urlsplit(settings.database_url)
    try:
        address = f"{url.hostname or 'localhost'}:{url.port or 5432}"
    except ValueError:
        return None
    user = url.username or "(the system user)"
    return DatabaseServer(address, url.hostname, url.path.lstrip("/"), user)


def backup(settings: Settings, target: str) -> int:
    """A consistent copy of the SQLite database at ``target`` while servers write to it;
    returns the events it holds. Other databases: ConfigError naming their own tool."""
    from pathlib import Path

    if backend_of(settings.database_url) == "memory":
        raise ConfigError("memory:// keeps nothing to back up")
    from privalytics.adapters.sqlalchemy.backup import backup_sqlite

    return backup_sqlite(settings.database_url, Path(target))


def keeps_data(settings: Settings) -> bool:
    """Whether the database outlives the process (memory:// does not)."""
    return backend_of(settings.database_url) != "memory"


def check_server(settings: Settings) -> None:
    """Refuse, before anything starts, settings a server cannot keep its promises with."""
    check_backends(settings)
    check_dashboard(settings)
    # The GeoIP database is opened and read once, then closed: each worker opens its own.
    places = _places(settings)
    if hasattr(places, "close"):
        places.close()


def server_settings(settings: Settings) -> Settings:
    """``settings`` with what every worker of one server must share: one CSRF secret."""
    if settings.secret_key:
        return settings
    return msgspec.structs.replace(settings, secret_key=secrets.token_urlsafe(32))


def export_settings(settings: Settings) -> None:
    """Put ``settings`` in this process's environment, where each server worker's
    :func:`asgi_app` reads them."""
    for name, value in msgspec.structs.asdict(settings).items():
        os.environ[variable(name)] = str(value)


# The application factory each server worker calls.
ASGI_APP = "privalytics.bootstrap:asgi_app"


def share_metrics(settings: Settings) -> None:
    """With metrics on and several workers: a directory where each worker writes its
    values and from which ``/metrics`` adds them up (prometheus-client's multiprocess mode),
    named in the environment the workers inherit. An operator's ``PROMETHEUS_MULTIPROC_DIR``
    is used as given, emptied of the previous run's value files."""
    if not settings.metrics_on or settings.workers < 2:
        return
    from privalytics.adapters.metrics import MULTIPROCESS_DIRECTORY

    given = os.environ.get(MULTIPROCESS_DIRECTORY)
    if not given:
        os.environ[MULTIPROCESS_DIRECTORY] = tempfile.mkdtemp(prefix="privalytics-metrics-")
        return
    os.makedirs(given, exist_ok=True)
    for stale in glob.glob(os.path.join(given, "*.db")):
        os.remove(stale)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for serving :data:`ASGI_APP` with ``settings``."""
    from privalytics.adapters.logs import server_log_config
    from privalytics.adapters.uvicornguard import PROTOCOL

    return {
        "factory": True,
        # By import path: every worker process loads the same protocol, with deadlines.
        "http": PROTOCOL,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "log_level": settings.log_level,
        # No record names a client: no access log, and a filter on every other record.
        "log_config": server_log_config(
            settings.log_level, listen_host=settings.host, form=settings.log_format.lower()
        ),
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
    }


async def prepare_demo(settings: Settings, base_url: str) -> str:
    """The demo project and its history, unless it exists; what to tell the user."""
    from privalytics.demo import prepare_demo as prepare

    return await prepare(settings, base_url)


SHARED_FORMS = ("memory://", "redis://HOST[:PORT][/DB]", "rediss://HOST[:PORT][/DB]")
_COOKIE_SECURE = {"auto": None, "true": True, "false": False}


def _dashboard_urls(settings: Settings) -> dict[str, str]:
    """The dashboard's session and live-feed URLs; empty ones follow the rate limiter's."""
    return {
        "PRIVALYTICS_SESSION_URL": settings.session_url or settings.rate_limit_url,
        "PRIVALYTICS_LIVE_URL": settings.live_url or settings.rate_limit_url,
    }


def check_dashboard(settings: Settings) -> None:
    for name, url in _dashboard_urls(settings).items():
        backend = backend_of(url)
        if backend not in LIMITER_BACKENDS:
            raise ConfigError(
                f"{name}: unsupported backend; accepted forms: {', '.join(SHARED_FORMS)}"
            )
        if settings.workers > 1 and backend == "memory":
            raise ConfigError(
                f"--workers {settings.workers} needs {name}=redis://HOST:6379/0: the in-memory "
                "backend would keep each worker's dashboard to itself"
            )


# What each shared URL serves, to say what stops working when its Redis is unreachable.
_ROLES = {
    "rate_limit_url": "the rate limiter (events and /healthz answer 503 until it answers)",
    "session_url": "dashboard sessions (sign-in fails until it answers)",
    "live_url": "the dashboard's live feed",
}


# Seconds a Redis server has to answer the startup check.
PING_TIMEOUT = 2.0


async def unreachable_services(settings: Settings) -> list[str]:
    """One line per Redis server named by the settings that does not answer a PING within
    PING_TIMEOUT seconds: its host and port (never the URL, which may hold a password),
    the variables that name it and what it serves. Empty when all answer."""
    from redis.asyncio import Redis

    urls = {
        "rate_limit_url": settings.rate_limit_url,
        "session_url": settings.session_url or settings.rate_limit_url,
        "live_url": settings.live_url or settings.rate_limit_url,
    }
    lines = []
    for url in dict.fromkeys(u for u in urls.values() if backend_of(u) in {"redis", "rediss"}):
        client = Redis.from_url(
            url, socket_connect_timeout=PING_TIMEOUT, socket_timeout=PING_TIMEOUT
        )
        try:
            await client.ping()
        except Exception:  # any failure means not usable; the words are ours
            names = [name for name, used in urls.items() if used == url]
            # An empty session or live URL follows the rate limiter's: name the one set.
            variables = [
                variable(n) for n in names if n == "rate_limit_url" or getattr(settings, n)
            ]
            parts = urlsplit(url)
            lines.append(
                f"cannot reach Redis at {parts.hostname}:{parts.port or 6379} "
                f"({', '.join(variables)}), used for {'; '.join(_ROLES[n] for n in names)}; "
                "serving anyway"
            )
        finally:
            await client.aclose()
    return lines


def dashboard_options(settings: Settings) -> DashboardOptions:
    """The dashboard's backends, chosen by URL like every other: this process's memory,
    or Redis."""
    return _dashboard(settings)[0]


def _dashboard(settings: Settings) -> tuple[DashboardOptions, tuple[Closer, ...]]:
    """The dashboard's options, and a check of each Redis server they use (/readyz)."""
    from litestar.channels.backends.memory import MemoryChannelsBackend
    from litestar.channels.backends.redis import RedisChannelsPubSubBackend
    from litestar.stores.memory import MemoryStore
    from litestar.stores.redis import RedisStore
    from redis.asyncio import Redis

    from privalytics.adapters.http.dashboard import DashboardOptions

    check_dashboard(settings)
    urls = _dashboard_urls(settings)
    session_url, live_url = urls["PRIVALYTICS_SESSION_URL"], urls["PRIVALYTICS_LIVE_URL"]
    clients: list[Redis] = []

    def client(url: str) -> Redis:
        # Bounded: a Redis server that stops answering makes a page 503 in time (the
        # session store's failures are a 503 page), never a request that waits with it.
        # The live feed's subscriber waits for messages with its own read timeout.
        made = Redis.from_url(
            url,
            socket_connect_timeout=settings.statement_timeout,
            socket_timeout=settings.statement_timeout,
        )
        clients.append(made)
        return made

    options = DashboardOptions(
        session_store=(
            MemoryStore()
            if backend_of(session_url) == "memory"
            else RedisStore(
                client(session_url), namespace="privalytics_sessions", handle_client_shutdown=True
            )
        ),
        # No history: a page opened later starts from what arrives next.
        channels=(
            MemoryChannelsBackend(history=0)
            if backend_of(live_url) == "memory"
            else RedisChannelsPubSubBackend(redis=client(live_url))
        ),
        secure_cookies=_COOKIE_SECURE[settings.cookie_secure.lower()],
        secret=settings.secret_key or None,
        salt_rotation=settings.rotation,
        public_url=settings.public_url.rstrip("/") or None,
    )
    return options, tuple(_pinger(made) for made in clients)


def _pinger(client: Any) -> Closer:
    async def ping() -> None:
        await client.ping()

    return ping


def create_app(
    settings: Settings, services: Services | None = None, *, looked_up: Lookups | None = None
) -> Litestar:
    from privalytics.adapters.http import HttpOptions
    from privalytics.adapters.http import create_app as create_http_app

    metrics = None
    if settings.metrics_on:
        from privalytics.adapters.metrics import Metrics

        metrics = Metrics()
    dashboard, ready_checks = _dashboard(settings)
    return create_http_app(
        services or build(settings, metrics=metrics, looked_up=looked_up),
        HttpOptions(
            trusted_proxies=settings.proxies,
            dashboard=dashboard,
            ready_checks=ready_checks,
            metrics=metrics,
            metrics_token=settings.metrics_token,
            health_timeout=settings.statement_timeout,
        ),
    )


def asgi_app() -> Litestar:
    """The ASGI application factory each server worker calls: settings from the environment.

    ``privalytics serve`` runs migrations once before starting workers.
    """
    settings = load_settings()
    guard_connections(settings)
    looked_up = lookups(settings)
    # The user-agent matchers are built on first use; a server builds them before it
    # answers, so that its first event does not wait for them.
    warm = getattr(looked_up.agents, "warm", None)
    if warm is not None:
        warm()
    app = create_app(settings, looked_up=looked_up)
    freeze_startup_heap()
    return app


def guard_connections(settings: Settings) -> int:
    """Set this process's client deadlines and connection bound (adapters/uvicornguard.py);
    returns the bound in force, lowered to what the open-file limit holds."""
    from privalytics.adapters.uvicornguard import configure

    return configure(
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_connections=settings.max_connections,
    )


def freeze_startup_heap() -> None:
    """Put what the process built to start (modules, the app, its routes and schemas) out
    of the garbage collector's sight, for the server's own process only.

    Those objects live as long as the process, yet every full collection walked them all:
    a stall of tens of milliseconds in front of every request under way, which made most
    of the server's p99 under load and cost up to a fifth of its throughput at -c256
    (docs/performance.md). ``gc.collect()`` first, so that garbage of the start is freed,
    not kept. An application that embeds privalytics (``create_app``) keeps its own
    collector as it is.
    """
    gc.collect()
    gc.freeze()
