"""The ceiling: a bare Litestar app that decodes the same JSON Structs as privalytics'
ingestion routes and answers 202, storing nothing.

Idiomatic on purpose (a typed ``data`` parameter, a Response per request): it is what "the
same framework, doing no work" costs, served by the same ASGI server with the same options
and worker count as ``privalytics serve``.
"""

from __future__ import annotations

import sys

from litestar import Litestar, MediaType, Response, post

from privalytics.adapters.http.schemas import AcceptedOut, BatchIn, SingleEventIn


@post("/api/v1/events", status_code=202)
async def record_event(data: SingleEventIn) -> Response[AcceptedOut]:
    return Response(AcceptedOut(accepted=1), status_code=202, media_type=MediaType.JSON)


@post("/api/v1/events/batch", status_code=202, request_max_body_size=2 * 1024 * 1024)
async def record_batch(data: BatchIn) -> Response[AcceptedOut]:
    return Response(
        AcceptedOut(accepted=len(data.events)), status_code=202, media_type=MediaType.JSON
    )


def create_app() -> Litestar:
    return Litestar(route_handlers=[record_event, record_batch], logging_config=None)


def main() -> None:
    """``python -m benchmarks.bare_app SERVER PORT WORKERS``: serve it as privalytics is."""
    server, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if server == "granian":
        from granian.constants import Interfaces
        from granian.server import Server

        Server(
            "benchmarks.bare_app:create_app",
            address="127.0.0.1",
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=True,
            log_access=False,
        ).serve()
        return
    import uvicorn

    # The options of `privalytics serve` (bootstrap.server_options).
    uvicorn.run(
        "benchmarks.bare_app:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
