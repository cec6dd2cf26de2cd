"""What calling a handler past Litestar's router relies on (:mod:`.shortcut`), in one place.

Everything here restates something Litestar does on a request's way to a handler, using
only its public API: when nothing of the app's runs around a handler
(:func:`runs_nothing_around_handlers`), what its router checks of the request
(:func:`valid_host`), and what it puts in the scope (:func:`enter`). Litestar may change any
of it in a release without notice, so ``tests/unit/http/test_bypass.py`` holds each to
the installed Litestar's own behaviour, and ``tox -e newest`` runs those tests on the
newest release.
"""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.handlers import ASGIRouteHandler
from litestar.types import Scope

# Litestar's router answers 400 "Invalid host header" to a Host header outside these
# characters (RFC 3986 host and port characters); it keeps its pattern private.
_HOST = re.compile(rb"\A[0-9A-Za-z!$&'()*+,;=\-._~:\[\]@%]*\Z")


def valid_host(value: bytes) -> bool:
    """Whether Litestar's router lets a request with ``Host: value`` through."""
    return _HOST.match(value) is not None


def runs_nothing_around_handlers(app: Litestar) -> bool:
    """Whether Litestar runs nothing of ``app``'s between a request and a handler besides
    its router and its exception handling: no middleware, CORS, CSRF, compression or
    allowed-hosts configuration, no ``before_send`` or ``after_exception`` hooks, no
    exception logging, no OpenTelemetry."""
    return not (
        app.middleware
        or app.cors_config
        or app.csrf_config
        or app.compression_config
        or app.allowed_hosts
        or app.before_send
        or app.after_exception
        or app.logging_config
        or app.pdb_on_exception
        or _instrumented(app)
    )


def _instrumented(app: Litestar) -> bool:
    """Whether ``app`` has Litestar's OpenTelemetry plugin, which wraps every request."""
    try:
        from litestar.plugins.opentelemetry import OpenTelemetryPlugin
    except ImportError:
        # Litestar's MissingDependencyException (an ImportError): opentelemetry is not
        # installed, so no OpenTelemetryPlugin can have been made.
        return False
    return any(isinstance(plugin, OpenTelemetryPlugin) for plugin in app.plugins)


def enter(app: Litestar, handler: ASGIRouteHandler, scope: Scope) -> None:
    """What ``Litestar.__call__`` and its router put in the scope before ``handler`` runs."""
    scope["app"] = scope["litestar_app"] = app
    scope.setdefault("state", {})
    scope["route_handler"] = handler
