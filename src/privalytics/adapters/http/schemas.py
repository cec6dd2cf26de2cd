"""Wire schemas: the JSON the HTTP API reads and writes, separate from the domain models.
The bodies it writes about projects, tokens and numbers are shared with the command line's
``--json`` and live in :mod:`privalytics.adapters.wire`.

Ingestion bodies ignore unknown fields, so that trackers written for a newer server keep
working against an older one (forward compatibility); a misspelt optional field is
therefore silently dropped. Admin bodies forbid unknown fields: an operator's typo
(``allowed_origin``) must not be mistaken for "leave unchanged".

Only the JSON shapes are checked here (types, required fields, RFC 3339 timestamps with an
offset). Lengths, ranges and formats are the domain's rules
(:mod:`privalytics.domain.validation`), so every adapter refuses the same inputs with the
same messages, and an over-long path names its event and field like any other mistake.
The published schema states those rules too (:mod:`.constraints`), without enforcing them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from privalytics.adapters.http.constraints import (
    EVENTS,
    FUNNEL_STEPS,
    ORIGINS,
    EventName,
    FunnelName,
    GoalDepth,
    GoalEvent,
    GoalName,
    GoalPage,
    Name,
    Origin,
    Path,
    Props,
    RateLimitText,
    Referrer,
    ScreenWidth,
    Target,
    UserAgent,
    VisitorIp,
)
from privalytics.domain.custom import revenue_amount
from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, IncomingEvent

Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]

# ---- ingestion -------------------------------------------------------------------------


class RevenueIn(msgspec.Struct, frozen=True, kw_only=True):
    """A custom event's revenue: an amount (a number, or a decimal as text) and an ISO
    4217 currency code."""

    amount: float | str
    currency: str


class EventIn(msgspec.Struct, frozen=True, kw_only=True):
    """One event as a tracker or a server-side sender writes it: a built-in ``action``,
    or a custom event's ``name`` (never both)."""

    action: Action | None = None
    name: EventName | None = None
    path: Path
    referrer: Referrer | None = None
    target: Target | None = None
    value: float | None = None
    timestamp: Timestamp | None = None
    props: Props = msgspec.field(default_factory=dict)
    revenue: RevenueIn | None = None
    visitor_ip: VisitorIp | None = None
    user_agent: UserAgent | None = None
    # CSS pixels (a tracker's ``screen.width``): the device class; never stored.
    screen_width: ScreenWidth | None = None
    # The tracker's ``navigator.webdriver``: true (or 1) for a browser driven by
    # automation, whose events the bot filter turns away.
    wd: bool | int | None = None

    def to_incoming(self, index: int | None = None) -> IncomingEvent:
        if (self.action is None) == (self.name is None):
            raise InvalidInput(
                "an event has either an action or a (custom event) name, not both"
                if self.name is not None
                else "an event needs an action or a (custom event) name",
                field="action",
                index=index,
            )
        value, currency = self.value, None
        if self.revenue is not None:
            if value is not None:
                raise InvalidInput(
                    "a custom event's value is its revenue's amount: give one of them",
                    field="value",
                    index=index,
                )
            value = revenue_amount(self.revenue.amount, index)
            currency = self.revenue.currency
        return IncomingEvent(
            action=Action.CUSTOM if self.action is None else self.action,
            name=self.name,
            path=self.path,
            referrer=self.referrer,
            target=self.target,
            value=value,
            currency=currency,
            timestamp=self.timestamp,
            props=self.props,
            visitor_ip=self.visitor_ip,
            user_agent=self.user_agent,
            screen_width=self.screen_width,
            webdriver=bool(self.wd),
        )


class SingleEventIn(EventIn, frozen=True, kw_only=True):
    """The body of ``POST /api/v1/events``; ``token`` serves ``navigator.sendBeacon``."""

    token: str | None = None


class BatchIn(msgspec.Struct, frozen=True, kw_only=True):
    """The body of ``POST /api/v1/events/batch``."""

    events: Annotated[list[EventIn], msgspec.Meta(extra_json_schema=EVENTS)]
    token: str | None = None


class AcceptedOut(msgspec.Struct, frozen=True, kw_only=True):
    accepted: int


# ---- errors and health -----------------------------------------------------------------


class ErrorOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    error: str
    message: str
    field: str | None = None
    index: int | None = None


class HealthOut(msgspec.Struct, frozen=True, kw_only=True):
    status: str


# ---- admin -----------------------------------------------------------------------------


class ProjectCreateIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    # "1000/minute"; units: second, minute, hour, day. Default: 1000/minute.
    rate_limit: RateLimitText | None = None
    # Origins allowed to send browser events (scheme://host[:port]); empty means any.
    allowed_origins: Annotated[list[Origin], msgspec.Meta(extra_json_schema=ORIGINS)] = (
        msgspec.field(default_factory=list)
    )


class ProjectPatchIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Fields to change; an absent or null field is left as it is."""

    name: Name | None = None
    rate_limit: RateLimitText | None = None
    allowed_origins: Annotated[list[Origin], msgspec.Meta(extra_json_schema=ORIGINS)] | None = None


class GoalCreateIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new goal: ``page`` (a path pattern: ``*`` any characters but ``/``, ``**`` any
    characters) for a page goal, with ``depth`` (1 to 100) for a scroll goal; or ``event``
    (a custom event's name) for an event goal. ``name``: how it is shown and filtered on
    (``filter=goal==NAME``), unique in the project; derived from the definition when
    absent (``Visit /pricing``, ``Signup``, ``Scroll 75% on /blog/**``)."""

    # The limits are the domain's (privalytics.domain.goals), with its messages: the
    # schema states them without enforcing them.
    page: GoalPage | None = None
    event: GoalEvent | None = None
    depth: GoalDepth | None = None
    name: GoalName | None = None


class FunnelStepIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A funnel step: ``page`` (a path pattern, as a page goal's) or ``event`` (a custom
    event's name), exactly one."""

    page: GoalPage | None = None
    event: GoalEvent | None = None


class FunnelCreateIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new funnel: 2 to 8 ordered ``steps``; ``name`` unique in the project, derived
    from the steps when absent (``/pricing → event:Signup``)."""

    # The limits are the domain's (privalytics.domain.funnels), with its messages.
    steps: Annotated[list[FunnelStepIn], msgspec.Meta(extra_json_schema=FUNNEL_STEPS)]
    name: FunnelName | None = None
