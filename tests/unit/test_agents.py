"""Reading user agents with ua-parser: real agents of real browsers, bots and junk."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given

from privalytics.adapters.agents import MAX_NAME, MAX_VERSION, UaParserAgentParser
from privalytics.domain.devices import UNKNOWN_AGENT, Agent
from privalytics.domain.ports import AgentParser
from privalytics.domain.validation import MAX_USER_AGENT
from tests.strategies import agent_texts, spliced_agents

# Real user agents, as the browsers send them, with what is kept of each.
REAL: dict[str, tuple[str, Agent]] = {
    "Chrome on Windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        Agent(browser="Chrome", browser_version="120", os="Windows", os_version="10"),
    ),
    "Chrome on Windows 7": (
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/109.0.0.0 Safari/537.36",
        Agent(browser="Chrome", browser_version="109", os="Windows", os_version="7"),
    ),
    "Firefox on Windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        Agent(browser="Firefox", browser_version="121", os="Windows", os_version="10"),
    ),
    "Edge on Windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
        Agent(browser="Edge", browser_version="120", os="Windows", os_version="10"),
    ),
    "Internet Explorer 11 on Windows 8.1": (
        "Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko",
        Agent(browser="IE", browser_version="11", os="Windows", os_version="8.1"),
    ),
    "Opera on Windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
        Agent(browser="Opera", browser_version="106", os="Windows", os_version="10"),
    ),
    "Chrome on macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        Agent(browser="Chrome", browser_version="120", os="Mac OS X", os_version="10.15"),
    ),
    "Safari on macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.2 Safari/605.1.15",
        Agent(browser="Safari", browser_version="17", os="Mac OS X", os_version="10.15"),
    ),
    "Firefox on macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
        Agent(browser="Firefox", browser_version="121", os="Mac OS X", os_version="10.15"),
    ),
    "Chrome on Linux": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        Agent(browser="Chrome", browser_version="120", os="Linux", os_version=None),
    ),
    "Firefox on Ubuntu": (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        Agent(browser="Firefox", browser_version="121", os="Ubuntu", os_version=None),
    ),
    "Safari on an iPhone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        Agent(browser="Safari", browser_version="17", os="iOS", os_version="17.2"),
    ),
    "Safari on an iPad": (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1",
        Agent(browser="Safari", browser_version="16", os="iOS", os_version="16.6"),
    ),
    "Chrome on an iPhone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
        Agent(browser="Chrome", browser_version="120", os="iOS", os_version="17.2"),
    ),
    "Firefox on an iPhone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
        Agent(browser="Firefox", browser_version="121", os="iOS", os_version="17.2"),
    ),
    "Chrome on Android": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.6099.144 Mobile Safari/537.36",
        Agent(browser="Chrome", browser_version="120", os="Android", os_version="10"),
    ),
    "Firefox on Android": (
        "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
        Agent(browser="Firefox", browser_version="121", os="Android", os_version="14"),
    ),
    "Edge on Android": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115",
        Agent(browser="Edge", browser_version="120", os="Android", os_version="10"),
    ),
    "Samsung Internet": (
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        Agent(browser="Samsung Internet", browser_version="23", os="Android", os_version="13"),
    ),
    "an Android app's web view": (
        "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.193 Mobile Safari/537.36",
        Agent(browser="Mobile App", browser_version=None, os="Android", os_version="13"),
    ),
    "an iOS app's web view": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148",
        Agent(browser="Mobile App", browser_version=None, os="iOS", os_version="17.2"),
    ),
    "Chrome on ChromeOS": (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        Agent(browser="Chrome", browser_version="120", os="Chrome OS", os_version="14541.0"),
    ),
    # Bots are named as ua-parser names them; telling them apart is not this parser's job.
    "Googlebot": (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        Agent(browser="Googlebot", browser_version="2"),
    ),
    "Googlebot for smartphones": (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.6099.129 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        Agent(browser="Googlebot", browser_version="2", os="Android", os_version="6.0"),
    ),
    "Bingbot": (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        Agent(browser="bingbot", browser_version="2"),
    ),
    "curl": ("curl/8.5.0", Agent(browser="curl", browser_version="8")),
    "empty": ("", UNKNOWN_AGENT),
    "blank": ("   \t ", UNKNOWN_AGENT),
    "1 KB of garbage": ("q3#%xv.! " * 114, UNKNOWN_AGENT),
    "a lone surrogate": ("\ud800", UNKNOWN_AGENT),
    # A name a rule captures from the agent's own text is kept only while it reads as one.
    "an app's name before CFNetwork": (
        "Tusky/24.1 CFNetwork/1410.0.3 Darwin/22.6.0",
        Agent(browser="Tusky", browser_version="24", os="iOS", os_version="16"),
    ),
    "a captured name too long to be one": (
        "A" * (MAX_NAME + 1) + "/1.0 CFNetwork/1410.0.3 Darwin/22.6.0",
        Agent(os="iOS", os_version="16"),
    ),
    "a captured name that is not printable": (
        "Ab\x07cd/1.0 CFNetwork/1410.0.3 Darwin/22.6.0",
        Agent(os="iOS", os_version="16"),
    ),
}
REAL_AGENTS = tuple(agent for agent, _ in REAL.values() if len(agent) > 10)


@pytest.fixture(scope="module")
def parser() -> UaParserAgentParser:
    # Building the matchers takes a while: one parser for the module, shared like the
    # process's one.
    return UaParserAgentParser()


def test_the_adapter_is_an_agent_parser() -> None:
    parser: AgentParser = UaParserAgentParser(cache_size=1)
    assert parser.parse("curl/8.5.0") == Agent(browser="curl", browser_version="8")


@pytest.mark.parametrize(("agent", "expected"), REAL.values(), ids=REAL.keys())
def test_a_real_agent_gives_its_browser_and_os(
    parser: UaParserAgentParser, agent: str, expected: Agent
) -> None:
    assert parser.parse(agent) == expected
    # Again, from the cache.
    assert parser.parse(agent) == expected


def test_a_mobile_build_counts_as_its_browser(parser: UaParserAgentParser) -> None:
    browsers = {
        name.split(" on ")[0]: parser.parse(agent).browser for name, (agent, _) in REAL.items()
    }
    assert browsers["Safari"] == "Safari"
    assert {parser.parse(REAL[name][0]).browser for name in REAL if name.startswith("Chrome")} == {
        "Chrome"
    }
    assert {parser.parse(REAL[name][0]).browser for name in REAL if name.startswith("Firefox")} == {
        "Firefox"
    }


def test_text_past_the_longest_agent_accepted_is_not_read(parser: UaParserAgentParser) -> None:
    agent, expected = REAL["Firefox on Windows"]
    assert parser.parse("x" * (MAX_USER_AGENT - len(agent)) + agent) == expected
    # The browser's token starts right at the limit: only the OS before it is read.
    cut = "x" * (MAX_USER_AGENT - agent.index("Firefox/")) + agent
    assert parser.parse(cut) == Agent(os="Windows", os_version="10")
    huge = "(" * 65_536 + agent
    assert parser.parse(huge) == parser.parse(huge[:MAX_USER_AGENT]) == UNKNOWN_AGENT


def test_a_lone_surrogate_in_a_real_agent_does_not_hide_it(parser: UaParserAgentParser) -> None:
    agent, expected = REAL["Chrome on Android"]
    assert parser.parse(agent + " \ud800") == expected
    assert parser.parse(agent + " \x00") == expected


def test_results_survive_eviction_from_a_small_cache() -> None:
    small = UaParserAgentParser(cache_size=2)
    for _ in range(3):
        for agent, expected in REAL.values():
            assert small.parse(agent) == expected


def test_the_parser_keeps_no_reference_to_the_agent(parser: UaParserAgentParser) -> None:
    """Neither the cache's keys nor its results hold the agent's text (CPython counts
    references: a kept agent would count one more)."""
    agent = "".join(["Mozilla/5.0 (X11; Linux x86_64; rv:99.0) ", "Gecko/20100101 Firefox/99.0"])
    before = sys.getrefcount(agent)
    assert parser.parse(agent).browser == "Firefox"
    assert parser.parse(agent).browser == "Firefox"
    assert sys.getrefcount(agent) == before


def _bounded(agent: Agent) -> None:
    for name in (agent.browser, agent.os):
        assert name is None or (0 < len(name) <= MAX_NAME and name.isprintable())
    for version in (agent.browser_version, agent.os_version):
        # An OS version is a major and a minor, each bounded.
        assert version is None or (0 < len(version) <= 2 * MAX_VERSION + 1)
        assert version is None or version.isprintable()
    assert agent.browser is not None or agent.browser_version is None
    assert agent.os is not None or agent.os_version is None


@given(agent_texts)
def test_any_text_parses_without_raising_into_short_printable_words(
    parser: UaParserAgentParser, text: str
) -> None:
    agent = parser.parse(text)
    _bounded(agent)
    assert parser.parse(text) == agent


@given(spliced_agents(REAL_AGENTS))
def test_real_agents_with_any_text_spliced_in_parse_without_raising(
    parser: UaParserAgentParser, text: str
) -> None:
    agent = parser.parse(text)
    _bounded(agent)
    assert parser.parse(text) == agent
