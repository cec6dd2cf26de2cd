"""Where a visit came from: its *campaign* (the UTM tags of the page's URL) and its *source*
(the campaign's ``utm_source``, else the site its referrer names).

Both are read from what a sender gives, before the page's query is dropped
(:func:`~privalytics.domain.validation.reduce_path`) and after nothing else: they never
refuse an event. A tag that cannot be read cleanly is left out, the event is kept.

What a site is called (``www.google.de`` is "Google", ``a.b.example.co.uk`` is
``example.co.uk``) is a :class:`~privalytics.domain.ports.SourceNamer`'s answer: it needs
the public-suffix list and a list of known sites, which are data, not rules.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Final
from urllib.parse import unquote_plus

import msgspec

from privalytics.domain.errors import InvalidInput
from privalytics.domain.ports import SourceNamer
from privalytics.domain.sites import host_of
from privalytics.domain.validation import MAX_PATH, _text, reduce_referrer

# A campaign tag is a label chosen by a person ("spring_sale", "newsletter-2026-03"), not a
# text: 200 characters (as a project's name, MAX_NAME) hold any real one, and keep the value
# far below PostgreSQL's limit on an index row (at most 800 bytes in UTF-8) once it is a
# dimension that is grouped and filtered on. A longer value is cut, not dropped: its start
# is what tells campaigns apart.
MAX_CAMPAIGN_VALUE: Final = 200
UTM_KEYS: Final = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Plausible reads these as the source when utm_source is absent, in this order
# (utm_source, then source, then ref): ``?ref=Newsletter``.
SOURCE_ALIASES: Final = ("source", "ref")
# The only query keys ever read; every other part of the query is dropped unread.
READ_KEYS: Final = frozenset(UTM_KEYS + SOURCE_ALIASES)


class Campaign(msgspec.Struct, frozen=True, kw_only=True):
    """The UTM tags of a page's URL, each decoded, trimmed and capped; None when absent."""

    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None


class Source(msgspec.Struct, frozen=True, kw_only=True):
    """Where a visit came from. ``source``: the name shown ("Google", ``example.co.uk``,
    or the campaign's ``utm_source``); ``referrer``: the referrer URL as
    :func:`~privalytics.domain.validation.reduce_referrer` keeps it, for drill-down. Both
    None for a direct visit (shown as "Direct / None", a label that is never stored) and for
    internal navigation."""

    source: str | None = None
    referrer: str | None = None


NO_CAMPAIGN: Final = Campaign()
NO_SOURCE: Final = Source()


def campaign_of(page: str) -> Campaign:
    """The campaign of ``page`` as sent (an http(s) URL, or a path with ``?query#fragment``).

    Only :data:`READ_KEYS` are read, by exact name (``UTM_SOURCE`` is another key), keys and
    values decoded as a browser's form encoding is (``%xx`` as UTF-8, ``+`` as a space, a
    ``%`` not followed by two hex digits as itself: ``50%`` is ``50%``).
    Each key takes its first value that is clean, once trimmed, and not empty; a value that
    is not UTF-8, or holds control characters or lone surrogates, is left out as a path
    holding them is refused (:func:`~privalytics.domain.validation.reduce_path`); a value is
    cut at :data:`MAX_CAMPAIGN_VALUE` characters. ``utm_source`` falls back to ``source``,
    then ``ref``. The fragment is not read (``/#/page?utm_source=x`` has no campaign), as
    Plausible does. Never raises."""
    query = _query(page)
    if not query:
        return NO_CAMPAIGN
    found: dict[str, str] = {}
    for pair in query.split("&"):
        raw_key, _, raw_value = pair.partition("=")
        key = _decoded(raw_key)
        if key not in READ_KEYS or key in found:
            continue
        value = _clean_value(raw_value)
        if value is not None:
            found[key] = value
    if not found:
        return NO_CAMPAIGN
    source = found.get("utm_source") or found.get("source") or found.get("ref")
    return Campaign(
        utm_source=source,
        utm_medium=found.get("utm_medium"),
        utm_campaign=found.get("utm_campaign"),
        utm_term=found.get("utm_term"),
        utm_content=found.get("utm_content"),
    )


def _query(page: str) -> str:
    """The query of ``page``: after the first ``?`` that is not in the fragment, as
    :func:`urllib.parse.urlsplit` finds it (a scheme and host hold neither)."""
    return page.split("#", 1)[0].partition("?")[2]


def _decoded(raw: str) -> str | None:
    """``raw`` with its form encoding undone; None when its bytes are not UTF-8."""
    if "%" not in raw and "+" not in raw:
        return raw
    try:
        return unquote_plus(raw, errors="strict")
    except ValueError:  # UnicodeDecodeError: "%ff", a cut "%c3"
        return None


def _clean_value(raw: str) -> str | None:
    value = _decoded(raw)
    if value is None:
        return None
    try:
        # The rules a path is held to: bounded (no longer than a whole page may be), no
        # control characters, no lone surrogates.
        _text(value, "utm", MAX_PATH, None)
    except InvalidInput:
        return None
    value = value.strip()[:MAX_CAMPAIGN_VALUE].rstrip()
    return value or None


def source_of(
    referrer: str | None,
    campaign: Campaign,
    own_hosts: Collection[str],
    namer: SourceNamer,
    *,
    cleaned: bool = False,
) -> Source:
    """The source of a visit.

    ``campaign.utm_source`` (which :func:`campaign_of` fills from ``source`` and ``ref``)
    wins over the referrer's name; the referrer is still kept for drill-down. A referrer on
    one of ``own_hosts`` (hosts as :func:`site_host` writes them: :func:`own_hosts` gives
    them for a project) is internal navigation: no source and no referrer. Hosts are
    compared in any case, in Unicode or IDNA form, without a trailing dot, a leading
    ``www.``, the scheme or the port: ``http://WWW.Example.com:8080/`` is internal to
    ``https://example.com``. A subdomain is another site (``blog.example.com`` is a source
    of ``example.com``), as in Plausible. ``referrer``: as sent or as cleaned (cleaning it
    again changes nothing); one that is not an http(s) URL is no referrer. ``cleaned``:
    the referrer is :func:`~privalytics.domain.validation.reduce_referrer`'s answer
    already (the ingestion path), which is not worked out again. Never raises."""
    kept, host = _external_referrer(referrer, own_hosts, cleaned)
    if campaign.utm_source is not None:
        return Source(source=campaign.utm_source, referrer=kept)
    if kept is None:
        return NO_SOURCE
    return Source(source=namer.name(host) or None, referrer=kept)


def _external_referrer(
    referrer: str | None, own_hosts: Collection[str], cleaned: bool = False
) -> tuple[str | None, str]:
    """The referrer as kept and its host, or (None, "") when there is none to keep."""
    if referrer is None or not referrer[:8].lower().startswith(("http://", "https://")):
        return None, ""
    # Most referrers are the site's own pages: they are recognised from the text as sent,
    # without the cost of cleaning it (3 µs, on most events), which only an outside
    # referrer needs. The host is found as urlsplit finds it, and checked again once clean.
    sent_host = _url_host(referrer)
    if site_host(sent_host) in own_hosts:
        return None, ""
    if cleaned:
        return referrer, sent_host
    try:
        kept = reduce_referrer(referrer)
    except InvalidInput:
        return None, ""
    if kept is None:
        return None, ""
    host = _url_host(kept)
    if site_host(host) in own_hosts:
        return None, ""
    return kept, host


def canonical_host(host: str) -> str:
    """``host`` in one form per site: an IPv6 address without brackets, lowercase, without
    trailing dots, a Unicode name in its IDNA (ASCII) form, as origins are kept
    (:func:`~privalytics.domain.validation.clean_origin`). A name IDNA cannot encode (an
    empty or over-long label) is kept as it is, lowercase."""
    host = host.removeprefix("[").removesuffix("]").lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def site_host(host: str) -> str:
    """The host a site is known by: :func:`canonical_host` without a leading ``www.``."""
    return canonical_host(host).removeprefix("www.")


def own_hosts(allowed_origins: Iterable[str], page: str | None = None) -> frozenset[str]:
    """The project's own hosts, as :func:`source_of` compares them: those of its allowed
    origins (``scheme://host[:port]``), and the host of ``page`` when it is a full URL (a
    project that accepts any origin lists none)."""
    hosts = {site_host(host_of(origin)) for origin in allowed_origins}
    if page is not None and page[:8].lower().startswith(("http://", "https://")):
        hosts.add(site_host(_url_host(page)))
    return frozenset(hosts)


def _url_host(url: str) -> str:
    """The host of an http(s) URL as sent (``scheme://user@host:port/path?query#f``);
    text, never an error."""
    netloc = url.partition("//")[2]
    for end in "/?#":
        netloc = netloc.split(end, 1)[0]
    return _netloc_host(netloc)


def _netloc_host(netloc: str) -> str:
    """The host of ``user:password@host:port``: an IPv6 address without its brackets."""
    netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):
        return netloc[1:].partition("]")[0]
    return netloc.partition(":")[0]
