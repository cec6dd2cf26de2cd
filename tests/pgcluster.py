"""A throwaway PostgreSQL cluster of the test's own: initdb in a temporary folder, started
on a free port, stopped and deleted afterwards.

For tests that must see the server's files (its data directory) or stop it the hard way,
which the shared test server does not allow. The binaries are Debian's
(/usr/lib/postgresql/<version>/bin, the newest version). PostgreSQL refuses to run as
root: run as root, the cluster belongs to the ``postgres`` account (``runuser``). Where no
binaries are installed the test is skipped, or fails under PRIVALYTICS_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.servers import _free_port

_OWNER = "postgres"


def _bin_folder() -> Path | None:
    folders = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    found = [folder for folder in folders if (folder / "initdb").is_file()]
    return found[-1] if found else None


@dataclass(frozen=True)
class Cluster:
    bin: Path
    root: Path
    port: int
    as_owner: tuple[str, ...]

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "log" / "server.log"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def execute(self, statement: str, database: str = "postgres") -> str:
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database=database
        )
        try:
            return str(await connection.execute(statement))
        finally:
            await connection.close()

    def pg_ctl(self, *arguments: str, check: bool = True) -> None:
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log)]
        subprocess.run([*self.as_owner, *command, *arguments], check=check, capture_output=True)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.root} -c shared_buffers=16MB"
            # Files are read through the page cache: flushing them to the disk only
            # costs time (the tests never cut the power).
            " -c fsync=off"
        )
        self.pg_ctl("-w", "-t", "60", "-o", options, "start")

    def restart(self) -> None:
        """A clean restart: the shutdown checkpoint writes every page to the data files,
        those of unlogged tables included."""
        self.pg_ctl("-m", "fast", "-w", "stop")
        self.start()

    def crash(self) -> None:
        """Stop the server without a shutdown checkpoint, as a power cut or kill -9 would:
        it runs crash recovery when started again."""
        self.pg_ctl("-m", "immediate", "-w", "stop")


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    folder = _bin_folder()
    if folder is None:
        message = "no PostgreSQL binaries under /usr/lib/postgresql/*/bin"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (PRIVALYTICS_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="privalytics-pg-"))
    as_owner: tuple[str, ...] = ()
    if os.geteuid() == 0:
        shutil.chown(root, _OWNER, _OWNER)
        as_owner = ("runuser", "-u", _OWNER, "--")
    cluster = Cluster(folder, root, _free_port(), as_owner)
    try:
        subprocess.run(
            [*as_owner, "mkdir", "-m", "700", str(cluster.log.parent)],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *as_owner,
                str(folder / "initdb"),
                "-D",
                str(cluster.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
        )
        cluster.start()
        try:
            yield cluster
        finally:
            # Already stopped by the test: nothing to do.
            cluster.pg_ctl("-m", "immediate", "-w", "stop", check=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)
