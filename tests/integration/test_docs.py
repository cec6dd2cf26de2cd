"""The code blocks of README.md and docs/*.md run as written, against a real server.

The convention, on each fence's info string (```LANG [MARKER] [FILE]):

- ```python: a complete script. It is run with this interpreter, in a temporary
  directory, with PRIVALYTICS_URL and PRIVALYTICS_TOKEN naming a real server and a real
  project token; it must exit 0. A word ending in ``.py`` names the file the script is
  saved as, so that a later transcript can run it (``python send_batch.py``).
- ```sh: commands. The blocks of one file run in order, in one temporary directory
  holding a ``.venv/bin`` (links to this environment's ``privalytics`` and ``python3``,
  so ``.venv/bin/privalytics`` works) beside the real server's SQLite database
  (``./privalytics.db``), with ``privalytics`` and ``python3`` on PATH, variables
  carried from block to block, under ``bash -e``. ``127.0.0.1:8001`` (README) names the
  real server's port. They must exit 0 and every HTTP request must be answered 2xx.
- a ```sh block whose first line starts with ``$ `` is a transcript: each ``$`` command
  is run with ``$B``, ``$TOKEN``, ``$ADMIN_KEY`` and ``$PROJECT_ID`` naming the real
  server, a fresh "My blog" project (two tokens) and an admin key, and the example ids of
  the page (http-api.md's "My blog", "Docs site" and their tokens) mapped to real ones.
  What the transcript shows is checked: the status, the header names, an error body
  exactly, a JSON body's keys, other output exactly.
- a marker says a block is not run:
  ``fragment`` (a piece of a larger program or session: it needs what the reader has),
  ``config`` (a file for another program: systemd, nginx),
  ``output`` (what a program prints, shown on its own),
  ``figure`` (a picture or a formula in text),
  ``manual`` (complete, but not for the suite: it runs forever, is the suite itself,
  installs from the network, needs another tool, or asks at a terminal).

A block of any other kind without a marker fails the suite: a new block cannot escape.
Besides the blocks, every example error body in http-api.md's tables and prose is
compared with what the server answers to that request, and configuration.md's settings
and the commands' flags named in the docs are compared with the code.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import httpx
import msgspec
import pytest

from privalytics.cli import main as cli_main
from privalytics.config import Settings
from tests.servers import BROWSER, Server, cli_json

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
HTTP_API = ROOT / "docs" / "http-api.md"
VENV = Path(sys.prefix)
MARKERS = {"fragment", "config", "output", "figure", "manual"}
RUNNABLE = {"python", "sh"}
README_PORT = "127.0.0.1:8001"
# http-api.md's cast: the example ids its transcripts use (from its "The examples
# assume" block and the projects it creates). Each maps to a real one made per block.
MY_BLOG_ID = "47ae45671ce28ada"
MY_BLOG_TOKEN_ID = "cdaa57b9feb5c9ad"
MY_BLOG_SECOND_TOKEN_ID = "511cec9fcdf75404"
DOCS_SITE_ID = "5162a60e02df9fca"
DOCS_SITE_TOKEN_ID = "3d66a79bcb22374c"
HEX16 = re.compile(r"\b[0-9a-f]{16}\b")
CREDENTIAL = re.compile(r"\b(pvt|pak)_(?:([0-9a-f]{16})_[0-9a-f]*…?[0-9a-f]*|…)")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    info: tuple[str, ...]
    text: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def language(self) -> str:
        return self.info[0] if self.info else ""

    @property
    def marker(self) -> str | None:
        found = [word for word in self.info[1:] if word in MARKERS]
        return found[0] if found else None

    @property
    def file_name(self) -> str | None:
        named = [word for word in self.info[1:] if word.endswith(".py")]
        return named[0] if named else None

    @property
    def is_transcript(self) -> bool:
        return self.language == "sh" and self.text.startswith("$ ")


def blocks_of(path: Path) -> list[Block]:
    found: list[Block] = []
    lines = path.read_text().splitlines()
    opening: tuple[int, str, tuple[str, ...]] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        fence = re.match(r"^\s*(`{3,})(.*)$", line)
        if opening is None:
            if fence:
                opening = (number, fence.group(1), tuple(fence.group(2).split()))
                body = []
        elif fence and fence.group(1) == opening[1] and not fence.group(2).strip():
            found.append(Block(path, opening[0], opening[2], "\n".join(body) + "\n"))
            opening = None
        else:
            body.append(line)
    assert opening is None, f"{path.name}:{opening[0]}: a code block is not closed"
    return found


ALL_BLOCKS = [block for path in DOCS for block in blocks_of(path)]


def test_every_block_is_runnable_or_marked() -> None:
    """A block the suite does not know how to run, and that is not marked, fails."""
    unknown = [
        f"{block.name} (```{' '.join(block.info)})"
        for block in ALL_BLOCKS
        if block.marker is None and block.language not in RUNNABLE
    ]
    assert not unknown, f"mark these blocks ({', '.join(sorted(MARKERS))}) or run them: {unknown}"
    bad = [
        block.name
        for block in ALL_BLOCKS
        for w in block.info[1:]
        if w not in MARKERS and not w.endswith(".py")
    ]
    assert not bad, f"unknown words on a fence: {bad}"


# --- the real server and the place the blocks run in ---------------------------------


@dataclass
class Place:
    home: Path
    server: Server
    admin_key: str
    env: dict[str, str]
    headers: Path
    database_url: str
    ran: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def statuses(self) -> list[int]:
        """Statuses of the HTTP requests made since the last call (from curl's header dumps)."""
        codes: list[int] = []
        for dump in sorted(self.headers.iterdir()):
            lines = [line for line in dump.read_text().splitlines() if line.startswith("HTTP/")]
            codes.append(int(lines[-1].split()[1]))
            dump.unlink()
        return codes


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    home = tmp_path_factory.mktemp("docs-home")
    # `.venv/bin/privalytics` as the README writes it: links to this environment's
    # commands only, so that no block can install into or rebuild the environment itself.
    (home / ".venv" / "bin").mkdir(parents=True)
    for command in ("privalytics", "python", "python3"):
        (home / ".venv" / "bin" / command).symlink_to(VENV / "bin" / command)
    real_curl = shutil.which("curl")
    assert real_curl is not None, "the docs' examples need curl on PATH"
    tools = home.parent / f"{home.name}-tools"
    tools.mkdir()
    headers = home.parent / f"{home.name}-headers"
    headers.mkdir()
    # curl as the docs call it, also dumping each answer's headers, so the test sees
    # every status whatever the command prints.
    wrapper = tools / "curl"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec {shlex.quote(real_curl)} --silent --show-error "
        f'--dump-header "{headers}/$(date +%s%N)-$$" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    database_url = f"sqlite+aiosqlite:///{home / 'privalytics.db'}"
    server = Server(
        database_url, home.parent / f"{home.name}-server.log", PRIVALYTICS_BCRYPT_ROUNDS="4"
    )
    try:
        server.wait_ready()
        admin_key = cli_json(database_url, "admin", "key", "create")["key"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVALYTICS_")}
        env["PATH"] = f"{tools}{os.pathsep}{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["PRIVALYTICS_BCRYPT_ROUNDS"] = "4"
        env.pop("VIRTUAL_ENV", None)
        yield Place(home, server, admin_key, env, headers, database_url)
    finally:
        server.stop()


# --- python blocks -------------------------------------------------------------------


def _project(place: Place, name: str, **fields: Any) -> tuple[str, str]:
    """A new project: its id and its first token."""
    created = httpx.post(
        f"{place.url}/api/v1/projects", json={"name": name, **fields}, headers=place.admin()
    )
    assert created.status_code == 201, created.text
    body = created.json()
    return body["project"]["id"], body["token"]


def _server_token(place: Place, project_id: str) -> str:
    issued = httpx.post(
        f"{place.url}/api/v1/projects/{project_id}/tokens",
        params={"kind": "server"},
        headers=place.admin(),
    )
    assert issued.status_code == 201, issued.text
    token: str = issued.json()["token"]
    return token


PYTHON_BLOCKS = [b for b in ALL_BLOCKS if b.language == "python" and b.marker is None]


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.name for b in PYTHON_BLOCKS])
def test_a_python_block_runs_as_a_script(place: Place, block: Block, tmp_path: Path) -> None:
    project_id, token = _project(place, "python block")
    if "visitor_ip" in block.text:
        # A backend naming its visitors holds a server token (http-api.md, Token kinds).
        token = _server_token(place, project_id)
    script = tmp_path / (block.file_name or "example.py")
    script.write_text(block.text)
    env = {**place.env, "PRIVALYTICS_URL": place.url, "PRIVALYTICS_TOKEN": token}
    done = subprocess.run(
        [sys.executable, script.name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{block.name}:\n{done.stdout}\n{done.stderr}"
    assert all(200 <= code < 300 for code in place.statuses())


# --- sh blocks: commands -------------------------------------------------------------


def _run_bash(
    place: Place, text: str, env: dict[str, str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run ``text`` under ``bash -e``; return the result and the variables it left."""
    state = cwd / ".docs-test-env"
    script = f"set -a\n{text}\nenv -0 > {shlex.quote(str(state))}\n"
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    after = dict(env)
    if state.exists():
        pairs = [item.split("=", 1) for item in state.read_text().split("\0") if "=" in item]
        after = dict(pairs)
        state.unlink()
    return done, after


SH_FILES = sorted(
    {b.path for b in ALL_BLOCKS if b.language == "sh" and b.marker is None and not b.is_transcript}
)


@pytest.mark.parametrize("path", SH_FILES, ids=[str(p.relative_to(ROOT)) for p in SH_FILES])
def test_the_sh_blocks_of_a_page_run_in_order(place: Place, path: Path) -> None:
    blocks = [
        b
        for b in blocks_of(path)
        if b.language == "sh" and b.marker is None and not b.is_transcript
    ]
    env = dict(place.env)
    place.statuses()
    for block in blocks:
        text = block.text.replace(README_PORT, place.url.removeprefix("http://"))
        done, env = _run_bash(place, text, env, place.home)
        assert done.returncode == 0, f"{block.name} failed:\n{done.stdout}\n{done.stderr}"
        codes = place.statuses()
        assert all(200 <= code < 300 for code in codes), f"{block.name}: statuses {codes}"
        place.ran.append(block.name)
    print("ran:", ", ".join(place.ran))


# --- sh transcripts ------------------------------------------------------------------


@dataclass
class Cast:
    """Doc ids and credentials -> real ones."""

    ids: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)  # doc credential id -> real one

    def learn(self, doc: Any, real: Any) -> None:
        """Map the ids in a documented JSON answer to those of the real one."""
        if isinstance(doc, dict) and isinstance(real, dict):
            for key in doc.keys() & real.keys():
                self.learn(doc[key], real[key])
        elif isinstance(doc, list) and isinstance(real, list):
            for one, other in zip(doc, real, strict=False):
                self.learn(one, other)
        elif isinstance(doc, str) and isinstance(real, str):
            credential = CREDENTIAL.fullmatch(doc)
            if credential and credential.group(2):
                self.credentials[credential.group(2)] = real
                self.ids[credential.group(2)] = real.split("_")[1]
            elif HEX16.fullmatch(doc) and HEX16.fullmatch(real):
                self.ids[doc] = real

    def apply(self, text: str, default_token: str) -> str:
        def credential(match: re.Match[str]) -> str:
            if match.group(2) is None:
                return default_token
            return self.credentials.get(match.group(2), match.group(0))

        text = CREDENTIAL.sub(credential, text)
        return HEX16.sub(lambda m: self.ids.get(m.group(0), m.group(0)), text)


def _commands(block: Block) -> list[tuple[str, str]]:
    """A transcript's commands, each with the output shown after it."""
    steps: list[tuple[str, list[str]]] = []
    lines = block.text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("$ "):
            command = [line[2:]]
            while True:
                joined = "\n".join(command)
                try:
                    shlex.split(joined)
                    complete = not joined.endswith("\\")
                except ValueError:
                    complete = False
                if complete:
                    break
                index += 1
                command.append(lines[index])
            steps.append(("\n".join(command), []))
        else:
            assert steps, f"{block.name}: a transcript starts with a command"
            steps[-1][1].append(line)
        index += 1
    return [(command, "\n".join(output).strip()) for command, output in steps]


def _http(output: str) -> tuple[int, set[str], str]:
    head, _, body = output.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    assert lines, f"no answer: {output[:200]!r}"
    assert lines[0].startswith("HTTP/"), f"not an HTTP answer: {output[:200]!r}"
    names = {line.split(":", 1)[0].lower() for line in lines[1:] if ":" in line}
    return int(lines[0].split()[1]), names, body.strip()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _check_step(cast: Cast, command: str, shown: str, real: str, where: str) -> None:
    if shown.startswith("HTTP/"):
        status, names, body = _http(shown)
        real_status, real_names, real_body = _http(real)
        assert real_status == status, (
            f"{where}: {command}\nshown {status}, got {real_status}: {real_body}"
        )
        missing = names - real_names - {"date", "server", "content-length"}
        assert not missing, f"{where}: headers shown but not sent: {missing}"
        documented = _json(body)
        answered = _json(real_body)
        if status >= 400:
            assert answered == _json(cast.apply(body, "")), (
                f"{where}: {command}\nshown {body}\nanswered {real_body}"
            )
        elif isinstance(documented, dict):
            assert isinstance(answered, dict), f"{where}: shown {body}, got {real_body}"
            assert documented.keys() == answered.keys(), f"{where}: shown {body}, got {real_body}"
            cast.learn(documented, answered)
        return
    documented = _json(shown)
    if documented is not None:
        answered = _json(real)
        assert type(answered) is type(documented), f"{where}: shown {shown}, got {real}"
        if isinstance(documented, dict):
            assert documented.keys() == answered.keys(), f"{where}: shown {shown}, got {real}"
        cast.learn(documented, answered)
    else:
        assert real.strip() == cast.apply(shown, ""), f"{where}: shown {shown!r}, got {real!r}"


TRANSCRIPTS = [b for b in ALL_BLOCKS if b.is_transcript and b.marker is None]


@pytest.mark.parametrize("block", TRANSCRIPTS, ids=[b.name for b in TRANSCRIPTS])
def test_a_transcript_shows_what_the_server_answers(place: Place, block: Block) -> None:
    """Each block on a fresh cast: "My blog" with two tokens, "Docs site" at 5/minute."""
    blog_id, token = _project(
        place, "My blog", rate_limit="1000/minute", allowed_origins=["https://blog.example"]
    )
    second = httpx.post(f"{place.url}/api/v1/projects/{blog_id}/tokens", headers=place.admin())
    assert second.status_code == 201
    docs_id, docs_token = _project(
        place, "Docs site", rate_limit="5/minute", allowed_origins=["https://docs.example"]
    )
    cast = Cast(
        ids={
            MY_BLOG_ID: blog_id,
            DOCS_SITE_ID: docs_id,
            MY_BLOG_SECOND_TOKEN_ID: second.json()["id"],
        },
        credentials={MY_BLOG_TOKEN_ID: token, DOCS_SITE_TOKEN_ID: docs_token},
    )
    cast.ids[MY_BLOG_TOKEN_ID] = token.split("_")[1]
    cast.ids[DOCS_SITE_TOKEN_ID] = docs_token.split("_")[1]
    for python in blocks_of(block.path):
        if python.language == "python" and python.file_name:
            (place.home / python.file_name).write_text(python.text)
    env = {
        **place.env,
        "B": place.url,
        "TOKEN": token,
        "ADMIN_KEY": place.admin_key,
        "PROJECT_ID": blog_id,
        "PRIVALYTICS_URL": place.url,
    }
    if "$SERVER_TOKEN" in block.text:
        env["SERVER_TOKEN"] = _server_token(place, blog_id)
    place.statuses()
    for number, (command, shown) in enumerate(_commands(block), start=1):
        where = f"{block.name} command {number}"
        done, _ = _run_bash(place, cast.apply(command, token), env, place.home)
        assert done.returncode == 0, f"{where}: {command}\n{done.stderr}"
        _check_step(cast, command, shown, done.stdout, where)
    place.statuses()


# --- the example error bodies of http-api.md -----------------------------------------

ERROR_BODY = re.compile(r'(`+) ?(\{"error":.*?\}) ?\1')


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def _spans(cell: str) -> list[str]:
    return [match.group(2) for match in re.finditer(r"(`+) ?(.*?) ?\1", cell)]


@dataclass
class Requests:
    """The requests that make each example error, on a fresh project of their own."""

    place: Place
    project_id: str = ""
    token: str = ""

    def __post_init__(self) -> None:
        self.project_id, self.token = _project(self.place, "errors")

    def event(self, body: Any, *, browser: bool = False, **headers: str) -> httpx.Response:
        """POST ``body``; one that names its visitor goes with a server token, the kind
        that may, unless ``browser``."""
        token = self.token
        if not browser and isinstance(body, dict) and {"visitor_ip", "user_agent"} & set(body):
            token = _server_token(self.place, self.project_id)
        return httpx.post(
            f"{self.place.url}/api/v1/events",
            content=body if isinstance(body, bytes) else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", **BROWSER, **headers},
        )

    def admin_get(self, path: str) -> httpx.Response:
        path = path.replace("$PROJECT_ID", self.project_id)
        return httpx.get(f"{self.place.url}{path}", headers=self.place.admin())

    def revoked_token(self) -> httpx.Response:
        issued = httpx.post(
            f"{self.place.url}/api/v1/projects/{self.project_id}/tokens", headers=self.place.admin()
        ).json()
        httpx.delete(
            f"{self.place.url}/api/v1/projects/{self.project_id}/tokens/{issued['id']}",
            headers=self.place.admin(),
        )
        return httpx.post(
            f"{self.place.url}/api/v1/events",
            json={"action": "visit", "path": "/"},
            headers={"Authorization": f"Bearer {issued['token']}"},
        )

    def over_the_limit(self) -> httpx.Response:
        _, token = _project(self.place, "limited", rate_limit="5/minute")
        events = {"events": [{"action": "visit", "path": "/"}] * 5}
        # A browser's agent: a bot's events would be turned away before the limit.
        headers = {"Authorization": f"Bearer {token}", **BROWSER}
        first = httpx.post(f"{self.place.url}/api/v1/events/batch", json=events, headers=headers)
        assert first.status_code == 202
        return httpx.post(
            f"{self.place.url}/api/v1/events",
            json={"action": "visit", "path": "/"},
            headers=headers,
        )

    def database_locked(self) -> httpx.Response:
        """The server's SQLite file held by another writer past its busy timeout."""
        holder = sqlite3.connect(self.place.home / "privalytics.db", timeout=30)
        try:
            holder.execute("BEGIN IMMEDIATE")
            return httpx.post(
                f"{self.place.url}/api/v1/events",
                json={"action": "visit", "path": "/"},
                headers={"Authorization": f"Bearer {self.token}", **BROWSER},
                timeout=30,
            )
        finally:
            holder.rollback()
            holder.close()

    def create_project(self, **fields: Any) -> httpx.Response:
        return httpx.post(
            f"{self.place.url}/api/v1/projects",
            json={"name": "x", **fields},
            headers=self.place.admin(),
        )

    # The "Errors" table, by its `error` column.
    def by_code(self, code: str) -> httpx.Response:
        visit = {"action": "visit", "path": "/"}
        made = {
            "invalid_json": lambda: self.event(b""),
            "invalid_input": lambda: self.event({"action": "nope", "path": "/"}),
            "unauthenticated": self.revoked_token,
            "origin_not_allowed": lambda: self._origin(),
            "server_token_required": lambda: self.event(
                {"action": "visit", "path": "/", "visitor_ip": "192.0.2.7"}, browser=True
            ),
            "not_found": lambda: self.admin_get("/api/v1/projects/nope"),
            "method_not_allowed": lambda: httpx.put(f"{self.place.url}/api/v1/events"),
            "body_too_large": lambda: self.event(b"{" + b" " * 70_000 + b"}"),
            "rate_limited": self.over_the_limit,
            "unavailable": self.database_locked,
        }
        assert code in made, f"http-api.md's Errors table has {code!r}: add its request here"
        del visit
        return made[code]()

    def _origin(self) -> httpx.Response:
        project_id, token = _project(
            self.place, "origins", allowed_origins=["https://blog.example"]
        )
        del project_id
        return httpx.post(
            f"{self.place.url}/api/v1/events",
            content=json.dumps({"token": token, "action": "visit", "path": "/"}),
            headers={"Content-Type": "text/plain", "Origin": "https://elsewhere.example"},
        )

    # "More real 400 and 401 bodies", by its Request column.
    def by_request(self, cell: str) -> httpx.Response:
        spans = _spans(cell)
        visit: dict[str, Any] = {"action": "visit", "path": "/"}
        if spans and spans[0].startswith("?"):  # the stats table's parameters
            return self.admin_get(f"/api/v1/projects/$PROJECT_ID/stats{spans[0]}")
        if spans and spans[0].startswith("/api/"):
            return self.admin_get(spans[0])
        if len(spans) == 1 and spans[0] == cell.strip("`").strip():
            parsed = _json(spans[0])
            if isinstance(parsed, dict):
                return self.event(parsed)
            fields = _json("{" + spans[0] + "}")
            if isinstance(fields, dict):
                return self.event({**visit, **fields})
        described = {
            "31 props": lambda: self.event({**visit, "props": {f"k{i}": "v" for i in range(31)}}),
            "a 3000-character path": lambda: self.event({**visit, "path": "/" + "a" * 2999}),
            'a batch whose event 1 has `"value": "x"`': lambda: httpx.post(
                f"{self.place.url}/api/v1/events/batch",
                json={"events": [visit, {**visit, "action": "click", "value": "x"}]},
                headers={"Authorization": f"Bearer {self.token}"},
            ),
            "no token (ingestion)": lambda: httpx.post(
                f"{self.place.url}/api/v1/events", json=visit
            ),
            "no key (admin)": lambda: httpx.get(f"{self.place.url}/api/v1/projects"),
            "`Authorization: Bearer pvt_nope`": lambda: self.event(
                visit, Authorization="Bearer pvt_nope"
            ),
        }
        assert cell in described, f"no request known for http-api.md's {cell!r}: add it here"
        return described[cell]()

    # Prose, by the body's field.
    def by_field(self, body: dict[str, Any]) -> httpx.Response:
        value = re.match(r"\w+: '([^']*)'", body["message"])
        assert value is not None, f"no request known for {body}: add it here"
        made = {
            "rate_limit": lambda: self.create_project(rate_limit=value.group(1)),
            "allowed_origins": lambda: self.create_project(allowed_origins=[value.group(1)]),
        }
        assert body.get("field") in made, f"no request known for {body}: add it here"
        return made[body["field"]]()


def _outside_code_blocks(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(r"^\s*```", line):
            inside = not inside
        elif not inside:
            lines.append((number, line))
    return lines


# A 500 is a bug: no request is meant to make one, so its example cannot be checked.
UNCHECKABLE = {"internal_error"}


def test_every_example_error_body_in_http_api_md_is_the_servers_answer(place: Place) -> None:
    requests = Requests(place)
    checked: list[str] = []
    for number, line in _outside_code_blocks(HTTP_API.read_text()):
        for match in ERROR_BODY.finditer(line):
            documented = json.loads(match.group(2).replace("\\|", "|"))
            if documented["error"] in UNCHECKABLE:
                continue
            cells = _cells(line) if line.lstrip().startswith("|") else []
            if cells and re.fullmatch(r"\d{3}", cells[0]):
                response = requests.by_code(cells[1].strip("`"))
                assert response.status_code == int(cells[0]), f"line {number}: {response.text}"
            elif cells:
                response = requests.by_request(cells[0])
            else:
                response = requests.by_field(documented)
            assert response.json() == documented, (
                f"http-api.md:{number}: shown {match.group(2)}\nanswered {response.text}"
            )
            checked.append(f"{number}: {documented['message']}")
    assert len(checked) >= 30, checked
    print("checked:", *checked, sep="\n  ")


# --- settings and flags --------------------------------------------------------------

CONFIGURATION = ROOT / "docs" / "configuration.md"


def _settings_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in CONFIGURATION.read_text().splitlines():
        cells = _cells(line) if line.startswith("| `PRIVALYTICS_") else []
        if cells:
            rows[cells[0].strip("`")] = cells
    return rows


def test_every_setting_is_documented_with_its_real_default_and_flag() -> None:
    rows = _settings_rows()
    serve = cli_main.commands["serve"]
    assert isinstance(serve, click.Command)
    serve_flags = {opt for param in serve.params for opt in param.opts}
    main_flags = {opt for param in cli_main.params for opt in param.opts}
    names = {f"PRIVALYTICS_{name.upper()}" for name in Settings.__struct_fields__}
    assert set(rows) == names, "configuration.md's settings differ from config.Settings"
    for name, default in msgspec.structs.asdict(Settings()).items():
        variable, flag, documented = rows[f"PRIVALYTICS_{name.upper()}"][:3]
        assert _spans(documented)[:1] == [str(default) if default != "" else '""'], (
            f"{variable}: documented default {documented!r}, real {default!r}"
        )
        for given in re.findall(r"--[a-z-]+", flag):
            where = main_flags if "before the command" in flag else serve_flags
            assert given in where, f"{variable}: {given} is not a flag of the command"


def _command(words: list[str]) -> tuple[click.Command, list[str]]:
    """The command ``words`` name, and the words left."""
    command: click.Command = cli_main
    while words and isinstance(command, click.Group) and words[0] in command.commands:
        command = command.commands[words[0]]
        words = words[1:]
    return command, words


def test_every_command_and_flag_the_docs_name_exists() -> None:
    """Every `privalytics ...` the docs write, in text or in a block, names a real
    command, and each of its flags is one of that command's."""
    global_flags = {opt for param in cli_main.params for opt in param.opts}
    seen = 0
    for path in DOCS:
        text = path.read_text()
        for found in re.finditer(r"(?<![\w/.-])privalytics((?: [^`\n|$#]*)?)", text):
            words = [w for w in found.group(1).replace("\\", " ").split() if w != "/"]
            # --database-url goes before the command
            while words and words[0] in global_flags:
                words = words[2:]
            if not words or words[0] not in cli_main.commands:
                continue
            command, rest = _command(words)
            flags = {opt for param in command.params for opt in param.opts} | {"--help"}
            for word in rest:
                flag = word.split("=")[0].strip("[]")
                if flag.startswith("--"):
                    assert flag in flags, f"{path.name}: {found.group(0)!r}: {flag} is not a flag"
            seen += 1
    assert seen >= 20


def test_the_admin_key_revocation_http_api_md_names_revokes_a_key(place: Place) -> None:
    """The "Revoke it" row's admin-key cell names the command, and that command works."""
    (row,) = [
        line for line in HTTP_API.read_text().splitlines() if line.startswith("| Revoke it |")
    ]
    commands = [span for span in _spans(_cells(row)[2]) if span.startswith("privalytics admin")]
    assert commands, f"http-api.md names no way to revoke an admin key: {row}"
    key = cli_json(place.database_url, "admin", "key", "create")["key"]
    for command in commands:
        words = shlex.split(command.replace("KEY_ID", key.split("_")[1]))
        done = subprocess.run(
            words, cwd=place.home, env=place.env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{command}: {done.stderr}"
    refused = httpx.get(f"{place.url}/api/v1/projects", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401
