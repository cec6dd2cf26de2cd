"""What ``privalytics.client`` offers is pinned: a package now, its names importable as
they always were from ``privalytics.client`` itself."""

from __future__ import annotations

import re
from pathlib import Path

import privalytics.client

ROOT = Path(__file__).resolve().parents[3]
IMPORT = re.compile(r"from privalytics\.client import (\([^)]*\)|[^\n]+)")


def test_the_public_names_are_pinned_and_each_one_resolves() -> None:
    assert sorted(privalytics.client.__all__) == [
        "AT_EXIT_TIMEOUT",
        "AsyncClient",
        "BATCH_PATH",
        "Client",
        "ClientOptions",
        "Counters",
        "Delivery",
        "MAX_BATCH",
        "RETRYABLE",
        "checked_event",
        "logger",
        "make_event",
        "retry_delay",
    ]
    for name in privalytics.client.__all__:
        assert getattr(privalytics.client, name) is not None


def test_every_name_the_docs_and_tests_import_is_public() -> None:
    sources = [ROOT / "README.md", *ROOT.joinpath("docs").glob("*.md")]
    sources += ROOT.joinpath("tests").rglob("*.py")
    sources += ROOT.joinpath("src").rglob("*.py")
    imported = {
        name.strip()
        for source in sources
        for names in IMPORT.findall(source.read_text(encoding="utf-8"))
        for name in names.strip("()").split(",")
        if name.strip()
    }
    assert imported  # the docs and the tests do import from privalytics.client
    assert imported <= set(privalytics.client.__all__)


def test_the_logger_keeps_the_name_the_docs_give_it() -> None:
    assert privalytics.client.logger.name == "privalytics.client"
