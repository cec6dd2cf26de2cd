"""The dashboard's routes behind sign-in, under one guard: the read-only pages
(.reading), the forms that change things (.managing), and whatever the package adds
(the live view)."""

from __future__ import annotations

from typing import Any

from litestar import Router

from privalytics.adapters.http.dashboard.auth import public_handlers, signed_in, user_guard
from privalytics.adapters.http.dashboard.cohortviews import retention_handlers
from privalytics.adapters.http.dashboard.funnelviews import funnel_handlers
from privalytics.adapters.http.dashboard.managing import managing_handlers
from privalytics.adapters.http.dashboard.reading import FEED_SIZE, reading_handlers
from privalytics.adapters.http.dashboard.views import PageContext
from privalytics.domain.services import Services

# Sign-in lives in .auth, the pages and forms in .reading and .managing, PageContext in
# .views; these are re-exported for the package's assembly.
__all__ = [
    "FEED_SIZE",
    "PageContext",
    "private_handlers",
    "private_router",
    "public_handlers",
    "signed_in",
    "user_guard",
]


def private_handlers(services: Services, page: PageContext) -> list[Any]:
    """Every page and form that needs a signed-in user (the router's guard sees to it)."""
    return [
        *reading_handlers(services, page),
        *funnel_handlers(services, page),
        *managing_handlers(services, page),
        *retention_handlers(services, page),
    ]


def private_router(services: Services, page: PageContext, extra: list[Any]) -> Router:
    accounts = services.accounts
    if accounts is None:
        raise ValueError("the dashboard needs services with accounts (a user store)")
    return Router(
        path="/",
        route_handlers=[*private_handlers(services, page), *extra],
        before_request=user_guard(accounts),
        include_in_schema=False,
    )
