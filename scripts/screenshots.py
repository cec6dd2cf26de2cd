"""Screenshots of the dashboard with demo data, for docs/ and the README.

Starts ``privalytics serve --demo`` on a new SQLite file, creates a dashboard user, signs
in with Debian's Chromium (Playwright) and saves, light and dark, laptop and phone:

    docs/images/dashboard-{overview,project,settings}-{light,dark}-{laptop,phone}.png
    docs/images/dashboard-token-light-laptop.png (a new project's token, shown once)

Run from the repository root:  python scripts/screenshots.py [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
CLI = [sys.executable, "-m", "privalytics.cli"]
USER, PASSWORD = "demo", "demo password 1"
VIEWPORTS = {"laptop": (1280, 800), "phone": (390, 844)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVALYTICS_")}
    env["PRIVALYTICS_DATABASE_URL"] = database_url
    return env


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server did not start:\n{log.read_text()}")


def _server_token(url: str, admin_key: str, project_id: str) -> str:
    """A server token of the project: the events below name their visitors."""
    issued = httpx.post(
        f"{url}/api/v1/projects/{project_id}/tokens",
        params={"kind": "server"},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    issued.raise_for_status()
    token: str = issued.json()["token"]
    return token


def _more_traffic(url: str, token: str, admin_key: str) -> None:
    """A second project and a few events now, so the overview and the feed have content."""
    del token  # the demo's browser token: these events name their visitors
    projects = httpx.get(f"{url}/api/v1/projects", headers={"Authorization": f"Bearer {admin_key}"})
    projects.raise_for_status()
    demo_id = projects.json()["projects"][0]["id"]
    # A browser's agent: httpx's own is a bot's, which the server would turn away.
    browser = {
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0"
    }
    headers = {"Authorization": f"Bearer {_server_token(url, admin_key, demo_id)}", **browser}
    for n, (path, target) in enumerate(
        [("/pricing", None), ("/blog/privacy-first", None), ("/docs/install", "Copy command")]
    ):
        event = {"action": "visit", "path": path, "visitor_ip": f"198.51.100.{200 + n}"}
        httpx.post(f"{url}/api/v1/events", json=event, headers=headers).raise_for_status()
        if target:
            click = {"action": "click", "path": path, "target": target}
            httpx.post(f"{url}/api/v1/events", json=click, headers=headers).raise_for_status()
    created = httpx.post(
        f"{url}/api/v1/projects",
        json={"name": "Docs site", "allowed_origins": ["https://docs.example"]},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    created.raise_for_status()
    docs_token = _server_token(url, admin_key, created.json()["project"]["id"])
    batch = {
        "events": [
            {"action": "visit", "path": f"/guide/{n % 4}", "visitor_ip": f"203.0.113.{n % 9}"}
            for n in range(23)
        ]
    }
    httpx.post(
        f"{url}/api/v1/events/batch",
        json=batch,
        headers={"Authorization": f"Bearer {docs_token}", **browser},
    ).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--chromium", default=os.environ.get("PRIVALYTICS_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}"
        subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
            [*CLI, "admin", "user", "create", USER, "--password-stdin"],
            input=PASSWORD + "\n",
            env=_env(database_url),
            check=True,
            capture_output=True,
            text=True,
        )
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(folder) / "server.log"
        with log.open("w") as out:
            process = subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
                [*CLI, "serve", "--demo", "--port", str(port)],
                env=_env(database_url),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait(url, process, log)
            text = log.read_text()
            token = re.search(r"tracking token: (\S+)", text)
            key = re.search(r"admin API key:\s+(\S+)", text)
            if not token or not key:
                raise SystemExit(f"no demo token in the server's output:\n{text}")
            _more_traffic(url, token.group(1), key.group(1))
            projects = httpx.get(
                f"{url}/api/v1/projects", headers={"Authorization": f"Bearer {key.group(1)}"}
            ).json()["projects"]
            demo = next(p["id"] for p in projects if p["name"] == "Demo site")
            _shoot(args.chromium, url, demo)
        finally:
            process.terminate()
            process.wait(timeout=15)
    print(json.dumps(sorted(p.name for p in OUT.glob("dashboard-*.png")), indent=2))


def _shoot(chromium: str, url: str, project_id: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for scheme in ("light", "dark"):
                for device, (width, height) in VIEWPORTS.items():
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        color_scheme=scheme,
                        device_scale_factor=2 if device == "phone" else 1,
                        is_mobile=device == "phone",
                    )
                    page = context.new_page()
                    page.goto(f"{url}/dashboard/login")
                    page.fill("input[name=username]", USER)
                    page.fill("input[name=password]", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_url(f"{url}/dashboard")
                    pages = {
                        "overview": f"{url}/dashboard",
                        "project": f"{url}/dashboard/projects/{project_id}",
                        "settings": f"{url}/dashboard/projects/{project_id}/settings",
                    }
                    for name, address in pages.items():
                        page.goto(address)
                        page.wait_for_load_state("networkidle")
                        page.screenshot(
                            path=str(OUT / f"dashboard-{name}-{scheme}-{device}.png"),
                            full_page=device == "laptop",
                        )
                    if scheme == "light" and device == "laptop":
                        # A project created from the page: its token, shown once.
                        page.goto(f"{url}/dashboard")
                        page.fill("#new-project input[name=name]", "My blog")
                        page.fill("#new-project textarea", "https://blog.example")
                        page.click("#new-project button[type=submit]")
                        page.wait_for_selector("[data-testid=token]")
                        page.screenshot(path=str(OUT / "dashboard-token-light-laptop.png"))
                    context.close()
        finally:
            browser.close()


if __name__ == "__main__":
    main()
