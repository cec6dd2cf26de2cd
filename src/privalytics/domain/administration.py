"""Projects, their tokens, the admin keys: the administration use case."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence

from privalytics.domain.bots import BotLog
from privalytics.domain.errors import (
    NotFound,
    StorageUnavailable,
)
from privalytics.domain.models import (
    AdminKeyInfo,
    AdminKeyRecord,
    CreatedProject,
    IssuedToken,
    Project,
    ProjectUpdate,
    RateLimit,
    TimeRange,
    TokenInfo,
    TokenKind,
    TokenRecord,
)
from privalytics.domain.ports import (
    Clock,
    EventStore,
    FunnelStore,
    GoalStore,
    RateLimiter,
    SecretHasher,
    TokenStore,
)
from privalytics.domain.ratelimit import check_rate_limit
from privalytics.domain.tokens import ADMIN_KEY_PREFIX, TOKEN_PREFIX, generate
from privalytics.domain.validation import (
    clean_name,
    clean_origins,
)
from privalytics.domain.verification import Privacy

_log = logging.getLogger("privalytics.admin")


DEFAULT_RATE_LIMIT = RateLimit(events=1000, period_seconds=60)


def _info(record: TokenRecord) -> TokenInfo:
    return TokenInfo(
        id=record.id,
        project_id=record.project_id,
        created_at=record.created_at,
        revoked_at=record.revoked_at,
        kind=record.kind,
    )


def _key_info(record: AdminKeyRecord) -> AdminKeyInfo:
    return AdminKeyInfo(id=record.id, created_at=record.created_at, revoked_at=record.revoked_at)


def active_tokens(tokens: Iterable[TokenInfo]) -> list[TokenInfo]:
    """The tokens that still write events: those not revoked."""
    return [token for token in tokens if token.revoked_at is None]


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
        bot_log: BotLog | None = None,
        goals: GoalStore | None = None,
        funnels: FunnelStore | None = None,
    ) -> None:
        self._events = events
        self._goals = goals
        self._funnels = funnels
        self._bot_log = bot_log
        self._tokens = tokens
        self._limiter = limiter
        self._hasher = hasher
        self._clock = clock
        self._privacy = privacy

    async def _new_token(
        self, project_id: str, kind: TokenKind = TokenKind.BROWSER
    ) -> tuple[TokenRecord, IssuedToken]:
        credential = generate(TOKEN_PREFIX)
        record = TokenRecord(
            id=credential.id,
            project_id=project_id,
            secret_hash=await self._hasher.hash(credential.secret),
            created_at=self._clock.now(),
            kind=kind,
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
            self._privacy.tokens.forget(record.id)
        await self._reset_limits(
            [f"site:{project.id}", *(f"token:{record.id}" for record in tokens)]
        )
        if self._goals is not None:
            try:
                # The SQL stores' foreign key deleted them with the project already; a
                # store without one (memory) needs telling.
                await self._goals.delete_project_goals(project.id)
            except StorageUnavailable:
                _log.warning("goals of a deleted project kept: storage unavailable")
        if self._funnels is not None:
            try:
                # As goals: the SQL foreign key deleted them; memory needs telling.
                await self._funnels.delete_project_funnels(project.id)
            except StorageUnavailable:
                _log.warning("funnels of a deleted project kept: storage unavailable")
        try:
            await self._events.delete_project_events(project.id)
        except StorageUnavailable:
            # The project is gone, which is what the caller asked; the sweep takes the rest.
            _log.warning("events of a deleted project left for the sweep: storage unavailable")
        if self._bot_log is not None:
            try:
                await self._bot_log.forget(project.id)
            except StorageUnavailable:
                # Days, reasons and counts only: nothing about anyone is left behind.
                _log.warning("bot log of a deleted project kept: storage unavailable")

    async def erase_events(self, project_id: str, span: TimeRange) -> int:
        """Delete the project's events in ``span`` (their days' figures are recomputed at
        the next rollup refresh); returns how many were deleted."""
        project = await self.get_project(project_id)
        return await self._events.erase(project.id, span)

    async def sweep_orphan_events(self) -> int:
        """Delete the events of projects that no longer exist; returns how many.

        Project ids are random and never reused, and an event is only accepted for an
        existing project: an id with events but no project is a deleted one."""
        removed = 0
        for project_id in await self._events.project_ids():
            if await self._tokens.get_project(project_id) is None:
                removed += await self._events.delete_project_events(project_id)
        return removed

    async def issue_token(
        self,
        project_id: str,
        *,
        revoke_others: bool = False,
        kind: TokenKind = TokenKind.BROWSER,
    ) -> IssuedToken:
        """A new token of ``kind`` for the project; with ``revoke_others``, the only live
        one of its kind (a server token's rotation leaves the pages' browser token be)."""
        project = await self.get_project(project_id)
        record, issued = await self._new_token(project.id, kind)
        # The project may be deleted between the look above and the write: the store
        # checks again as it writes, so the answer is "not found", never a dangling token.
        if not revoke_others:
            if not await self._tokens.add_token(record):
                raise NotFound(f"no project {project_id!r}")
            return issued
        # One transaction: never a moment with no live token, nor a half-done rotation.
        revoked = await self._tokens.rotate_token(record, self._clock.now())
        if revoked is None:
            raise NotFound(f"no project {project_id!r}")
        for token_id in revoked:
            self._privacy.tokens.forget(token_id)
        await self._reset_limits([f"token:{token_id}" for token_id in revoked])
        return issued

    async def list_tokens(self, project_id: str) -> list[TokenInfo]:
        project = await self.get_project(project_id)
        return [_info(record) for record in await self._tokens.list_tokens(project.id)]

    async def revoke_token(
        self, project_id: str, token_id: str, *, keep_last: bool = False
    ) -> TokenInfo:
        """Revoke the token; revoking it again changes nothing. With ``keep_last``, the
        project's last live token stays live (the answer then shows it live): checked and
        done in one step by the store, so two revokes at once cannot both pass the check."""
        record = await self._tokens.get_token(token_id)
        if record is None or record.project_id != project_id:
            raise NotFound(f"no token {token_id!r} in project {project_id!r}")
        if record.revoked_at is None:
            revoked = await self._tokens.revoke_token(
                token_id, self._clock.now(), keep_last=keep_last
            )
            if not revoked and keep_last:
                current = await self._tokens.get_token(token_id)
                if current is not None and current.revoked_at is None:
                    return _info(current)  # the last live one: kept, nothing to forget
        self._privacy.tokens.forget(token_id)
        await self._reset_limits([f"token:{token_id}"])
        updated = await self._tokens.get_token(token_id)
        return _info(updated or record)

    async def create_admin_key(self) -> str:
        """A new admin key; its text exists only in the return value."""
        credential = generate(ADMIN_KEY_PREFIX)
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
        return await self._privacy.admin_keys.check(text, ADMIN_KEY_PREFIX, self._load_admin_key)
