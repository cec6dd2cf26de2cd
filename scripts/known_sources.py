"""Derive ``src/privalytics/adapters/data/sources.json`` (the names of known sites) from
Matomo's search engine and social network list, which Matomo maintains and publishes under
CC0-1.0 (https://github.com/matomo-org/searchengine-and-social-list).

    git clone https://github.com/matomo-org/searchengine-and-social-list /tmp/matomo-list
    python scripts/known_sources.py /tmp/matomo-list [--commit REV]

The list is read from the git repository at REV (default HEAD), so the file records
exactly which commit it came from; the same commit gives the same file, byte for byte.
Needs PyYAML (installed with uvicorn[standard]) and publicsuffixlist.

What becomes of the list (and why):
- SearchEngines.yml, Socials.yml and AIAssistants.yml, in that order; a host named twice
  keeps its first name.
- A URL is a host: an entry with a path (``google.com/imgres``) names a page, not a site,
  and is left out (the host's own entry names it). A leading ``www.`` is dropped: the
  lookup walks every parent domain, so ``example.com`` names ``www.example.com`` and
  ``l.facebook.com`` alike.
- ``{}.example.com`` (a country subdomain) is ``example.com``, which names every subdomain.
  ``example.{}`` (any public suffix: ``google.de``, ``google.co.uk``) becomes the *stem*
  ``example``: a host whose part before its ICANN public suffix ends in it has that name.
  A ``{}`` elsewhere (``images.{}.ask.com``) is left out.
- An entry that is itself a public suffix (it would name every site under it) or lies under
  no known suffix (an Android app id such as ``com.reddit.frontpage``: kept referrers are
  http(s) URLs) is left out.
- Names are URL-decoded (``Google%2B`` is "Google+"), and ``RENAMES`` and ``ADDITIONS`` below
  are ours (MIT, as the rest of privalytics).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml
from publicsuffixlist import PublicSuffixList

UPSTREAM = "https://github.com/matomo-org/searchengine-and-social-list"
LICENCE = "CC0-1.0"
FILES = ("SearchEngines.yml", "Socials.yml", "AIAssistants.yml")
OUTPUT = Path(__file__).parent.parent / "src/privalytics/adapters/data/sources.json"
# Names as Plausible users read them.
RENAMES = {"reddit": "Reddit"}
# Sites that send many visitors and are neither search engines nor social networks (as
# Plausible's own custom list adds them).
ADDITIONS = {"wikipedia.org": "Wikipedia", "t.me": "Telegram", "lobste.rs": "Lobsters"}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 (git, on the clone the operator names)
        ["git", "--git-dir", str(_git_dir(repo)), *args],  # noqa: S607 (git on the PATH)
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def _git_dir(repo: Path) -> Path:
    return repo / ".git" if (repo / ".git").exists() else repo


def _urls(name: str, definition: Any) -> list[str]:
    """The URLs of one entry: a list of URLs, or (search engines) a list of
    configurations each with its ``urls``."""
    urls: list[str] = []
    for item in definition:
        urls.extend(item["urls"] if isinstance(item, dict) else [item])
    return [str(url) for url in urls]


class Builder:
    def __init__(self) -> None:
        self.psl = PublicSuffixList(accept_unknown=False)
        self.hosts: dict[str, str] = {}
        self.stems: dict[str, str] = {}
        self.left_out: dict[str, list[str]] = {
            "path": [],
            "placeholder": [],
            "public_suffix": [],
            "no_known_suffix": [],
            "named_twice": [],
        }

    def add(self, name: str, url: str) -> None:
        entry = url.strip().lower().removeprefix("www.")
        if "/" in entry:
            self.left_out["path"].append(url)
        elif entry.endswith(".{}") and "{}" not in entry[:-3]:
            self._keep(self.stems, entry[:-3], name, url)
        elif entry.startswith("{}.") and "{}" not in entry[3:]:
            self._add_host(entry[3:], name, url)
        elif "{}" in entry:
            self.left_out["placeholder"].append(url)
        else:
            self._add_host(entry, name, url)

    def _add_host(self, host: str, name: str, url: str) -> None:
        if self.psl.is_public(host):
            self.left_out["public_suffix"].append(url)
        elif self.psl.publicsuffix(host) is None:
            self.left_out["no_known_suffix"].append(url)
        else:
            self._keep(self.hosts, host, name, url)

    def _keep(self, table: dict[str, str], key: str, name: str, url: str) -> None:
        if table.setdefault(key, name) != name:
            self.left_out["named_twice"].append(f"{url} ({name}; kept {table[key]})")


def build(repo: Path, commit: str) -> dict[str, Any]:
    rev = _git(repo, "rev-parse", f"{commit}^{{commit}}").strip()
    builder = Builder()
    for file in FILES:
        listed = yaml.safe_load(_git(repo, "show", f"{rev}:{file}"))
        for raw_name, definition in listed.items():
            name = unquote(str(raw_name)).strip()
            name = RENAMES.get(name, name)
            for url in _urls(name, definition):
                builder.add(name, url)
    for host, name in ADDITIONS.items():
        builder._add_host(host, name, host)
    licence = _git(repo, "show", f"{rev}:LICENSE").splitlines()[0].strip()
    if licence != "CC0 1.0 Universal":
        sys.exit(f"the list's licence changed ({licence!r}): check it before shipping it")
    return {
        "provenance": {
            "list": "Matomo's search engine and social network list",
            "url": UPSTREAM,
            "commit": rev,
            "version": _git(repo, "describe", "--tags", rev).strip(),
            "date": _git(repo, "show", "-s", "--format=%cs", rev).strip(),
            "licence": LICENCE,
            "files": list(FILES),
            "generated_by": "scripts/known_sources.py",
            "renames": RENAMES,
            "additions": ADDITIONS,
            "left_out": {reason: sorted(urls) for reason, urls in builder.left_out.items()},
        },
        "hosts": dict(sorted(builder.hosts.items())),
        "stems": dict(sorted(builder.stems.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("repo", type=Path, help="a clone of the list (its work tree or git dir)")
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    data = build(args.repo, args.commit)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    args.output.write_text(text, encoding="utf-8")
    print(
        f"{args.output}: {len(data['hosts'])} hosts, {len(data['stems'])} stems from "
        f"{data['provenance']['version']} ({data['provenance']['commit'][:12]})"
    )


if __name__ == "__main__":
    main()
