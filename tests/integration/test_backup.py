"""`privalytics backup FILE`: a consistent copy of the SQLite database while the server
stores events, which a server then runs on (the restore)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, cli, cli_json

pytestmark = pytest.mark.slow

AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 Version/18.1 Safari"


def _paths(database: Path) -> list[str]:
    """The page of every stored event, read from the file itself."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT t.text FROM events e JOIN texts t ON t.project = e.project AND t.id = e.path"
        ).fetchall()
    return [row[0] for row in rows]


def test_a_backup_under_load_holds_every_event_acknowledged_before_it_and_restores(
    tmp_path: Path,
) -> None:
    live = tmp_path / "live.db"
    url = f"sqlite+aiosqlite:///{live}"
    created = cli_json(url, "project", "create", "Backed up")
    key = cli_json(url, "admin", "key", "create")["key"]
    server = Server(url, tmp_path / "server.log")
    acknowledged: list[str] = []
    sent: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def send(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            index = 0
            while not stop.is_set():
                path = f"/w{worker}/{index}"
                index += 1
                with lock:
                    sent.append(path)
                response = client.post(
                    "/api/v1/events",
                    json={"action": "visit", "path": path},
                    headers={"Authorization": f"Bearer {created['token']}", "User-Agent": AGENT},
                )
                if response.status_code == 202:
                    with lock:
                        acknowledged.append(path)

    senders = [threading.Thread(target=send, args=(worker,)) for worker in range(4)]
    copy = tmp_path / "copy.db"
    try:
        server.wait_ready()
        for sender in senders:
            sender.start()
        time.sleep(1.0)
        with lock:
            before = set(acknowledged)
        done = cli(url, "backup", str(copy))
        time.sleep(0.5)  # events go on arriving after the copy
    finally:
        stop.set()
        for sender in senders:
            sender.join()
        server.stop()
    assert done.returncode == 0, done.stderr
    assert len(before) > 100
    held = _paths(copy)
    assert f"({len(held)} events)" in done.stdout
    assert before <= set(held), "an event acknowledged before the backup is missing"
    assert set(held) <= set(sent)
    assert len(held) == len(set(held))  # none twice
    assert len(acknowledged) > len(held), "the load went on after the copy"

    # Restore: a server on the copy answers with what it holds.
    restored = Server(f"sqlite+aiosqlite:///{copy}", tmp_path / "restored.log")
    try:
        restored.wait_ready()
        stats = httpx.get(
            f"{restored.url}/api/v1/projects/{created['project']['id']}/stats",
            params={"period": "24h"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
    finally:
        restored.stop()
    assert stats.status_code == 200, stats.text
    assert stats.json()["pageviews"] == len(held)


@pytest.mark.parametrize(
    ("database", "target", "expected"),
    [
        ("sqlite", "exists.db", "exists already"),
        ("sqlite", "missing/copy.db", "does not exist"),
        ("sqlite", "live.db", "must not be the database itself"),
        ("none", "copy.db", "there is no database file"),
        ("postgres", "copy.db", "pg_dump"),
        ("memory", "copy.db", "nothing to back up"),
    ],
)
def test_what_cannot_be_backed_up_is_one_clear_message(
    tmp_path: Path, database: str, target: str, expected: str
) -> None:
    live = tmp_path / "live.db"
    url = {
        "sqlite": f"sqlite+aiosqlite:///{live}",
        "none": f"sqlite+aiosqlite:///{tmp_path / 'nothing.db'}",
        "postgres": "postgresql+asyncpg://u:hunter2@127.0.0.1:1/x",
        "memory": "memory://",
    }[database]
    if database == "sqlite":
        assert cli(url, "migrate").returncode == 0
    (tmp_path / "exists.db").write_bytes(b"mine")
    done = cli(url, "backup", str(tmp_path / target))
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert "hunter2" not in done.stderr
    assert (tmp_path / "exists.db").read_bytes() == b"mine"
    assert not list(tmp_path.glob(".*.partial"))
