"""User agents read with ua-parser (uap-core's rules, as ``ua-parser-builtins`` ships them,
matched by the native ``ua-parser-rs``): the :class:`~privalytics.domain.ports.AgentParser`.

Fast on real traffic: the same few agents arrive again and again, so what was made of each
(an :class:`~privalytics.domain.devices.Agent`) is kept in ua-parser's own bounded cache
(S3-FIFO), keyed by a BLAKE2b digest of the agent: no user agent stays in memory after its
request, and a hit costs the digest and a look-up (~0.9 µs).

Names are ua-parser's ("Chrome", "Firefox", "Samsung Internet", "Mac OS X", "iOS"), with
the mobile builds of a browser counted as the browser, as Plausible counts them: "Mobile
Safari" is Safari, "Chrome Mobile iOS" is Chrome. Whether it was a phone is the device
class's answer (from the screen width), so a browser's row does not split in two.
"""

from __future__ import annotations

import hashlib
from typing import cast

from ua_parser import Domain, PartialResult, load_lazy_builtins
from ua_parser.caching import S3Fifo
from ua_parser.regex import Resolver as RegexResolver

from privalytics.domain.devices import UNKNOWN_AGENT, Agent
from privalytics.domain.validation import MAX_USER_AGENT

# Mobile builds counted as their browser (Plausible's ``browser_name`` does the same for
# UAInspector's names); web views inside apps are apps, not the browser they embed.
_SAME_BROWSER = {
    "Mobile Safari": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Opera Mobile": "Opera",
    "Opera Mini": "Opera",
    "Chrome Mobile WebView": "Mobile App",
    "Mobile Safari UI/WKWebView": "Mobile App",
}
# Versions of an in-app view are the embedded engine's, not the app's: none is shown.
_NO_VERSION = frozenset({"Mobile App"})

# Only what is shown is looked up: the device class comes from the screen width, and
# ua-parser's device rules are the slowest third of its work.
_DOMAINS = Domain.USER_AGENT | Domain.OS
# The longest name among uap-core's fixed names is 31 characters; a longer one is text a
# rule captured from the agent (e.g. an app's name before "CFNetwork"), not a name.
MAX_NAME = 40
MAX_VERSION = 16
DEFAULT_CACHE_SIZE = 2000  # as ua-parser's own default parser


class _DigestKeyedCache:
    """ua-parser's S3-FIFO cache, keyed by a digest of the agent and holding what was made
    of it (an :class:`Agent`, a few words), never the agent's text. A hit is a digest and a
    dictionary look-up: nothing of ua-parser's result is rebuilt."""

    def __init__(self, size: int) -> None:
        self._inner = S3Fifo(size)

    @staticmethod
    def key(user_agent: str) -> str:
        return hashlib.blake2b(user_agent.encode(), digest_size=16).hexdigest()

    def get(self, key: str) -> Agent | None:
        # S3Fifo is typed for ua-parser's results; it holds any value, here Agents.
        return cast("Agent | None", self._inner[key])

    def put(self, key: str, agent: Agent) -> None:
        self._inner[key] = cast("PartialResult", agent)


def _word(text: str | None, limit: int) -> str | None:
    """``text`` when it reads as a name or version: not empty, not "Other" (ua-parser's
    "no idea"), printable and at most ``limit`` characters."""
    if text is None:
        return None
    text = text.strip()
    if not text or text == "Other" or len(text) > limit or not text.isprintable():
        return None
    return text


def _agent(result: PartialResult) -> Agent:
    browser = os = browser_version = os_version = None
    if result.user_agent is not None:
        family = _word(result.user_agent.family, MAX_NAME)
        browser = _SAME_BROWSER.get(family, family) if family else None
        if browser is not None and browser not in _NO_VERSION:
            browser_version = _word(result.user_agent.major, MAX_VERSION)
    if result.os is not None:
        os = _word(result.os.family, MAX_NAME)
        major = _word(result.os.major, MAX_VERSION)
        minor = _word(result.os.minor, MAX_VERSION)
        if os is not None and major is not None:
            os_version = f"{major}.{minor}" if minor is not None else major
    if browser is None and os is None:
        return UNKNOWN_AGENT
    return Agent(browser=browser, browser_version=browser_version, os=os, os_version=os_version)


class UaParserAgentParser:
    """The :class:`~privalytics.domain.ports.AgentParser` on ua-parser; ``cache_size``
    agents' results are remembered. The matchers (about 0.15 s and 25 MB) are built on the
    first agent to read, or by :meth:`warm`: a command that reads no agent never pays for
    them (``privalytics export`` keeps its memory small), and the server warms them
    before it answers its first request."""

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._resolver: RegexResolver | None = None
        self._cache = _DigestKeyedCache(cache_size)

    def warm(self) -> None:
        """Build the matchers now."""
        if self._resolver is None:
            self._resolver = RegexResolver(load_lazy_builtins())

    def parse(self, user_agent: str) -> Agent:
        # Past the longest agent a sender may name, nothing is a browser's: bounding the
        # text bounds the matching's cost (64 kB of noise would take 30 ms).
        text = user_agent[:MAX_USER_AGENT]
        if not text.isascii():
            # Lone surrogates (a JSON "\ud800") are not UTF-8; the native matcher refuses
            # them, so they become "?" (no rule matches on them).
            text = text.encode("utf-8", "replace").decode("utf-8")
        if not text.strip():
            return UNKNOWN_AGENT
        key = self._cache.key(text)
        found = self._cache.get(key)
        if found is None:
            if self._resolver is None:
                self.warm()
            assert self._resolver is not None
            found = _agent(self._resolver(text, _DOMAINS))
            self._cache.put(key, found)
        return found
