"""A small website on its own port (so another origin than the privalytics server), for
the browser tests: pages given as text, every path under /spa/ answered with the SPA's
page, /files/ answered with bytes."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any


class TestSite:
    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, pages: Mapping[str, str], files: Mapping[str, Path] | None = None):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in (files or {}):
                    body = (files or {})[path].read_bytes()
                    kind = "text/javascript"
                elif path.startswith("/files/"):
                    body, kind = b"%PDF-1.4 test", "application/pdf"
                else:
                    page = site.pages.get(path)
                    if page is None and path.startswith("/spa/"):
                        page = site.pages.get("/spa/")
                    if page is None:
                        self.send_error(404)
                        return
                    body, kind = page.encode(), "text/html; charset=utf-8"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.pages = dict(pages)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TestSite:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
