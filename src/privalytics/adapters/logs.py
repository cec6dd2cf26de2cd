"""What ``privalytics serve`` logs: nothing that names a client.

uvicorn writes the client's address and port in several records besides its access log
(a WebSocket's "[accepted]" line, traces at its lowest levels), and the ``websockets``
library, which uvicorn gives its own logger, echoes every request header of a WebSocket
(user agent, cookies, X-Forwarded-For) at debug level. Rather than match those texts,
which change between releases, :class:`ClientDataFilter` sits on the handler every
record goes through and rewrites each one: any IPv4 or IPv6 address becomes
``<address>`` (the server's own listen address excepted), the values of headers that
identify a visitor become ``<redacted>``, and the protocol trace of ``websockets`` is
dropped. :func:`server_log_config` is uvicorn's ``log_config`` for that: picklable, so
that each worker process configures its logging the same way.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import logging
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

ADDRESS = "<address>"
REDACTED = "<redacted>"

_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*(?:%[\w.-]+)?")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)(?::\d{1,5}(?!\d))?")
# A header naming the visitor, then its value up to the end of the line or a quote:
# "user-agent: ...", "'cookie': '...'", "(b'user-agent', b'...')", "X-Forwarded-For=...".
_HEADER_VALUE = re.compile(
    r"(?i)\b(user-agent|cookie|set-cookie|authorization|x-forwarded-for|forwarded|x-real-ip|"
    r"referer)(['\"]?\s*[:=]\s*b?['\"]?|['\"],\s*b?['\"])[^'\"\r\n]*"
)
_FORMATTER = logging.Formatter()


def _as_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


class ClientDataFilter(logging.Filter):
    """Rewrites every record so that it names no client: see the module's docstring.

    ``keep``: addresses that are the server's own (the one it listens on), left as they
    are so that its startup and bind messages stay useful.
    """

    def __init__(self, keep: Iterable[str] = ()) -> None:
        super().__init__()
        self._keep = {address for text in keep if (address := _as_address(text)) is not None}
        spec = importlib.util.find_spec("websockets")
        origin = spec.origin if spec is not None else None
        self._websockets = os.path.dirname(origin) + os.sep if origin else None

    def _traced_by_websockets(self, record: logging.LogRecord) -> bool:
        """Whether the record comes from the ``websockets`` library (uvicorn hands it its
        own logger, so the logger's name cannot tell)."""
        return self._websockets is not None and record.pathname.startswith(self._websockets)

    def scrub(self, text: str) -> str:
        text = _IPV6.sub(self._ipv6, text)
        text = _IPV4.sub(self._ipv4, text)
        return _HEADER_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)

    def _hidden(self, text: str) -> str | None:
        address = _as_address(text)
        if address is None or address in self._keep:
            return None
        return ADDRESS

    def _ipv6(self, match: re.Match[str]) -> str:
        found = match.group()
        # Trailing punctuation is not part of the address; a port after an unbracketed
        # one goes with it.
        for address in (found, found.rstrip("."), found.rstrip(".:")):
            if (hidden := self._hidden(address)) is not None:
                return hidden + found[len(address) :]
        head, colon, port = address.rpartition(":")
        if colon and port.isdigit() and (hidden := self._hidden(head)) is not None:
            return hidden
        return found

    def _ipv4(self, match: re.Match[str]) -> str:
        return self._hidden(match.group().split(":", 1)[0]) or match.group()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[:2] == ["uvicorn", "access"]:
            return False  # the access log is off (docs/configuration.md)
        if record.levelno < logging.INFO and self._traced_by_websockets(record):
            # Its protocol trace: every header and frame of a live feed.
            return False
        try:
            message = record.getMessage()
        except Exception:  # a bad format: show the template, never its arguments
            message = f"{record.msg} (arguments not shown)"
        record.msg, record.args = self.scrub(message), ()
        # uvicorn's coloured formatter would format this copy of the message again.
        record.__dict__.pop("color_message", None)
        if record.exc_info:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record and line (``PRIVALYTICS_LOG_FORMAT=json``), for log
    collectors: ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``,
    ``message`` and, when there is one, ``exception`` (its traceback as text). It formats
    what :class:`ClientDataFilter` has already rewritten, so it names no client either."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def server_log_config(level: str, *, listen_host: str, form: str = "text") -> dict[str, Any]:
    """uvicorn's ``log_config`` for ``privalytics serve`` at ``level``: uvicorn's and the
    ``privalytics`` loggers at ``level``, everything else (Litestar, libraries) at
    warning, all to stderr through :class:`ClientDataFilter`; no access log. ``form``:
    ``text`` (uvicorn's lines) or ``json`` (:class:`JsonFormatter`)."""
    level = level.upper()
    formatter: dict[str, Any] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(levelprefix)s %(message)s",
        "use_colors": None,
    }
    if form == "json":
        # uvicorn's "use_colors" is set on these by uvicorn itself; a plain factory
        # takes it and leaves it.
        formatter = {"()": f"{__name__}.json_formatter", "use_colors": None}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "no_client_data": {
                "()": f"{__name__}.ClientDataFilter",
                "keep": [listen_host],
            }
        },
        # uvicorn sets "use_colors" on both formatters when it is given a choice.
        "formatters": {"default": formatter, "access": dict(formatter)},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["no_client_data"],
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": level, "propagate": False},
            "privalytics": {"level": level},
        },
        "root": {"handlers": ["default"], "level": "WARNING"},
    }


def json_formatter(use_colors: bool | None = None) -> JsonFormatter:
    """:class:`JsonFormatter` as logging's ``dictConfig`` makes it (it passes the
    ``use_colors`` uvicorn sets on every formatter; JSON has no colours)."""
    return JsonFormatter()
