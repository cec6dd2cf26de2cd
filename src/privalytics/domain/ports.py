"""The ports: what the domain needs from the world, named by role.

Every store raises :class:`~privalytics.domain.errors.StorageUnavailable` when its backend
cannot be reached, and writes all or nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from privalytics.domain.devices import Agent
from privalytics.domain.dimensions import Dimension
from privalytics.domain.filters import Filter
from privalytics.domain.funnels import Funnel, Step
from privalytics.domain.geography import Location
from privalytics.domain.goals import Goal
from privalytics.domain.insight import Figures, Row
from privalytics.domain.models import (
    Action,
    AdminKeyRecord,
    BotCount,
    Bucket,
    Event,
    ImportRecord,
    PageStats,
    Project,
    Ranked,
    RateDecision,
    TimeRange,
    TokenRecord,
    User,
)
from privalytics.domain.ratelimit import Policy


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class EventStore(Protocol):
    """Events: stored in batches, and read back as counts, rankings and series (the API's
    stats and the dashboard's breakdowns alike)."""

    async def add(self, events: Sequence[Event]) -> None:
        """Store all of ``events`` in one transaction, or none of them."""
        ...

    async def count_by_action(self, project_id: str, span: TimeRange) -> dict[Action, int]:
        """Events per action in ``span``; actions with no event are left out."""
        ...

    async def unique_visitors(self, project_id: str, span: TimeRange) -> int:
        """Distinct visitors over events of any action in ``span``.

        A visitor hash stands for one visitor within one salt window only, so visitors are
        counted per salt window (epoch-aligned, of the length the store was given: a UTC day
        by default) and the counts summed; with daily salts, the sum of the days' figures.
        """
        ...

    async def top_pages(self, project_id: str, span: TimeRange, limit: int) -> list[PageStats]:
        """Paths by visit count (then path, ascending), with distinct visitors of visits
        (per salt window, summed, as in :meth:`unique_visitors`)."""
        ...

    async def top_referrers(self, project_id: str, span: TimeRange, limit: int) -> list[Ranked]:
        """Referrers of visits by count (then text, ascending); visits without one left out."""
        ...

    async def top_targets(
        self, project_id: str, span: TimeRange, action: Action, limit: int
    ) -> list[Ranked]:
        """Targets of ``action`` events by count (then text); events without one left out."""
        ...

    async def average_value(self, project_id: str, span: TimeRange, action: Action) -> float | None:
        """The mean ``value`` of ``action`` events that have one; None when none has."""
        ...

    async def series(
        self, project_id: str, span: TimeRange, origin: datetime, step: timedelta
    ) -> list[Bucket]:
        """Visits and distinct visitors of visits in ``span``, per step counted from
        ``origin`` (at or before ``span.start``), for steps with at least one visit, in order.
        """
        ...

    async def figures(self, project_id: str, span: TimeRange, filters: Sequence[Filter]) -> Figures:
        """The headline figures (visitors, page views, sessions, bounces, duration) of the
        project's events in ``span`` under ``filters``: equal to
        :func:`privalytics.domain.insight.figures` over those events, with visitors counted
        per salt window of the length the store was given."""
        ...

    async def breakdown(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
        limit: int | None,
    ) -> list[Row]:
        """The first ``limit`` rows (every row with None) of
        :func:`privalytics.domain.insight.breakdown` over the project's events in ``span``
        under ``filters``, ranked as it ranks them."""
        ...

    async def cell_sizes(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
    ) -> dict[str | None, int]:
        """For each value of ``dimension`` among the sessions ``filters`` select in
        ``span``, the most distinct visitors it had within one salt window: equal to
        :func:`privalytics.domain.insight.cell_sizes` over the project's events in ``span``.
        A lower bound on the people behind the value (a visitor's hash changes with the
        window), which k-anonymity compares with its threshold."""
        ...

    async def selected_events(
        self, project_id: str, span: TimeRange, filters: Sequence[Filter]
    ) -> list[Event]:
        """The project's events in ``span`` that ``filters`` select: equal (as a multiset)
        to :func:`privalytics.domain.activity.selected_events` over those events. A
        filtered stats answer counts its series, actions and top lists from them."""
        ...

    async def funnel_counts(
        self,
        project_id: str,
        span: TimeRange,
        steps: Sequence[Step],
        filters: Sequence[Filter],
    ) -> list[int]:
        """Per step, the visitors (per salt window) who did steps 1 to it in order among
        the project's events in ``span`` that ``filters`` select: equal to
        :func:`privalytics.domain.funnels.funnel_counts` over
        :meth:`selected_events`."""
        ...

    async def visitor_days(self, project_id: str, span: TimeRange) -> dict[date, set[str]]:
        """Per UTC day, the visitor hashes of the project's events in ``span`` that day
        (as :class:`privalytics.domain.cohorts.Tally` gathers them from every event)."""
        ...

    async def latest(self, project_id: str, span: TimeRange, limit: int) -> list[Event]:
        """The newest ``limit`` events in ``span``, newest first."""
        ...

    def stream(self, project_id: str, span: TimeRange, chunk: int) -> AsyncIterator[list[Event]]:
        """Every event of the project in ``span``, oldest first (ties in the order they
        were stored), in lists of at most ``chunk``: an export in constant memory."""
        ...

    async def delete_project_events(self, project_id: str) -> int:
        """Delete every event of the project; returns how many there were."""
        ...

    async def erase(self, project_id: str, span: TimeRange) -> int:
        """Delete the project's events in ``span``, and mark their days for the next
        :meth:`refresh` to recompute; returns how many were deleted."""
        ...

    async def expire(self, before: datetime, *, dry_run: bool = False) -> int:
        """Delete every event older than ``before`` (raw-event retention) without marking
        any day stale: the pre-aggregated figures of the days that go keep what they hold.
        No event of a day still stale goes (a later call takes it, once :meth:`refresh` has
        computed the day). In short transactions that leave ingestion going; safe to run
        in several processes at once. Returns how many events were deleted (``dry_run``:
        how many are older than ``before``, which a run after :meth:`refresh` deletes;
        nothing is deleted). A store without pre-aggregated figures (the
        in-memory one) loses the expired days' figures with their events."""
        ...

    async def refresh(self, before: datetime) -> int:
        """Bring the store's pre-aggregated figures (if it keeps any) up to date for the
        days that are over at ``before``; returns how many days were brought up to date.
        Answers never depend on it (days not brought up to date are read from the events);
        only their speed does."""
        ...

    async def project_ids(self) -> list[str]:
        """The distinct project ids of the stored events, in order (the sweep of events
        left behind by deleted projects starts from them)."""
        ...

    async def ping(self) -> None:
        """Return when the store answers; raise StorageUnavailable otherwise."""
        ...


class TokenStore(Protocol):
    """Projects, their tokens and the admin keys."""

    async def add_project(self, project: Project, token: TokenRecord) -> None:
        """Store a new project with its first token, atomically."""
        ...

    async def get_project(self, project_id: str) -> Project | None: ...

    async def list_projects(self) -> list[Project]:
        """All projects, oldest first."""
        ...

    async def update_project(self, project: Project) -> bool:
        """Replace the stored project of the same id; False when there is none."""
        ...

    async def delete_project(self, project_id: str) -> bool:
        """Delete the project and its tokens; False when there was none."""
        ...

    async def add_token(self, token: TokenRecord) -> bool:
        """Store the token; False (and nothing stored) when its project does not exist,
        also when that project is being deleted at the same moment: the two never leave a
        token without its project."""
        ...

    async def get_token(self, token_id: str) -> TokenRecord | None: ...

    async def list_tokens(self, project_id: str) -> list[TokenRecord]:
        """The project's tokens, oldest first, revoked ones included."""
        ...

    async def revoke_token(self, token_id: str, at: datetime, *, keep_last: bool = False) -> bool:
        """Mark the token revoked; False when it does not exist or is already revoked, and,
        with ``keep_last``, when no other live token of its project would stay (then
        nothing changes). Checked and done as one step: two calls revoking the last two
        live tokens of a project at once never both succeed."""
        ...

    async def rotate_token(self, token: TokenRecord, at: datetime) -> list[str] | None:
        """Store ``token`` and revoke every other live token of its project and of its kind
        at ``at``, in one transaction; returns the ids revoked, sorted, or None (and
        nothing changed) when the project does not exist, as :meth:`add_token`."""
        ...

    async def add_admin_key(self, key: AdminKeyRecord) -> None: ...

    async def get_admin_key(self, key_id: str) -> AdminKeyRecord | None: ...

    async def list_admin_keys(self) -> list[AdminKeyRecord]:
        """Every admin key, oldest first, revoked ones included."""
        ...

    async def revoke_admin_key(self, key_id: str, at: datetime) -> bool:
        """Mark the key revoked; False when it does not exist or is already revoked."""
        ...


class GoalStore(Protocol):
    """Each project's goals (:mod:`privalytics.domain.goals`)."""

    async def add_goal(self, goal: Goal, limit: int) -> bool:
        """Store ``goal`` unless its project has ``limit`` goals already or one of the
        same name (and, in a store that keeps projects, unless the project exists); False
        (and nothing stored) then. Checked and done as one step: two goals of one name
        added at once are never both stored, nor more than ``limit``."""
        ...

    async def list_goals(self, project_id: str) -> list[Goal]:
        """The project's goals, oldest first (then by id)."""
        ...

    async def delete_goal(self, project_id: str, goal_id: str) -> Goal | None:
        """Delete the project's goal ``goal_id``; the goal deleted, or None when the
        project has none of that id."""
        ...

    async def delete_project_goals(self, project_id: str) -> int:
        """Delete every goal of the project; returns how many there were."""
        ...


class FunnelStore(Protocol):
    """Each project's funnels (:mod:`privalytics.domain.funnels`)."""

    async def add_funnel(self, funnel: Funnel, limit: int) -> bool:
        """Store ``funnel`` unless its project has ``limit`` funnels already or one of
        the same name (and, in a store that keeps projects, unless the project exists);
        False (and nothing stored) then. Checked and done as one step."""
        ...

    async def list_funnels(self, project_id: str) -> list[Funnel]:
        """The project's funnels, oldest first (then by id)."""
        ...

    async def get_funnel(self, project_id: str, funnel_id: str) -> Funnel | None:
        """The project's funnel ``funnel_id``, or None."""
        ...

    async def delete_funnel(self, project_id: str, funnel_id: str) -> Funnel | None:
        """Delete the project's funnel ``funnel_id``; the funnel deleted, or None."""
        ...

    async def delete_project_funnels(self, project_id: str) -> int:
        """Delete every funnel of the project; returns how many there were."""
        ...


class SaltStore(Protocol):
    """Salts keyed by the start of their window, in whole seconds since the epoch (UTC)."""

    async def get_or_create(self, start: int, candidate: bytes) -> bytes:
        """The salt of the window starting at ``start``: the stored one, or ``candidate``
        stored atomically.

        When several processes race, exactly one candidate wins and all of them get it.
        """
        ...

    async def delete_expired(self, current: int, rotation: int) -> int:
        """Delete the salt of every window that started before ``current`` and of every
        window whose start is not a multiple of ``rotation`` seconds (made under another
        rotation); returns how many. Later windows on the rotation stay: a process whose
        clock runs a little ahead may already hash with one."""
        ...


class RateLimiter(Protocol):
    async def acquire(self, key: str, policy: Policy, cost: int = 1) -> RateDecision:
        """Take ``cost`` units from ``key``'s allowance when they fit, atomically."""
        ...

    async def reset(self, key: str) -> None:
        """Forget ``key``'s state (a token revoked, a limit changed)."""
        ...

    async def ping(self) -> None:
        """Return when the limiter's backend answers; raise StorageUnavailable otherwise."""
        ...


class SecretHasher(Protocol):
    async def hash(self, secret: bytes) -> bytes: ...

    async def verify(self, secret: bytes, hashed: bytes) -> bool: ...


class UserStore(Protocol):
    """Dashboard users, by username."""

    async def add_user(self, user: User) -> bool:
        """Store a new user; False (and nothing stored) when the username is taken."""
        ...

    async def get_user(self, username: str) -> User | None: ...

    async def set_password(self, username: str, password_hash: bytes) -> bool:
        """Replace the user's password hash; False when there is no such user."""
        ...

    async def list_users(self) -> list[User]:
        """All users, by username."""
        ...

    async def delete_user(self, username: str) -> bool: ...


class SourceNamer(Protocol):
    """What the site at a referrer's host is called in the Sources panel."""

    def name(self, host: str) -> str:
        """The known name of the site at ``host`` ("Google" for ``www.google.de``, "Hacker
        News" for ``news.ycombinator.com``), else its registrable domain, public-suffix
        aware (``a.b.example.co.uk`` -> ``example.co.uk``), else ``host`` itself (an IP
        address, ``localhost``). ``host``: a host name or IP address without port, in any
        case, in Unicode or IDNA form; the answer is not empty when ``host`` is not."""
        ...


class GeoLocator(Protocol):
    """Where a client address is, no finer than its city (a
    :class:`~privalytics.domain.geography.Location` has no field for anything finer).

    Called on the ingestion path for every event: implementations answer from memory (a
    bounded cache in front of a local table), never over the network.
    """

    def locate(self, ip: str) -> Location:
        """The location of ``ip``; :data:`~privalytics.domain.geography.UNKNOWN` for a
        private, reserved, loopback or link-local address, for text that is not an
        address (an IPv6 zone included), and for an address no table holds. Never raises,
        and never logs or repeats the address."""
        ...


class AgentParser(Protocol):
    """Reads a user agent's browser and operating system."""

    def parse(self, user_agent: str) -> Agent:
        """The agent's browser and OS; :data:`~privalytics.domain.devices.UNKNOWN_AGENT`
        (every field None) for an empty or unreadable agent. Never raises, and never keeps,
        logs or quotes ``user_agent``."""
        ...


class BotDetector(Protocol):
    """Tells a bot's user agent from a browser's, by what the agent says of itself."""

    def classify(self, user_agent: str) -> str | None:
        """Why ``user_agent`` is a bot's, as a short label that names the bot or the
        marker ("Googlebot", "HeadlessChrome", "curl"), never the agent itself; None for
        anything else (an empty agent included: the caller decides about that). Never
        raises, and never keeps, logs or quotes ``user_agent``."""
        ...


class BotLogStore(Protocol):
    """The bot log: per project, UTC day and reason, how many events were a bot's."""

    async def add_bot_counts(self, counts: Sequence[BotCount]) -> None:
        """Add each count to the stored total of its project, day and reason (a key may
        come several times), all in one transaction or none."""
        ...

    async def bot_counts(self, project_id: str, first: date, last: date) -> list[BotCount]:
        """The project's totals for the days ``first`` to ``last`` (both included), by
        day, then reason."""
        ...

    async def delete_project_bot_counts(self, project_id: str) -> int:
        """Delete the project's bot log; returns how many lines it had."""
        ...


class ImportStore(Protocol):
    """The imports registry, and the one transaction that stores an imported file's
    events with its registry line (``privalytics import``)."""

    async def import_events(
        self, record: ImportRecord, batches: AsyncIterable[Sequence[Event]]
    ) -> ImportRecord | None:
        """Store ``record`` and every event of ``batches`` in one transaction, through
        the events' insert path (their days' rollups marked stale as for live events), or
        nothing; ``record.events`` is not checked. None, with nothing stored and
        ``batches`` not read, when the project already has an import of that file
        (``sha256``); else the record stored."""
        ...

    async def find_import(self, project_id: str, sha256: str) -> ImportRecord | None:
        """The project's import of the file with this digest, if any."""
        ...

    async def list_imports(self, project_id: str) -> list[ImportRecord]:
        """The project's imports, oldest first."""
        ...

    async def imported_within(self, project_id: str, span: TimeRange) -> bool:
        """Whether an import of the project stored events within ``span``."""
        ...

    async def delete_project_imports(self, project_id: str) -> int:
        """Delete the project's registry lines (its events go with the project's)."""
        ...
