"""Settings: read once from the environment (``PRIVALYTICS_*``) and command-line flags.

Every setting, its variable and its default is listed in docs/configuration.md; a test
keeps that page and this module in step.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import msgspec

from privalytics.domain.errors import ConfigError, InvalidInput
from privalytics.domain.hashing import parse_rotation
from privalytics.domain.verification import DEFAULT_TTL

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./privalytics.db"
DEFAULT_RATE_LIMIT_URL = "memory://"
ENV_PREFIX = "PRIVALYTICS_"


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
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"

    @property
    def rotation(self) -> timedelta:
        return parse_rotation(self.salt_rotation)

    @property
    def proxies(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.trusted_proxies.split(",") if part.strip())


_FIELDS = Settings.__struct_fields__


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``environ`` (default: the process environment) and ``overrides``
    (flags given on the command line; ``None`` means not given)."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    for name in _FIELDS:
        value = environ.get(ENV_PREFIX + name.upper())
        if value is not None and value != "":
            raw[name] = value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_env_message(str(exc))) from None
    validate(settings)
    return settings


def _env_message(message: str) -> str:
    # msgspec names the field as `$.field`; name the variable a user sets instead.
    for name in _FIELDS:
        message = message.replace(f"$.{name}", f"{ENV_PREFIX}{name.upper()}")
    return f"invalid setting: {message}"


def validate(settings: Settings) -> None:
    """Refuse settings that cannot work, naming the variable and what is accepted."""
    try:
        settings.rotation  # noqa: B018 (parsed for its error)
    except InvalidInput as exc:
        raise ConfigError(f"PRIVALYTICS_SALT_ROTATION: {exc.message}") from None
    for proxy in settings.proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"PRIVALYTICS_TRUSTED_PROXIES: {proxy!r} is not an address or CIDR"
            ) from None
    checks = [
        (
            1 <= settings.max_event_age_hours <= 24 * 30,
            "PRIVALYTICS_MAX_EVENT_AGE_HOURS",
            "between 1 and 720",
        ),
        (0 <= settings.cache_ttl <= 3600, "PRIVALYTICS_CACHE_TTL", "between 0 and 3600 seconds"),
        (4 <= settings.bcrypt_rounds <= 16, "PRIVALYTICS_BCRYPT_ROUNDS", "between 4 and 16"),
        (0 < settings.port < 65536, "PRIVALYTICS_PORT", "between 1 and 65535"),
        (
            settings.cookie_secure.lower() in {"auto", "true", "false"},
            "PRIVALYTICS_COOKIE_SECURE",
            "one of auto, true, false",
        ),
        (1 <= settings.workers <= 64, "PRIVALYTICS_WORKERS", "between 1 and 64"),
        (
            settings.log_level.lower() in {"critical", "error", "warning", "info", "debug"},
            "PRIVALYTICS_LOG_LEVEL",
            "one of critical, error, warning, info, debug",
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
            "PRIVALYTICS_PUBLIC_URL",
            "empty or an http:// or https:// URL (no query or fragment)",
        )
    )
    for ok, name, accepted in checks:
        if not ok:
            raise ConfigError(f"{name} must be {accepted}")
