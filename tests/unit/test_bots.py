"""The bot classifier over a corpus of real agents: every crawler example of the
``crawler-user-agents`` package is flagged, no current browser is, and a reason is a short
label, never the agent."""

from __future__ import annotations

from pathlib import Path

import crawleruseragents
import pytest

from privalytics.adapters.bots import (
    OWN_PATTERNS,
    CrawlerListBotDetector,
    label,
    list_patterns,
    literal_runs,
)
from privalytics.domain.bots import EMPTY_AGENT, WEBDRIVER, bot_reason
from privalytics.testing import bot_detector

BROWSERS = Path(__file__).parents[1] / "data" / "browser_agents.txt"


def browser_agents() -> list[str]:
    lines = BROWSERS.read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def crawler_examples() -> list[str]:
    return [
        example
        for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA
        for example in entry.get("instances", ())
    ]


def test_the_corpus_holds_enough_of_both() -> None:
    assert len(browser_agents()) >= 40
    assert len(crawler_examples()) >= 1000


def test_every_crawler_example_of_the_list_is_flagged() -> None:
    detector = CrawlerListBotDetector()
    missed = [agent for agent in crawler_examples() if detector.classify(agent) is None]
    assert missed == []


def test_no_current_browser_is_flagged() -> None:
    detector = CrawlerListBotDetector()
    flagged = {agent: detector.classify(agent) for agent in browser_agents()}
    assert {agent: why for agent, why in flagged.items() if why is not None} == {}


def test_the_answers_are_the_same_from_the_cache() -> None:
    detector = CrawlerListBotDetector(cache_size=10)
    agents = crawler_examples()[:200] + browser_agents()
    first = [detector.classify(agent) for agent in agents]
    assert [detector.classify(agent) for agent in agents] == first
    assert [CrawlerListBotDetector().classify(agent) for agent in agents] == first


@pytest.mark.parametrize(
    ("agent", "reason"),
    [
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot"),
        ("curl/8.5.0", "curl"),
        ("python-requests/2.32.3", "python-requests"),
        ("python-httpx/0.28.1", "httpx"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/131.0.0.0 Safari/537.36",
            "HeadlessChrome",
        ),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Slackbot"),
        ("Twitterbot/1.0", "Twitterbot"),
        (
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "facebookexternalhit",
        ),
        ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "UptimeRobot"),
        ("Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", "Pingdom"),
        ("Mozilla/5.0 (compatible; StatusCake)", "StatusCake"),
        ("Better Uptime Bot Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Better Uptime Bot"),
        ("kube-probe/1.31", "kube-probe"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Selenium", "Selenium"),
        ("node", "node"),
    ],
)
def test_known_bots_are_named(agent: str, reason: str) -> None:
    assert bot_detector().classify(agent) == reason


def test_a_reason_is_a_label_of_the_list_never_text_of_the_agent() -> None:
    detector = bot_detector()
    labels = {name for name, _ in list_patterns()}
    canary = "Mozilla/5.0 (compatible; Googlebot/2.1; secret-canary-1234)"
    reason = detector.classify(canary)
    assert reason in labels
    assert "canary" not in (reason or "")


def test_every_label_is_short_readable_text() -> None:
    for name, source in list_patterns():
        assert 0 < len(name) <= 40, source
        assert name.isprintable(), source
        assert name == name.strip(), source


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        (r"Googlebot\/", "Googlebot"),
        (r"AdsBot-Google([^-]|$)", "AdsBot-Google"),
        (r"Mediapartners \(Googlebot\)", "Mediapartners (Googlebot)"),
        (r"[pP]ingdom", "Pingdom"),
        (r"[cC]laude[bB]ot", "Claudebot"),
        (r"S[eE][mM]rushBot", "SemrushBot"),
        (r"(^| )sentry\/", "sentry"),
        (r"^curl", "curl"),
        (r"BlogTraffic\/\d\.\d+ Feed-Fetcher", "BlogTraffic"),
    ],
)
def test_labels_read_the_pattern(pattern: str, name: str) -> None:
    assert label(pattern) == name


@pytest.mark.parametrize(
    ("pattern", "runs"),
    [
        (r"Googlebot\/", ["Googlebot/"]),
        (r"[wW]get", ["get"]),
        (r"Ahrefs(Bot|SiteAudit)", ["Ahrefs"]),
        (r"Feeds?Fetcher", ["Feed", "Fetcher"]),
        (r"ContextualBot[\s\S]*outcomes\.net", ["ContextualBot", "outcomes.net"]),
        (r"Chirp|gotosocial", None),
    ],
)
def test_literal_runs_are_the_text_every_match_holds(pattern: str, runs: list[str] | None) -> None:
    assert literal_runs(pattern) == runs


def test_own_markers_come_before_the_list() -> None:
    patterns = list_patterns()
    assert patterns[: len(OWN_PATTERNS)] == list(OWN_PATTERNS)
    assert len({source for _, source in patterns}) == len(patterns)


@pytest.mark.parametrize("agent", ["", "   ", "\t"])
def test_an_empty_agent_is_a_bot(agent: str) -> None:
    assert bot_reason(bot_detector(), agent, webdriver=False) == EMPTY_AGENT


def test_webdriver_flags_a_browser_agent_and_the_agent_s_own_word_comes_first() -> None:
    browser = browser_agents()[0]
    assert bot_reason(bot_detector(), browser, webdriver=False) is None
    assert bot_reason(bot_detector(), browser, webdriver=True) == WEBDRIVER
    headless = browser.replace("Chrome/", "HeadlessChrome/")
    assert bot_reason(bot_detector(), headless, webdriver=True) == "HeadlessChrome"


def test_without_a_detector_nothing_is_a_bot() -> None:
    assert bot_reason(None, "", webdriver=True) is None


def test_over_long_and_odd_agents_are_answered() -> None:
    detector = bot_detector()
    assert detector.classify("x" * 100_000) is None
    assert detector.classify("Googlebot/" + "x" * 100_000) == "Googlebot"
    assert detector.classify("Mozilla/5.0 \ud800 Gecko") is None
    assert detector.classify("Mozilla/5.0 ü Twitterbot/1.0") == "Twitterbot"
