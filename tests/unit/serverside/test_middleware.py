"""The ASGI middleware over an embedded core: a visit per HTML page served, nothing for
anything else, for Litestar and for a bare ASGI application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar, MediaType, get
from litestar.middleware import DefineMiddleware

from privalytics.adapters.memory import InMemoryEventStore
from privalytics.domain.models import Action, Event, IncomingEvent
from privalytics.embedded import Privalytics
from privalytics.middleware import PrivalyticsMiddleware, Receive, Scope, Send


@pytest.fixture
async def core() -> AsyncIterator[Privalytics]:
    opened = await Privalytics.open("memory://", bcrypt_rounds=4)
    try:
        yield opened
    finally:
        await opened.aclose()


def stored(core: Privalytics) -> list[Event]:
    """What the embedded core's in-memory store holds."""
    store: InMemoryEventStore = core.services.ingestion._events  # type: ignore[attr-defined]
    return list(store.events)


def litestar_app(**options: Any) -> Litestar:
    @get("/", media_type=MediaType.HTML)
    async def home() -> str:
        return "<h1>home</h1>"

    @get("/blog/hello", media_type=MediaType.HTML)
    async def post() -> str:
        return "<h1>hello</h1>"

    @get("/api/data")
    async def data() -> dict[str, int]:
        return {"n": 1}

    @get("/admin", media_type=MediaType.HTML)
    async def admin() -> str:
        return "admin"

    return Litestar(
        [home, post, data, admin],
        middleware=[DefineMiddleware(PrivalyticsMiddleware, **options)],
    )


async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A plain ASGI application: HTML at /, 404 elsewhere."""
    assert scope["type"] == "http"
    found = scope["path"] == "/"
    await send(
        {
            "type": "http.response.start",
            "status": 200 if found else 404,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": b"<p>hi</p>" if found else b"no"})


BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


async def get_pages(app: Any, *paths: str, **headers: str) -> list[int]:
    # A browser's agent unless told otherwise: httpx's own is a robot's.
    headers = {"User-Agent": BROWSER, **headers}
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://site.test") as client:
        return [(await client.get(path, headers=headers)).status_code for path in paths]


async def test_litestar_html_pages_are_visits_and_the_rest_is_not(core: Privalytics) -> None:
    created = await core.create_project("site")
    app = litestar_app(core=core, token=created.token.token, exclude=["/admin"])
    statuses = await get_pages(
        app,
        "/",
        "/blog/hello?utm_source=x",
        "/api/data",
        "/admin",
        "/missing",
        Referer="https://search.example/?q=secret",
        **{"User-Agent": "Probe/1.0"},
    )
    assert statuses == [200, 200, 200, 200, 404]
    await _drain(app)
    events = stored(core)
    assert [(e.action, e.path, e.referrer) for e in events] == [
        (Action.VISIT, "/", "https://search.example/"),
        (Action.VISIT, "/blog/hello", "https://search.example/"),
    ]
    # One visitor (same address and agent), hashed: neither is kept.
    assert len({e.visitor_hash for e in events}) == 1
    assert "203.0.113.9" not in repr(events)
    assert "Probe" not in repr(events)


async def _drain(app: Any) -> None:
    # Litestar builds the middleware itself, so its drain() is out of reach: the background
    # tasks that record the visits need only a few turns of the loop.
    for _ in range(20):
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    "headers",
    [{"Sec-GPC": "1"}, {"DNT": "1"}, {"Sec-Purpose": "prefetch"}],
    ids=["gpc", "dnt", "prefetch"],
)
async def test_privacy_signals_and_prefetches_are_not_visits(
    core: Privalytics, headers: dict[str, str]
) -> None:
    created = await core.create_project("site")
    app = PrivalyticsMiddleware(bare_app, core=core, token=created.token.token)
    assert await get_pages(app, "/", **headers) == [200]
    await app.drain()
    assert stored(core) == []


async def test_a_bare_asgi_app_records_its_pages_only(core: Privalytics) -> None:
    created = await core.create_project("site")
    app = PrivalyticsMiddleware(bare_app, core=core, token=created.token.token)
    assert await get_pages(app, "/", "/nope", "/") == [200, 404, 200]
    await app.drain()
    assert [e.path for e in stored(core)] == ["/", "/"]


async def test_a_failing_core_never_fails_the_response(core: Privalytics) -> None:
    app = PrivalyticsMiddleware(bare_app, core=core, token="pvt_not_a_real_token")
    assert await get_pages(app, "/") == [200]
    await app.drain()
    assert stored(core) == []


def test_the_middleware_needs_exactly_one_destination(core: Privalytics) -> None:
    with pytest.raises(ValueError, match="either client= or core="):
        PrivalyticsMiddleware(bare_app)
    with pytest.raises(ValueError, match="token="):
        PrivalyticsMiddleware(bare_app, core=core)


async def test_a_starlette_app_records_its_html_pages(core: Privalytics) -> None:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    async def home(request: Any) -> HTMLResponse:
        return HTMLResponse("<h1>home</h1>")

    async def data(request: Any) -> JSONResponse:
        return JSONResponse({"n": 1})

    created = await core.create_project("site")
    app = Starlette(
        routes=[Route("/", home), Route("/data", data)],
        middleware=[Middleware(PrivalyticsMiddleware, core=core, token=created.token.token)],
    )
    assert await get_pages(app, "/", "/data", "/?page=2") == [200, 200, 200]
    await _drain(app)
    assert [(e.action, e.path) for e in stored(core)] == [(Action.VISIT, "/"), (Action.VISIT, "/")]


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "facebookexternalhit/1.1",
        "Slackbot-LinkExpanding 1.0",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "python-httpx/0.28.1",
        "Go-http-client/2.0",
        "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "",
    ],
)
async def test_robots_are_not_visits_unless_counted(core: Privalytics, agent: str) -> None:
    created = await core.create_project("site")
    app = PrivalyticsMiddleware(bare_app, core=core, token=created.token.token)
    assert await get_pages(app, "/", **{"User-Agent": agent}) == [200]
    await app.drain()
    assert stored(core) == []
    # Sent when counted: the core's own bot filter turns it away into its bot log, unless
    # that filter is off.
    counting = PrivalyticsMiddleware(
        bare_app, core=core, token=created.token.token, count_bots=True
    )
    assert await get_pages(counting, "/", **{"User-Agent": agent}) == [200]
    await counting.drain()
    assert stored(core) == []
    assert core.services.bot_log.unflushed == 1
    unfiltered = await Privalytics.open("memory://", bcrypt_rounds=4, bot_filter="off")
    try:
        other = await unfiltered.create_project("site")
        counting = PrivalyticsMiddleware(
            bare_app, core=unfiltered, token=other.token.token, count_bots=True
        )
        assert await get_pages(counting, "/", **{"User-Agent": agent}) == [200]
        await counting.drain()
        assert len(stored(unfiltered)) == 1
    finally:
        await unfiltered.aclose()


async def test_visits_being_recorded_into_a_core_are_bounded(
    core: Privalytics, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    calls: list[str] = []

    async def slow_record(token: str, events: Any, **client: Any) -> int:
        calls.append(token)
        await release.wait()
        return len(events)

    monkeypatch.setattr(core, "record", slow_record)
    app = PrivalyticsMiddleware(bare_app, core=core, token="pvt_x", max_pending=2)
    assert await get_pages(app, "/", "/", "/", "/", "/") == [200] * 5
    await asyncio.sleep(0.01)
    assert (len(calls), app.dropped) == (2, 3)
    release.set()
    await app.drain()
    assert await get_pages(app, "/") == [200]  # room again
    await app.drain()
    assert (len(calls), app.dropped) == (3, 3)


async def test_a_host_that_is_no_address_is_the_unknown_address(
    core: Privalytics, caplog: pytest.LogCaptureFixture
) -> None:
    """Test clients (Litestar's, Starlette's) name their peer "testclient": the visit is
    recorded for an unknown address, as a request without a peer is, not for that text.
    (Through a client, tests/integration/test_client.py runs Litestar's TestClient.)"""
    created = await core.create_project("site")
    token = created.token.token
    app = PrivalyticsMiddleware(bare_app, core=core, token=token)
    transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://site.test") as client:
        assert (await client.get("/", headers={"User-Agent": BROWSER})).status_code == 200
    await app.drain()
    for ip in ("", "testclient"):
        await core.record(
            token, [IncomingEvent(action=Action.VISIT, path="/")], ip=ip, user_agent=BROWSER
        )
    visit, as_unknown, as_named = stored(core)
    assert visit.visitor_hash == as_unknown.visitor_hash != as_named.visitor_hash
    assert [r.getMessage() for r in caplog.records if r.name.startswith("privalytics")] == []


async def test_a_pages_campaign_is_recorded_and_the_rest_of_its_query_is_not_sent(
    core: Privalytics,
) -> None:
    created = await core.create_project("site")
    app = PrivalyticsMiddleware(bare_app, core=core, token=created.token.token)
    sent: list[str] = []
    record = core.record

    async def spy(token: str, events: Any, **kw: Any) -> int:
        sent.extend(event.path for event in events)
        return await record(token, events, **kw)

    core.record = spy  # type: ignore[method-assign]
    query = "?session=s3cret&utm_source=news&utm%5Fmedium=mail&ref=x&token=t0k"
    headers = {"Referer": "https://www.google.com/search?q=x"}
    assert await get_pages(app, "/" + query, "/?utm_campaign=" + "x" * 3000, **headers) == [
        200,
        200,
    ]
    await app.drain()
    # Only the campaign's keys leave the application; the server reads them, keeps none
    # of the query, and names the source from them.
    assert sorted(sent) == ["/", "/?utm_source=news&utm%5Fmedium=mail&ref=x"]
    first, second = sorted(stored(core), key=lambda e: e.utm_source or "")
    assert (second.path, second.source, second.utm_source, second.utm_medium) == (
        "/",
        "news",
        "news",
        "mail",
    )
    # A query too long to send whole: the visit without its campaign.
    assert (first.path, first.source, first.utm_campaign) == ("/", "Google", None)
    assert (first.browser, first.os) == ("Firefox", "Linux")
