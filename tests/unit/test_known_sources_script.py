"""scripts/known_sources.py: how Matomo's list becomes the shipped list of known sites, run
on a small git repository of the same shape."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "known_sources.py"
SEARCH_ENGINES = """
Google:
  -
    urls:
      - google.com
      - 'google.{}'
      - 'www.google.{}'
      - 'google.{}/imgres'
      - '{}.google.com'
    params:
      - q
Google News:
  -
    urls:
      - 'news.google.{}'
    params:
      - q
Ask:
  -
    urls:
      - 'images.{}.ask.com'
      - www.Ask.com
    params:
      - q
"""
SOCIALS = """
Google%2B:
  - plus.google.com
reddit:
  - reddit.com
  - com.reddit.frontpage
Blogger:
  - blogspot.com
Other:
  - google.com
"""
AI = """
Claude:
  - claude.ai
"""


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("known_sources", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def matomo_list(tmp_path: Path) -> Path:
    repo = tmp_path / "list"
    repo.mkdir()
    for name, text in [
        ("SearchEngines.yml", SEARCH_ENGINES),
        ("Socials.yml", SOCIALS),
        ("AIAssistants.yml", AI),
        ("LICENSE", "CC0 1.0 Universal\n\nStatement of Purpose\n"),
    ]:
        (repo / name).write_text(text, encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "list")
    _git(repo, "tag", "1.0.0")
    return repo


def test_the_list_becomes_hosts_and_stems_with_what_was_left_out_recorded(
    matomo_list: Path,
) -> None:
    data: dict[str, Any] = _load().build(matomo_list, "HEAD")
    additions = _load().ADDITIONS
    assert data["hosts"] == {
        "ask.com": "Ask",
        "claude.ai": "Claude",
        "google.com": "Google",
        "plus.google.com": "Google+",
        "reddit.com": "Reddit",
        **additions,
    }
    assert data["stems"] == {"google": "Google", "news.google": "Google News"}
    assert data["provenance"]["left_out"] == {
        "path": ["google.{}/imgres"],
        "placeholder": ["images.{}.ask.com"],
        "public_suffix": ["blogspot.com"],
        "no_known_suffix": ["com.reddit.frontpage"],
        "named_twice": ["google.com (Other; kept Google)"],
    }
    assert data["provenance"]["version"] == "1.0.0"
    assert data["provenance"]["licence"] == "CC0-1.0"


def test_the_same_commit_gives_the_same_file(matomo_list: Path, tmp_path: Path) -> None:
    script = _load()
    first = json.dumps(script.build(matomo_list, "HEAD"), indent=1)
    (matomo_list / "Socials.yml").write_text(SOCIALS + "\nNew:\n  - new.example.org\n")
    _git(matomo_list, "commit", "-q", "-am", "more")
    assert json.dumps(script.build(matomo_list, "HEAD~1"), indent=1) == first
    assert script.build(matomo_list, "HEAD")["hosts"]["new.example.org"] == "New"


def test_a_changed_licence_stops_the_script(matomo_list: Path) -> None:
    (matomo_list / "LICENSE").write_text("Some Other Licence\n")
    _git(matomo_list, "commit", "-q", "-am", "relicensed")
    with pytest.raises(SystemExit, match="licence changed"):
        _load().build(matomo_list, "HEAD")
