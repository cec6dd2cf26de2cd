"""Settings: read once from the environment (``PRIVALYTICS_*``) and command-line flags.

Every setting, its variable and its default is listed in docs/configuration.md; a test
keeps that page and this module in step.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import msgspec

from privalytics.domain.errors import ConfigError, InvalidInput
from privalytics.domain.geography import DEFAULT_MIN_VISITORS
from privalytics.domain.hashing import parse_rotation
from privalytics.domain.retention import MARGIN_DAYS, MAX_DAYS, RECOMMENDED_DAYS, minimum_days
from privalytics.domain.verification import DEFAULT_TTL

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./privalytics.db"
DEFAULT_RATE_LIMIT_URL = "memory://"
ENV_PREFIX = "PRIVALYTICS_"
# A CSRF secret shorter than this can be guessed; `serve` makes 43 characters when unset.
MIN_SECRET_KEY_LENGTH = 32


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # Where events, projects and salts live: sqlite+aiosqlite:///PATH or
    # postgresql+asyncpg://USER@HOST/DB (memory:// keeps everything in this process).
    database_url: str = DEFAULT_DATABASE_URL
    # Where rate-limit state lives: memory:// (one process) or redis://HOST:PORT/DB.
    rate_limit_url: str = DEFAULT_RATE_LIMIT_URL
    # How long one visitor salt lives: 1d (default) up to 30d.
    salt_rotation: str = "1d"
    # Proxies whose X-Forwarded-For is believed: comma-separated addresses or CIDRs.
    trusted_proxies: str = ""
    # Oldest event timestamp accepted, in hours.
    max_event_age_hours: int = 24
    # Days raw events are kept (older ones are deleted daily; the per-day rollups stay);
    # 0: forever. At least the salt window + the oldest accepted event + 2 days.
    event_retention_days: int = 0
    # Seconds a credential check and a project's settings are remembered; the bound on
    # how long a revoked token keeps working in another process.
    cache_ttl: float = DEFAULT_TTL
    # bcrypt cost factor for tokens, admin keys and passwords.
    bcrypt_rounds: int = 10
    # Where dashboard sessions live: memory:// (one process) or redis://HOST:PORT/DB;
    # empty: the rate limiter's URL.
    session_url: str = ""
    # How the dashboard's live feed reaches every instance: memory:// (one process) or
    # redis://HOST:PORT/DB; empty: the rate limiter's URL.
    live_url: str = ""
    # Signs the dashboard's CSRF tokens; empty: random per `serve` (shared by its workers).
    secret_key: str = ""
    # Secure flag of dashboard cookies: auto (when the request is HTTPS), true or false.
    cookie_secure: str = "auto"
    # The address visitors' browsers reach this server at (https://stats.example): the
    # dashboard's snippet names it; empty: the request's scheme (or a trusted proxy's
    # X-Forwarded-Proto) and Host.
    public_url: str = ""
    # An operator's MaxMind DB file (GeoLite2 or GeoIP2 City, DB-IP City Lite...) for
    # countries, regions and cities; empty: countries from the table iptocc ships.
    geoip_database: str = ""
    # Regions and cities with fewer unique visitors than this in a breakdown are merged
    # into "(other)" (k-anonymity).
    min_cell_visitors: int = DEFAULT_MIN_VISITORS
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    # How serve writes its log lines: text (one line per record, as uvicorn writes them)
    # or json (one JSON object per line, for log collectors).
    log_format: str = "text"
    # Prometheus metrics at /metrics: off (default) or on.
    metrics: str = "off"
    # When set, /metrics asks for it as a bearer token (Authorization: Bearer ...).
    metrics_token: str = ""
    # Bot filtering: on (default; bots' events are not stored, the bot log counts them)
    # or off (every event is stored; for testing).
    bot_filter: str = "on"
    # Seconds a client has to send a request's headers (from the connection's start, or
    # the next request's first byte); later: 408 and the connection is closed.
    header_timeout: float = 10.0
    # Seconds a client has to send a request's body once its headers are in; later: 408.
    body_timeout: float = 10.0
    # Open client connections per worker; a new one closes the longest-idle one first.
    # Lowered at start to what the process's open-file limit can hold.
    max_connections: int = 1000
    # Seconds a database statement, or the wait for a database connection, may last;
    # later the request answers 503 (and /healthz, /readyz too).
    statement_timeout: float = 5.0

    @property
    def metrics_on(self) -> bool:
        return self.metrics.lower() in {"on", "true", "1", "yes"}

    @property
    def bot_filter_on(self) -> bool:
        return self.bot_filter.lower() in {"on", "true", "1", "yes"}

    @property
    def rotation(self) -> timedelta:
        return parse_rotation(self.salt_rotation)

    @property
    def retention_days(self) -> int | None:
        """Days raw events are kept; None: forever."""
        return self.event_retention_days or None

    @property
    def proxies(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.trusted_proxies.split(",") if part.strip())


_FIELDS = Settings.__struct_fields__

# The command-line flag of each setting that has one (the rest are variables only).
FLAGS = {
    "database_url": "--database-url",
    "rate_limit_url": "--rate-limit-url",
    "host": "--host",
    "port": "--port",
    "workers": "--workers",
    "log_level": "--log-level",
}

# PRIVALYTICS_* variables that are not settings, yet the project itself reads or names
# them: the test suite's, the benchmarks' and the screenshot script's, and the example
# client of docs/http-api.md. They draw no "unknown variable" warning.
NOT_SETTINGS = frozenset(
    {
        "PRIVALYTICS_REQUIRE_SERVICES",
        "PRIVALYTICS_BROWSER",
        "PRIVALYTICS_CHROMIUM",
        "PRIVALYTICS_BENCH_POSTGRES",
        "PRIVALYTICS_URL",
        "PRIVALYTICS_TOKEN",
    }
)
NOT_SETTINGS_PREFIXES = ("PRIVALYTICS_TEST_",)


def variable(name: str) -> str:
    """The environment variable of setting ``name``."""
    return ENV_PREFIX + name.upper()


def where(name: str, flags: frozenset[str] = frozenset()) -> str:
    """How to name setting ``name`` in a message: its flag when the value came from the
    command line (``flags``), the flag and the variable when it came from the
    environment, the variable for a setting without a flag."""
    flag = FLAGS.get(name)
    if flag is None:
        return variable(name)
    if name in flags:
        return flag
    return f"{flag} ({variable(name)})"


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """One warning per ``PRIVALYTICS_*`` variable that is no setting, with the nearest
    setting's variable when one is close: a misspelt variable would be ignored."""
    environ = os.environ if environ is None else environ
    known = [variable(name) for name in _FIELDS]
    warnings = []
    for name in sorted(environ):
        if (
            not name.startswith(ENV_PREFIX)
            or name in known
            or name in NOT_SETTINGS
            or name.startswith(NOT_SETTINGS_PREFIXES)
        ):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"{name} is not a privalytics setting and is ignored{hint}")
    return warnings


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``environ`` (default: the process environment) and ``overrides``
    (flags given on the command line; ``None`` means not given)."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    for name in _FIELDS:
        value = environ.get(variable(name))
        if value is not None and value != "":
            raw[name] = value
    flags = frozenset(k for k, v in overrides.items() if v is not None)
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError:
        raise ConfigError(_type_message(raw, flags)) from None
    validate(settings, flags)
    return settings


_KINDS = {int: "a whole number", float: "a number"}


def _type_message(raw: Mapping[str, Any], flags: frozenset[str]) -> str:
    """Which value has the wrong type, in our words (not the decoder's)."""
    types = {field.name: field.type for field in msgspec.structs.fields(Settings)}
    for name, value in raw.items():
        try:
            msgspec.convert({name: value}, Settings, strict=False)
        except msgspec.ValidationError:
            return f"{where(name, flags)} must be {_KINDS.get(types[name], 'text')}"
    return "invalid settings"  # pragma: no cover (one value at a time always finds it)


def validate(settings: Settings, flags: frozenset[str] = frozenset()) -> None:
    """Refuse settings that cannot work, naming the flag or variable and what is accepted
    (``flags``: the settings given on the command line)."""
    try:
        settings.rotation  # noqa: B018 (parsed for its error)
    except InvalidInput as exc:
        raise ConfigError(f"{where('salt_rotation')}: {exc.message}") from None
    for proxy in settings.proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"{where('trusted_proxies')}: {proxy!r} is not an address or CIDR"
            ) from None
    checks = [
        (1 <= settings.max_event_age_hours <= 24 * 30, "max_event_age_hours", "between 1 and 720"),
        (0 <= settings.cache_ttl <= 3600, "cache_ttl", "between 0 and 3600 seconds"),
        (4 <= settings.bcrypt_rounds <= 16, "bcrypt_rounds", "between 4 and 16"),
        (settings.min_cell_visitors >= 1, "min_cell_visitors", "at least 1"),
        (0 < settings.port < 65536, "port", "between 1 and 65535"),
        (
            settings.cookie_secure.lower() in {"auto", "true", "false"},
            "cookie_secure",
            "one of auto, true, false",
        ),
        (1 <= settings.workers <= 64, "workers", "between 1 and 64"),
        (0 < settings.header_timeout <= 600, "header_timeout", "between 0 and 600 seconds"),
        (0 < settings.body_timeout <= 600, "body_timeout", "between 0 and 600 seconds"),
        (
            0 < settings.statement_timeout <= 600,
            "statement_timeout",
            "between 0 and 600 seconds",
        ),
        (
            1 <= settings.max_connections <= 1_000_000,
            "max_connections",
            "between 1 and 1000000",
        ),
        (
            settings.log_level.lower() in {"critical", "error", "warning", "info", "debug"},
            "log_level",
            "one of critical, error, warning, info, debug",
        ),
        (settings.log_format.lower() in {"text", "json"}, "log_format", "one of text, json"),
        (
            settings.metrics.lower() in {"on", "off", "true", "false", "1", "0", "yes", "no"},
            "metrics",
            "on or off",
        ),
        (
            settings.bot_filter.lower() in {"on", "off", "true", "false", "1", "0", "yes", "no"},
            "bot_filter",
            "on or off",
        ),
        (
            not settings.metrics_token or len(settings.metrics_token) >= 16,
            "metrics_token",
            "empty or at least 16 characters long",
        ),
        (
            not settings.secret_key or len(settings.secret_key) >= MIN_SECRET_KEY_LENGTH,
            "secret_key",
            f"empty or at least {MIN_SECRET_KEY_LENGTH} characters long, e.g. the output of: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
        ),
    ]
    public = urlsplit(settings.public_url)
    checks.append(
        (
            not settings.public_url
            or (
                public.scheme in {"http", "https"}
                and bool(public.netloc)
                and not public.query
                and not public.fragment
            ),
            "public_url",
            "empty or an http:// or https:// URL (no query or fragment)",
        )
    )
    for ok, name, accepted in checks:
        if not ok:
            raise ConfigError(f"{where(name, flags)} must be {accepted}")
    _check_retention(settings)


def _check_retention(settings: Settings) -> None:
    days = settings.event_retention_days
    if days == 0:
        return
    least = minimum_days(settings.rotation, timedelta(hours=settings.max_event_age_hours))
    if not least <= days <= MAX_DAYS:
        raise ConfigError(
            f"{where('event_retention_days')} must be 0 (keep events forever) or a number of"
            f" days from {least} to {MAX_DAYS}: at least a salt window"
            f" ({where('salt_rotation')}), the oldest event accepted"
            f" ({where('max_event_age_hours')}) and {MARGIN_DAYS} days"
            f" (recommended: at most {RECOMMENDED_DAYS}, about 25 months)"
        )
