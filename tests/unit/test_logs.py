"""The server's log filter: no record it passes names a client, whatever its format."""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import logging.config
import os
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from uvicorn.logging import DefaultFormatter

from privalytics.adapters.logs import ClientDataFilter, server_log_config

# Words around an address; no digit or hex letter, which could make it a longer number.
TEXT = "ghijklmnopqrstuvwxyz GHIJKLMNOPQRSTUVWXYZ-_=/()'\"<>,;!?\n"
FORMS = ["{a}", "{a}:{port}", "[{a}]:{port}", "('{a}', {port})", "client={a}.", "for {a}, {a}"]


def _forms(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> set[str]:
    texts = {str(address), address.exploded, address.compressed}
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        texts.add(str(address.ipv4_mapped))
    return texts


@given(
    address=st.ip_addresses(),
    form=st.sampled_from(FORMS),
    port=st.integers(0, 65535),
    before=st.text(alphabet=TEXT, max_size=20),
    after=st.text(alphabet=TEXT, max_size=20),
)
def test_every_form_of_an_address_is_hidden(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    form: str,
    port: int,
    before: str,
    after: str,
) -> None:
    for text in _forms(address):
        line = f"{before} {form.format(a=text, port=port)} {after}"
        scrubbed = ClientDataFilter().scrub(line)
        for shown in _forms(address):
            assert shown not in scrubbed, line


@pytest.mark.parametrize(
    "text",
    ["at 12:30:45 on 2024-01-01", "uvicorn 0.55.0, Python 3.11.2", "sha deadbeef::", "0.0.0.300"],
)
def test_times_versions_and_non_addresses_are_left_alone(text: str) -> None:
    assert ClientDataFilter().scrub(text) == text


def test_the_servers_own_addresses_are_kept() -> None:
    keep = ClientDataFilter(keep=["127.0.0.1", "::1", "localhost"])
    assert keep.scrub("running on http://127.0.0.1:8000") == "running on http://127.0.0.1:8000"
    assert keep.scrub("running on http://[::1]:8000") == "running on http://[::1]:8000"
    assert "127.0.0.2" not in keep.scrub("127.0.0.2:5000 - accepted")


@pytest.mark.parametrize(
    "text",
    [
        "< User-Agent: Probe/1.0 (canary)",
        "{'user-agent': 'Probe/1.0 (canary)', 'path': '/'}",
        "[(b'cookie', b'session=canary'), (b'host', b'h')]",
        "X-Forwarded-For=canary",
        "authorization: Bearer canary",
    ],
)
def test_the_values_of_headers_that_identify_a_visitor_are_redacted(text: str) -> None:
    scrubbed = ClientDataFilter().scrub(text)
    assert "canary" not in scrubbed
    assert "<redacted>" in scrubbed


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose records go through the filter and uvicorn's coloured formatter."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s", use_colors=True))
    handler.addFilter(ClientDataFilter(keep=["127.0.0.1"]))
    logger = logging.getLogger("test.privalytics.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def test_a_records_arguments_and_coloured_copy_show_no_address(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    logger.info(
        '%s - "WebSocket %s" [accepted]',
        "203.0.113.77:44438",
        "/live",
        extra={"color_message": '%s - "WebSocket \x1b[1m%s\x1b[0m"'},
    )
    logger.info("peer %s", ("2001:db8::77", 44438))
    assert "/live" in out.getvalue()
    assert "203.0.113.77" not in out.getvalue()
    assert "2001:db8::77" not in out.getvalue()


def test_an_exceptions_text_shows_no_address(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    try:
        raise ValueError("bad request from 198.51.100.23")
    except ValueError:
        logger.exception("Exception in ASGI application")
    assert "ValueError" in out.getvalue()
    assert "198.51.100.23" not in out.getvalue()


def test_a_record_whose_format_fails_shows_no_argument(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    logger.info("client %d", "203.0.113.77")
    assert "203.0.113.77" not in out.getvalue()
    assert "client %d (arguments not shown)" in out.getvalue()


def _record(name: str, level: int, pathname: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, pathname, 1, "message", (), None)


def test_the_access_log_and_the_websockets_trace_are_dropped() -> None:
    import websockets

    scrubber = ClientDataFilter()
    inside = os.path.join(os.path.dirname(websockets.__file__), "protocol.py")
    assert not scrubber.filter(_record("uvicorn.access", logging.INFO, __file__))
    assert not scrubber.filter(_record("uvicorn.error", logging.DEBUG, inside))
    assert scrubber.filter(_record("uvicorn.error", logging.INFO, inside))
    assert scrubber.filter(_record("uvicorn.error", logging.DEBUG, __file__))


def test_the_server_config_filters_every_handler() -> None:
    config = server_log_config("debug", listen_host="127.0.0.1")
    assert all(h.get("filters") == ["no_client_data"] for h in config["handlers"].values())
    assert config["loggers"]["uvicorn.access"]["handlers"] == []
    assert config["loggers"]["privalytics"]["level"] == "DEBUG"


def test_json_lines_are_objects_that_name_no_client() -> None:
    """The JSON form through the server's own config: dictConfig builds the formatter."""
    config = server_log_config("info", listen_host="127.0.0.1", form="json")
    config["handlers"]["default"]["stream"] = "ext://sys.stdout"
    logging.config.dictConfig(config)
    handler = logging.getLogger("uvicorn").handlers[0]
    out = io.StringIO()
    handler.setStream(out)  # type: ignore[attr-defined]
    try:
        logger = logging.getLogger("uvicorn.error")
        logger.info("peer %s said hello", "203.0.113.77:44438")
        try:
            raise ValueError("bad request from 198.51.100.23")
        except ValueError:
            logger.exception("Exception in ASGI application")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    lines = out.getvalue().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "peer <address> said hello"
    assert (first["level"], first["logger"]) == ("info", "uvicorn.error")
    assert first["time"].endswith("+00:00")
    assert "exception" not in first
    assert second["level"] == "error"
    assert "ValueError" in second["exception"]
    assert "198.51.100.23" not in out.getvalue()
