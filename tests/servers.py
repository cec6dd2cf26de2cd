"""Real `privalytics` processes for tests: the CLI and `privalytics serve` in subprocesses."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

CLI = [sys.executable, "-m", "privalytics.cli"]
# A current browser's user agent, for tests that send events as a visitor's browser: the
# server's bot filter turns httpx's own agent (python-httpx/...) away, as it does curl's.
BROWSER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0"
BROWSER = {"User-Agent": BROWSER_AGENT}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVALYTICS_")}
    env["PRIVALYTICS_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def cli(database_url: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=_env(database_url, **extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cli_json(database_url: str, *args: str) -> Any:
    done = cli(database_url, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _limit_files(count: int) -> Any:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))

    return limit


class Server:
    def __init__(
        self,
        database_url: str,
        log: Path,
        *args: str,
        port: int | None = None,
        open_files: int | None = None,
        **extra: str,
    ) -> None:
        """``open_files``: the server's RLIMIT_NOFILE (soft and hard), as ``ulimit -n``."""
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = log.open("w")
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port), *args],
            env=_env(database_url, **extra),
            stdout=self._out,
            stderr=subprocess.STDOUT,
            preexec_fn=None if open_files is None else _limit_files(open_files),
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server did not become ready: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()
