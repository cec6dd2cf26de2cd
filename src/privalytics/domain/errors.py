"""Domain errors: each means one thing a caller can act on.

Messages never contain a token secret, an IP address or a user agent.
"""

from __future__ import annotations


class PrivalyticsError(Exception):
    """Base of every error the library raises on purpose."""


class InvalidInput(PrivalyticsError):
    """A value given by a caller is malformed or out of bounds."""

    def __init__(self, message: str, *, field: str | None = None, index: int | None = None):
        self.field = field
        self.index = index
        where = ""
        if index is not None:
            where += f"event {index}: "
        if field is not None:
            where += f"{field}: "
        super().__init__(f"{where}{message}")
        self.message = message


class Unauthenticated(PrivalyticsError):
    """The credential is missing, malformed, unknown or revoked."""


class OriginNotAllowed(PrivalyticsError):
    """A browser request came from an origin the project does not allow."""


class ServerTokenRequired(PrivalyticsError):
    """An event names its visitor (``visitor_ip``, ``user_agent``) but was sent with a
    browser token, which is public: only a server token may do that."""

    def __init__(self, message: str, *, field: str, index: int | None = None):
        self.field = field
        self.index = index
        where = "" if index is None else f"event {index}: "
        super().__init__(f"{where}{field}: {message}")
        self.message = message


class RateLimited(PrivalyticsError):
    """The token is over its rate limit."""

    def __init__(
        self, message: str, *, limit: int, remaining: int, retry_after: float, reset_after: float
    ):
        super().__init__(message)
        self.limit = limit
        self.remaining = remaining
        self.retry_after = retry_after
        self.reset_after = reset_after


class NotFound(PrivalyticsError):
    """The project or token does not exist."""


class StorageUnavailable(PrivalyticsError):
    """The storage backend cannot be reached or refused the write; nothing was stored.

    ``reason`` says why when the adapter knows, so that a caller holding the settings (the
    CLI) can name what to fix: one of :data:`STORAGE_REASONS`, or None.
    """

    def __init__(self, message: str, *, reason: str | None = None):
        super().__init__(message)
        self.reason = reason


# Why a database is unavailable, when the adapter can tell: the named database does not
# exist; the server refused the sign-in (unknown user, wrong password, not allowed from
# here); nothing answers at the address (refused, timed out); the host name is unknown.
STORAGE_REASONS = ("no_database", "sign_in_refused", "unreachable", "unknown_host")


class ConfigError(PrivalyticsError):
    """A setting is malformed or names an unsupported backend."""
