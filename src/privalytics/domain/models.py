"""The domain's values: frozen, keyword-only msgspec Structs.

Times are timezone-aware UTC datetimes everywhere in the domain; adapters convert to
whatever their storage prefers.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import msgspec

# What a sender may give as a property's value; it is stored as text.
PropValue = str | int | float | bool


class Action(enum.StrEnum):
    """What a visitor did."""

    VISIT = "visit"
    CLICK = "click"
    SCROLL = "scroll"
    DOWNLOAD = "download"
    SHARE = "share"
    # A custom event: what the site names it (``name``), e.g. "Signup". Added after the
    # five built-in actions, which keep their meaning whatever a sender calls them.
    CUSTOM = "custom"


class RateLimit(msgspec.Struct, frozen=True, kw_only=True):
    """At most ``events`` events per ``period_seconds``, with a burst of ``events``."""

    events: int
    period_seconds: int

    def __str__(self) -> str:
        names = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
        unit = names.get(self.period_seconds)
        return f"{self.events}/{unit}" if unit else f"{self.events}/{self.period_seconds}s"


class Project(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    rate_limit: RateLimit
    # Origins (scheme://host[:port]) allowed to send browser events; empty means any.
    allowed_origins: tuple[str, ...] = ()
    created_at: datetime


class TokenKind(enum.StrEnum):
    """Who holds a token. A browser token is public (pages embed it); a server token is a
    secret kept on a server, and the only kind whose events may name their visitor
    (``visitor_ip``, ``user_agent``): anyone holding a public token could otherwise make
    up visitors at will."""

    BROWSER = "browser"
    SERVER = "server"


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What is stored of a project token: its public id and a bcrypt hash of its secret."""

    id: str
    project_id: str
    secret_hash: bytes
    created_at: datetime
    revoked_at: datetime | None = None
    kind: TokenKind = TokenKind.BROWSER


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What may be shown of a token after it was issued: never its secret."""

    id: str
    project_id: str
    created_at: datetime
    revoked_at: datetime | None = None
    kind: TokenKind = TokenKind.BROWSER


class AdminKeyInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What may be shown of an admin key after it was created: never its secret."""

    id: str
    created_at: datetime
    revoked_at: datetime | None = None


class AdminKeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    secret_hash: bytes
    created_at: datetime
    revoked_at: datetime | None = None


class IssuedToken(msgspec.Struct, frozen=True, kw_only=True):
    """A token as issued: the only moment its full text exists."""

    info: TokenInfo
    token: str


class CreatedProject(msgspec.Struct, frozen=True, kw_only=True):
    project: Project
    token: IssuedToken


class ProjectUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Fields to change; ``None`` leaves a field as it is."""

    name: str | None = None
    rate_limit: RateLimit | None = None
    allowed_origins: tuple[str, ...] | None = None


class IncomingEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as a sender describes it, before validation and hashing."""

    action: Action
    path: str
    referrer: str | None = None
    target: str | None = None
    # A scroll's depth in percent; a custom event's revenue amount (with ``currency``).
    value: float | None = None
    timestamp: datetime | None = None
    # Values are kept as text (numbers and booleans as JSON writes them).
    props: dict[str, PropValue] = msgspec.field(default_factory=dict)
    # A custom event's name (action ``custom``), and the ISO 4217 code of its revenue.
    name: str | None = None
    currency: str | None = None
    # Server-side senders pass their visitor's address and agent; they are hashed, never kept.
    visitor_ip: str | None = None
    user_agent: str | None = None
    # The width of the visitor's screen in CSS pixels, as a tracker measures it: read for
    # the device class, never kept.
    screen_width: int | None = None
    # The browser said it is driven by automation (``navigator.webdriver``): a bot's event.
    webdriver: bool = False


class ClientInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The request's own client, used when an event names no visitor of its own."""

    ip: str
    user_agent: str = ""
    origin: str | None = None
    # The request carries Global Privacy Control (``Sec-GPC: 1``): see
    # :func:`privalytics.domain.services.declines`.
    gpc: bool = False


class Derived(msgspec.Struct, frozen=True, kw_only=True):
    """What an arriving event says about its visit, derived on arrival (see
    :mod:`privalytics.domain.derivation`) and stored with it; each is a dimension of
    :mod:`privalytics.domain.dimensions`. None when unknown."""

    # Where the visit came from: a known site's name or a registrable domain, the
    # campaign's source winning over the referrer's; and the referring page, without its
    # query (none for navigation within the site).
    source: str | None = None
    referrer: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    # From the user agent, which is then discarded.
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    # From the screen width the tracker sends: mobile, tablet, laptop or desktop.
    device: str | None = None
    # From the address, which is then discarded: nothing finer than a city.
    country: str | None = None
    region: str | None = None
    city: str | None = None


class Event(Derived, frozen=True, kw_only=True):
    """An event as stored: no IP address, no user agent, only the visitor hash (and what
    was derived from them on arrival, :class:`Derived`)."""

    project_id: str
    action: Action
    path: str
    timestamp: datetime
    visitor_hash: str
    target: str | None = None
    value: float | None = None
    props: dict[str, str] = msgspec.field(default_factory=dict)
    # A custom event's name; its revenue's currency (the amount is ``value``).
    name: str | None = None
    currency: str | None = None


class TimeRange(msgspec.Struct, frozen=True, kw_only=True):
    """Half-open: ``start <= t < end``."""

    start: datetime
    end: datetime


class PageStats(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    visits: int
    unique_visitors: int


class Bucket(msgspec.Struct, frozen=True, kw_only=True):
    start: datetime
    visits: int
    unique_visitors: int


class Ranked(msgspec.Struct, frozen=True, kw_only=True):
    """One row of a top list: a referrer, a click target, a download, a share network."""

    name: str
    count: int


class Totals(msgspec.Struct, frozen=True, kw_only=True):
    """The headline numbers of a range: the previous period's, for comparison.

    The session figures (see :class:`privalytics.domain.sessions.SessionFigures`) are
    None where they were not computed (the overview of every project reads only visits
    and visitors); a stats answer always has them."""

    range: TimeRange
    visits: int
    unique_visitors: int
    pageviews: int | None = None
    sessions: int | None = None
    views_per_session: float | None = None
    bounce_rate: int | None = None
    visit_duration: int | None = None


class Stats(msgspec.Struct, frozen=True, kw_only=True):
    range: TimeRange
    visits: int
    unique_visitors: int
    top_pages: list[PageStats]
    actions: dict[Action, int]
    recent: list[Bucket]
    top_referrers: list[Ranked] = msgspec.field(default_factory=list)
    # Top targets of clicks, downloads and shares (share: the network).
    top_targets: dict[Action, list[Ranked]] = msgspec.field(default_factory=dict)
    # Mean ``value`` of scroll events (percent of the page), None without any.
    average_scroll_depth: float | None = None
    # "hour" for ranges up to 48 hours, "day" beyond.
    series_step: str = "hour"
    # Every step of the range, oldest first, zeros included; visits and their visitors.
    series: list[Bucket] = msgspec.field(default_factory=list)
    # The range of the same length just before this one.
    previous: Totals | None = None
    # The session figures (privalytics.domain.sessions.SessionFigures): page views (the
    # same number as ``visits``), sessions, and the ratios, None without a session.
    pageviews: int = 0
    sessions: int = 0
    views_per_session: float | None = None
    bounce_rate: int | None = None
    visit_duration: int | None = None
    # Distinct visitors with an event in the last five minutes (whatever the range).
    current_visitors: int = 0
    # The filters every figure honours, as written (privalytics.domain.filters).
    filters: tuple[str, ...] = ()
    # The earliest instant whose raw events are kept (None: every event is kept), and
    # whether the figures that need raw events cover only the range's part from there on
    # (privalytics.domain.retention).
    raw_from: datetime | None = None
    partial: bool = False
    # Whether the range holds events of an imported file (``privalytics import``).
    imported: bool = False


class RateDecision(msgspec.Struct, frozen=True, kw_only=True):
    """A limiter's answer, with what the RateLimit-* headers report."""

    allowed: bool
    limit: int
    remaining: int
    # Seconds until the bucket is full again.
    reset_after: float
    # Seconds to wait before this request could pass; 0 when allowed.
    retry_after: float


class User(msgspec.Struct, frozen=True, kw_only=True):
    """A dashboard user: a name and a bcrypt hash of the password, never the password."""

    username: str
    password_hash: bytes
    created_at: datetime


class BotCount(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a project's bot log: how many events arriving on ``day`` (UTC) were a
    bot's, for one ``reason`` ("Googlebot", "HeadlessChrome", "empty user agent"). Never
    an address or a user agent."""

    project_id: str
    day: date
    reason: str
    count: int


class BotReport(msgspec.Struct, frozen=True, kw_only=True):
    """A project's bot log over the UTC days a range touches."""

    range: TimeRange
    first_day: date
    last_day: date
    total: int
    # Per reason, most frequent first (then by name).
    reasons: list[Ranked]
    # Per day and reason, oldest day first, then by reason.
    days: list[BotCount]


class ImportRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One file imported into a project (``privalytics import``): the registry that makes
    importing the same file again a no-op, and tells a range that holds imported events.
    ``sha256``: the file's digest (hex); ``first``/``last``: the timestamps of its first
    and last stored event (None: the file held no event to store); ``events``: how many
    were stored."""

    id: str
    project_id: str
    sha256: str
    format: str
    first: datetime | None
    last: datetime | None
    events: int
    imported_at: datetime
