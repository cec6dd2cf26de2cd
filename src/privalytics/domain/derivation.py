"""What an arriving event says about its visit, derived before the address and the agent
are dropped: the source and campaign, the browser and system, the device class, the
location. Every dimension of :mod:`privalytics.domain.dimensions` that is not the page is
one of these fields, stored with the event.

The lookups are ports (:class:`~privalytics.domain.ports.SourceNamer`,
:class:`~privalytics.domain.ports.AgentParser`,
:class:`~privalytics.domain.ports.GeoLocator`); their adapters answer from bounded
in-memory caches, since this runs for every event on the ingestion path.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import msgspec

from privalytics.domain.devices import device_of, device_of_agent
from privalytics.domain.models import Derived
from privalytics.domain.ports import AgentParser, GeoLocator, SourceNamer
from privalytics.domain.sources import campaign_of, own_hosts, source_of


@functools.lru_cache(maxsize=1024)
def _origin_hosts(allowed_origins: tuple[str, ...]) -> frozenset[str]:
    # Projects share few origin lists, and each is a tuple: computed once per list.
    return own_hosts(allowed_origins)


def _own_hosts(allowed_origins: Iterable[str], page: str) -> frozenset[str]:
    hosts = _origin_hosts(tuple(allowed_origins))
    if not page.startswith("/"):
        # A full URL: its own host is internal too (a project that lists no origins).
        page_hosts = own_hosts((), page)
        if not page_hosts <= hosts:
            return hosts | page_hosts
    return hosts


class Derivation:
    """Derive the stored fields of an arriving event."""

    def __init__(self, *, sources: SourceNamer, agents: AgentParser, places: GeoLocator) -> None:
        self._sources = sources
        self._agents = agents
        self._places = places

    def derive(
        self,
        *,
        page: str,
        referrer: str | None,
        screen_width: int | None,
        ip: str,
        user_agent: str,
        allowed_origins: Iterable[str],
        clean_referrer: bool = False,
    ) -> Derived:
        """The derived fields of an event on ``page`` (as sent: its query is read for the
        campaign before it is dropped) from ``referrer``, of a visitor at ``ip`` with
        ``user_agent``, for a project whose sites are ``allowed_origins``;
        ``clean_referrer``: ``referrer`` is as validation cleaned it already. Never raises
        on what a sender can put in these."""
        campaign = campaign_of(page)
        source = source_of(
            referrer,
            campaign,
            _own_hosts(allowed_origins, page),
            self._sources,
            cleaned=clean_referrer,
        )
        agent = self._agents.parse(user_agent)
        place = self._places.locate(ip)
        # No width (or 0, not measured): what the agent says plainly, if anything.
        device = device_of(screen_width) or device_of_agent(user_agent)
        return Derived(
            source=source.source,
            referrer=source.referrer,
            utm_source=campaign.utm_source,
            utm_medium=campaign.utm_medium,
            utm_campaign=campaign.utm_campaign,
            utm_term=campaign.utm_term,
            utm_content=campaign.utm_content,
            browser=agent.browser,
            browser_version=agent.browser_version,
            os=agent.os,
            os_version=agent.os_version,
            device=None if device is None else device.value,
            country=place.country,
            region=place.region,
            city=place.city,
        )

    def derive_known(
        self,
        *,
        page: str,
        referrer: str | None,
        known: Derived,
        allowed_origins: Iterable[str],
    ) -> Derived:
        """The derived fields of an imported event whose browser, system, device and
        place another tool derived already (``known``; a GoatCounter export keeps no
        address or agent): the source and campaign are derived here as for a live event
        (from ``referrer``, a URL, as validation cleaned it; else ``known.source``)."""
        campaign = campaign_of(page)
        source = source_of(
            referrer,
            campaign,
            _own_hosts(allowed_origins, page),
            self._sources,
            cleaned=True,
        )
        name = source.source
        if name is None and referrer is None and campaign.utm_source is None:
            name = known.source
        return msgspec.structs.replace(
            known,
            source=name,
            referrer=source.referrer,
            utm_source=campaign.utm_source,
            utm_medium=campaign.utm_medium,
            utm_campaign=campaign.utm_campaign,
            utm_term=campaign.utm_term,
            utm_content=campaign.utm_content,
        )
