"""SiteDirectory: a domain to the project listing it, and which origins may preflight."""

from __future__ import annotations

import pytest

from privalytics.domain.services import Services
from privalytics.domain.sites import SiteDirectory, host_of
from privalytics.testing import ManualClock


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://blog.example", "blog.example"),
        ("http://blog.example:8080", "blog.example"),
        ("http://[2001:db8::1]:8080", "[2001:db8::1]"),
        ("https://[::1]", "[::1]"),
    ],
)
def test_the_host_of_an_origin(origin: str, host: str) -> None:
    assert host_of(origin) == host


async def test_a_domain_finds_the_oldest_project_listing_it_and_changes_show_after_the_ttl(
    services: Services, clock: ManualClock
) -> None:
    tokens = services.admin._tokens  # type: ignore[attr-defined]
    sites = SiteDirectory(tokens, clock, ttl=30)
    first = await services.admin.create_project("a", allowed_origins=["https://a.example"])
    # Created a second later: "oldest" must not hang on the random ids' order.
    clock.advance(1)
    await services.admin.create_project("b", allowed_origins=["https://a.example:8443"])
    found = await sites.by_domain("A.example.")
    assert found is not None
    assert found.id == first.project.id
    assert await sites.by_domain("") is None
    assert await sites.by_domain("c.example") is None
    await services.admin.create_project("c", allowed_origins=["https://c.example"])
    assert await sites.by_domain("c.example") is None  # the list is remembered for the TTL
    clock.advance(31)
    assert await sites.by_domain("c.example") is not None


async def test_preflights_pass_for_listed_origins_or_when_a_project_takes_any(
    services: Services, clock: ManualClock
) -> None:
    tokens = services.admin._tokens  # type: ignore[attr-defined]
    await services.admin.create_project("a", allowed_origins=["https://a.example"])
    sites = SiteDirectory(tokens, clock, ttl=0)
    assert await sites.may_preflight("https://A.example:443")
    assert not await sites.may_preflight("https://b.example")
    assert not await sites.may_preflight("null")
    await services.admin.create_project("any")
    assert await sites.may_preflight("https://b.example")


async def test_a_domain_prefers_the_project_listing_the_requests_origin(
    services: Services, clock: ManualClock
) -> None:
    tokens = services.admin._tokens  # type: ignore[attr-defined]
    sites = SiteDirectory(tokens, clock, ttl=0)
    prod = await services.admin.create_project("prod", allowed_origins=["https://example.com"])
    clock.advance(1)
    staging = await services.admin.create_project(
        "staging", allowed_origins=["http://example.com:8080"]
    )
    from_staging = await sites.by_domain("example.com", "http://EXAMPLE.com:8080")
    assert from_staging is not None
    assert from_staging.id == staging.project.id
    for origin in ("https://example.com", None, "null", "https://elsewhere.example"):
        found = await sites.by_domain("example.com", origin)
        assert found is not None
        assert found.id == prod.project.id  # the oldest breaks the tie


async def test_a_leading_www_is_ignored_on_either_side_and_an_exact_host_wins(
    services: Services, clock: ManualClock
) -> None:
    tokens = services.admin._tokens  # type: ignore[attr-defined]
    sites = SiteDirectory(tokens, clock, ttl=0)
    www = await services.admin.create_project("www", allowed_origins=["https://www.a.example"])
    clock.advance(1)
    bare = await services.admin.create_project("bare", allowed_origins=["https://b.example"])
    for domain, project in [("a.example", www), ("www.b.example", bare), ("b.example", bare)]:
        found = await sites.by_domain(domain)
        assert found is not None
        assert found.id == project.project.id
    clock.advance(1)
    apex = await services.admin.create_project("apex", allowed_origins=["https://a.example"])
    found = await sites.by_domain("a.example")
    assert found is not None
    assert found.id == apex.project.id  # exact host before the older www. project
    assert await sites.by_domain("wwwa.example") is None
