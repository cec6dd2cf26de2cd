"""Bots told by their user agent: the :class:`~privalytics.domain.ports.BotDetector` over
the ``crawler-user-agents`` list (about 1,500 maintained patterns of crawlers, link
previews, uptime monitors and HTTP libraries), with a few markers of our own before it:
automation (headless browsers, WebDriver tools) and health checks the list lacks.

Each match is answered with a short label made from the pattern ("Googlebot" for
``Googlebot\\/``, "curl" for ``^curl``), never with text from the agent.

Fast without compiling one huge alternation: each pattern is filed under one three-
character piece of text that every match of it contains (a piece of its longest literal
run), so an agent is tried only against the patterns filed under the pieces it contains,
in the list's order; the few patterns without such a piece are tried on every agent.
Patterns are compiled the first time an agent needs them. Answers are kept in a bounded
cache (ua-parser's S3-FIFO, as :mod:`.agents` does) keyed by a BLAKE2b digest of the agent,
so no agent stays in memory after its request. Figures: docs/performance.md (``python -m
benchmarks.bots``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import cast

import crawleruseragents
from ua_parser import PartialResult
from ua_parser.caching import S3Fifo

from privalytics.domain.validation import MAX_USER_AGENT

DEFAULT_CACHE_SIZE = 2000
GRAM = 3
MAX_LABEL = 40

# Ours, tried before the list, as (label, pattern): automation first (a headless browser
# or a driven one says so in its agent), then health checks, tools and runtimes the list
# does not know. Case-sensitive, as the list's patterns are.
OWN_PATTERNS: tuple[tuple[str, str], ...] = (
    ("HeadlessChrome", "HeadlessChrome"),
    ("PhantomJS", "PhantomJS"),
    ("Selenium", "Selenium"),
    ("Puppeteer", "Puppeteer"),
    ("Playwright", "Playwright"),
    ("Cypress", "Cypress/"),
    ("jsdom", "jsdom"),
    ("SlimerJS", "SlimerJS"),
    ("HtmlUnit", "HtmlUnit"),
    ("kube-probe", "^kube-probe/"),
    ("ELB-HealthChecker", "^ELB-HealthChecker/"),
    ("Route 53 health check", "^Amazon-Route53-Health-Check-Service"),
    ("GoogleHC", "^GoogleHC/"),
    ("PostmanRuntime", "^PostmanRuntime/"),
    ("insomnia", "^insomnia/"),
    ("Java", "^Java/"),
    ("Dart", "^Dart/"),
    ("Deno", "^Deno/"),
    ("Bun", "^Bun/"),
    ("node", "^node$"),
    ("undici", "^undici"),
    ("Ruby", "^Ruby$"),
    ("GuzzleHttp", "GuzzleHttp/"),
    ("libcurl", "libcurl"),
    ("WindowsPowerShell", "WindowsPowerShell/"),
)

# Agents as real traffic brings them: a pattern is filed under the piece of its text
# that is rarest in them, so that browsers (nearly all traffic) try as few as can be.
_TYPICAL = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
)
_CLASS_ESCAPES = frozenset("dDsSwWbBAZz0123456789")


def _group_end(pattern: str, start: int) -> int:
    """The index of the ``)`` closing the group opened at ``start``."""
    depth = 0
    index = start
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index = _class_end(pattern, index)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return len(pattern)


def _class_end(pattern: str, start: int) -> int:
    """The index of the ``]`` closing the character class opened at ``start``."""
    index = start + 1
    if index < len(pattern) and pattern[index] == "^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index


def literal_runs(pattern: str) -> list[str] | None:
    """Runs of text every match of ``pattern`` contains, as written; None when the
    pattern is an alternation at its top level (no text is certain then)."""
    runs: list[str] = []
    run: list[str] = []

    def end() -> None:
        if run:
            runs.append("".join(run))
            run.clear()

    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            following = pattern[index + 1]
            if following in _CLASS_ESCAPES or following.isalpha():
                end()
            else:
                run.append(following)
            index += 2
            continue
        if char == "|":
            return None
        if char in "?*{":
            if run:  # the character before is optional: not certain
                run.pop()
            end()
            if char == "{":
                index = pattern.find("}", index) if "}" in pattern[index:] else len(pattern)
        elif char == "[":
            end()
            index = _class_end(pattern, index)
        elif char == "(":
            end()
            index = _group_end(pattern, index)
        elif char in ".^$+)":
            end()
        else:
            run.append(char)
        index += 1
    end()
    return runs


def label(pattern: str) -> str:
    """A short, readable name for what ``pattern`` matches: its text with escapes undone,
    a class read as its first character and a group as its first alternative, up to the
    first part that is no text ("Googlebot" for ``Googlebot\\/``)."""
    name = _readable(pattern).strip(" /;:-_,.")
    if name.count("(") > name.count(")"):
        name = name.rsplit("(", 1)[0] if name.endswith("(") else name + ")"
    elif name.count(")") > name.count("("):
        name = name.rstrip(")")
    return name[:MAX_LABEL].strip() or "crawler"


def _readable(pattern: str) -> str:
    text: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            following = pattern[index + 1]
            if following in _CLASS_ESCAPES or following.isalpha():
                break
            text.append(following)
            index += 2
            continue
        if char in "|.":
            break
        if char == "[":
            close = _class_end(pattern, index)
            inside = pattern[index + 1 : close]
            if not inside or inside[0] == "^" or "\\" in inside or "-" in inside:
                break
            text.append(_class_letter(inside, starts=not text or not text[-1][-1:].isalpha()))
            index = close + 1
            continue
        if char == "(":
            close = _group_end(pattern, index)
            inside = pattern[index + 1 : close].removeprefix("?:")
            first = inside.split("|", 1)[0]
            text.append(_readable(first))
            index = close + 1
            continue
        if char in "?*":
            if text:
                text.pop()
        elif char not in "^$+)":
            text.append(char)
        index += 1
    return "".join(text)


def _class_letter(inside: str, *, starts: bool) -> str:
    """A class's character in a label: for one letter in either case (``[pP]``), a capital
    where a word starts ("Pingdom"), else the small one; else the class's first."""
    first = inside[0]
    if inside.lower() != first.lower() * len(inside):
        return first
    return first.upper() if starts else first.lower()


def _pieces(text: str) -> set[str]:
    return {text[i : i + GRAM] for i in range(len(text) - GRAM + 1)}


class _Patterns:
    """Every pattern, its label, and the index from pieces of text to patterns."""

    def __init__(self, patterns: list[tuple[str, str]]) -> None:
        self.sources = [source for _, source in patterns]
        self.labels = [name for name, _ in patterns]
        self.compiled: list[re.Pattern[str] | None] = [None] * len(patterns)
        self.index: dict[str, list[int]] = {}
        self.everywhere: list[int] = []
        common: Counter[str] = Counter()
        for agent in _TYPICAL:
            common.update(_pieces(agent))
        filed: Counter[str] = Counter()
        for number, source in enumerate(self.sources):
            runs = literal_runs(source)
            pieces = [
                run[i : i + GRAM]
                for run in runs or ()
                if len(run) >= GRAM
                for i in range(len(run) - GRAM + 1)
            ]
            if not pieces:
                self.everywhere.append(number)
                continue
            piece = min(pieces, key=lambda p: (common[p], filed[p], p))
            filed[piece] += 1
            self.index.setdefault(piece, []).append(number)
        self.pieces = frozenset(self.index)

    def pattern(self, number: int) -> re.Pattern[str]:
        compiled = self.compiled[number]
        if compiled is None:
            compiled = self.compiled[number] = re.compile(self.sources[number])
        return compiled

    def first_match(self, text: str) -> str | None:
        index = self.index
        candidates = set(self.everywhere)
        # The pieces of the agent that file a pattern, found by one set operation.
        pieces = [text[i : i + GRAM] for i in range(len(text) - GRAM + 1)]
        for piece in self.pieces.intersection(pieces):
            candidates.update(index[piece])
        for number in sorted(candidates):
            if self.pattern(number).search(text) is not None:
                return self.labels[number]
        return None


def list_patterns() -> list[tuple[str, str]]:
    """Our patterns, then the list's (each once, in its order), as (label, pattern)."""
    seen: set[str] = set()
    patterns = []
    for name, source in OWN_PATTERNS:
        seen.add(source)
        patterns.append((name, source))
    for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA:
        source = entry["pattern"]
        if source not in seen:
            seen.add(source)
            patterns.append((label(source), source))
    return patterns


class CrawlerListBotDetector:
    """The :class:`~privalytics.domain.ports.BotDetector` over ``crawler-user-agents`` and
    :data:`OWN_PATTERNS`; ``cache_size`` agents' answers are remembered."""

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._patterns = _Patterns(list_patterns())
        self._cache = S3Fifo(cache_size)

    def classify(self, user_agent: str) -> str | None:
        # Past the longest agent a sender may name, nothing is looked at: bounding the
        # text bounds the cost.
        text = user_agent[:MAX_USER_AGENT]
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        # S3Fifo is typed for ua-parser's results; it holds any value, here labels ("" for
        # no bot).
        found = cast("str | None", self._cache[key])
        if found is None:
            found = self._patterns.first_match(text) or ""
            self._cache[key] = cast("PartialResult", found)
        return found or None
