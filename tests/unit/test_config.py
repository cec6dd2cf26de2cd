"""Settings: defaults, environment, flags, and clear refusals naming the variable."""

from __future__ import annotations

import gc
import re
from pathlib import Path

import msgspec
import pytest

import privalytics
from privalytics import bootstrap
from privalytics.adapters.sqlalchemy.engine import ACCEPTED_URLS
from privalytics.config import Settings, load_settings, unknown_variables
from privalytics.domain.errors import ConfigError
from privalytics.domain.geography import DEFAULT_MIN_VISITORS
from privalytics.domain.services import IngestSettings
from privalytics.domain.verification import DEFAULT_TTL

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_defaults_use_the_embedded_sqlite_database_and_a_daily_salt() -> None:
    settings = load_settings({})
    assert settings.database_url == "sqlite+aiosqlite:///./privalytics.db"
    assert settings.rate_limit_url == "memory://"
    assert settings.rotation.days == 1
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)


def test_environment_is_read_and_flags_win_over_it() -> None:
    env = {
        "PRIVALYTICS_PORT": "9000",
        "PRIVALYTICS_SALT_ROTATION": "7d",
        "PRIVALYTICS_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16",
    }
    settings = load_settings(env, port=9100, host=None)
    assert settings.port == 9100
    assert settings.host == "127.0.0.1"
    assert settings.rotation.days == 7
    assert settings.proxies == ("10.0.0.1", "192.168.0.0/16")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"PRIVALYTICS_PORT": "eighty"}, "PRIVALYTICS_PORT"),
        ({"PRIVALYTICS_PORT": "70000"}, "PRIVALYTICS_PORT"),
        ({"PRIVALYTICS_SALT_ROTATION": "31d"}, "PRIVALYTICS_SALT_ROTATION"),
        ({"PRIVALYTICS_SALT_ROTATION": "12h"}, "PRIVALYTICS_SALT_ROTATION"),
        ({"PRIVALYTICS_TRUSTED_PROXIES": "not-an-ip"}, "PRIVALYTICS_TRUSTED_PROXIES"),
        ({"PRIVALYTICS_WORKERS": "0"}, "PRIVALYTICS_WORKERS"),
        ({"PRIVALYTICS_HEADER_TIMEOUT": "0"}, "PRIVALYTICS_HEADER_TIMEOUT"),
        ({"PRIVALYTICS_BODY_TIMEOUT": "-1"}, "PRIVALYTICS_BODY_TIMEOUT"),
        ({"PRIVALYTICS_MAX_CONNECTIONS": "0"}, "PRIVALYTICS_MAX_CONNECTIONS"),
        ({"PRIVALYTICS_STATEMENT_TIMEOUT": "0"}, "PRIVALYTICS_STATEMENT_TIMEOUT"),
        ({"PRIVALYTICS_MAX_CONNECTIONS": "many"}, "PRIVALYTICS_MAX_CONNECTIONS"),
        ({"PRIVALYTICS_BCRYPT_ROUNDS": "40"}, "PRIVALYTICS_BCRYPT_ROUNDS"),
        ({"PRIVALYTICS_LOG_LEVEL": "loud"}, "PRIVALYTICS_LOG_LEVEL"),
        ({"PRIVALYTICS_LOG_FORMAT": "xml"}, "PRIVALYTICS_LOG_FORMAT"),
        ({"PRIVALYTICS_CACHE_TTL": "-1"}, "PRIVALYTICS_CACHE_TTL"),
        ({"PRIVALYTICS_MAX_EVENT_AGE_HOURS": "0"}, "PRIVALYTICS_MAX_EVENT_AGE_HOURS"),
        ({"PRIVALYTICS_PUBLIC_URL": "stats.example"}, "PRIVALYTICS_PUBLIC_URL"),
        ({"PRIVALYTICS_PUBLIC_URL": "javascript://x/"}, "PRIVALYTICS_PUBLIC_URL"),
        ({"PRIVALYTICS_MIN_CELL_VISITORS": "0"}, "PRIVALYTICS_MIN_CELL_VISITORS"),
        ({"PRIVALYTICS_MIN_CELL_VISITORS": "five"}, "PRIVALYTICS_MIN_CELL_VISITORS"),
    ],
)
def test_a_bad_setting_is_refused_naming_its_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        load_settings(env)


@pytest.mark.parametrize("url", ["mysql://localhost/db", "sqlite:///x.db", "nonsense", ""])
def test_an_unsupported_database_url_lists_the_accepted_forms(url: str) -> None:
    """The same forms as the SQL adapter's own refusal: one list, not two."""
    with pytest.raises(ConfigError) as caught:
        bootstrap.check_backends(Settings(database_url=url))
    assert str(caught.value).endswith(", ".join(("memory://", *ACCEPTED_URLS)))


def test_geography_defaults_to_the_embedded_table_and_five_visitors_a_cell() -> None:
    settings = load_settings({})
    assert (settings.geoip_database, settings.min_cell_visitors) == ("", DEFAULT_MIN_VISITORS)
    assert DEFAULT_MIN_VISITORS == 5
    given = load_settings(
        {"PRIVALYTICS_GEOIP_DATABASE": "/srv/City.mmdb", "PRIVALYTICS_MIN_CELL_VISITORS": "1"}
    )
    assert (given.geoip_database, given.min_cell_visitors) == ("/srv/City.mmdb", 1)


def test_the_cache_ttl_has_one_default() -> None:
    assert Settings().cache_ttl == IngestSettings().cache_ttl == DEFAULT_TTL


def test_an_unsupported_rate_limiter_url_lists_the_accepted_forms() -> None:
    with pytest.raises(ConfigError, match=r"memory://.*redis://"):
        bootstrap.check_backends(Settings(rate_limit_url="memcached://x"))


def test_several_workers_refuse_the_in_memory_rate_limiter() -> None:
    with pytest.raises(ConfigError, match=r"--workers 2 needs a shared rate limiter"):
        bootstrap.check_backends(Settings(workers=2))
    bootstrap.check_backends(Settings(workers=2, rate_limit_url="redis://127.0.0.1:6379/0"))


def test_a_database_url_with_a_password_is_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        bootstrap.check_backends(Settings(database_url="mysql://user:s3cret@host/db"))
    assert "s3cret" not in str(caught.value)


def test_every_setting_is_documented_with_its_variable_and_default() -> None:
    text = DOCS.read_text()
    for name, default in msgspec.structs.asdict(Settings()).items():
        row = re.search(rf"^\|\s*`PRIVALYTICS_{name.upper()}`.*$", text, re.MULTILINE)
        assert row is not None, f"PRIVALYTICS_{name.upper()} is not in docs/configuration.md"
        assert str(default) in row.group(0), f"the default of {name} is not documented"


def test_the_public_api_is_pinned() -> None:
    assert sorted(privalytics.__all__) == [
        "Action", "Breakdown", "Bucket", "ClientInfo", "ConfigError", "CreatedProject",
        "IncomingEvent", "InvalidInput", "IssuedToken", "NotFound", "OriginNotAllowed", "PageStats",
        "Privalytics", "PrivalyticsError", "Project", "ProjectUpdate", "RateLimit",
        "RateLimited", "Settings", "Stats", "StorageUnavailable", "TimeRange", "TokenInfo",
        "Unauthenticated", "__version__",
    ]  # fmt: skip
    for name in privalytics.__all__:
        assert hasattr(privalytics, name)


def test_the_server_factory_freezes_what_it_built_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Full collections would otherwise walk the app's whole startup heap (a stall of
    every request under way); only the server's own factory does it."""
    monkeypatch.setenv("PRIVALYTICS_DATABASE_URL", "memory://")
    gc.unfreeze()
    try:
        bootstrap.create_app(Settings(database_url="memory://"))
        assert gc.get_freeze_count() == 0  # an embedding application's collector: as it was
        bootstrap.asgi_app()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(("flag", "value"), [("port", 99999), ("workers", 0)])
def test_a_bad_flag_is_refused_naming_the_flag(flag: str, value: int) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({}, **{flag: value})
    assert str(caught.value).startswith(f"--{flag} must be")
    assert "PRIVALYTICS_" not in str(caught.value)


def test_a_bad_variable_of_a_flag_names_the_flag_and_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"PRIVALYTICS_WORKERS": "0"})
    assert str(caught.value).startswith("--workers (PRIVALYTICS_WORKERS) must be")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PRIVALYTICS_PORT": "eighty"}, "--port (PRIVALYTICS_PORT) must be a whole number"),
        ({"PRIVALYTICS_CACHE_TTL": "soon"}, "PRIVALYTICS_CACHE_TTL must be a number"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_in_our_words(
    env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert str(caught.value) == expected


def test_a_short_secret_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"PRIVALYTICS_SECRET_KEY must be .*at least 32"):
        load_settings({"PRIVALYTICS_SECRET_KEY": "short"})
    with pytest.raises(ConfigError):
        load_settings({"PRIVALYTICS_SECRET_KEY": "s" * 31})
    assert load_settings({"PRIVALYTICS_SECRET_KEY": "s" * 32}).secret_key == "s" * 32
    assert load_settings({}).secret_key == ""


def test_a_misspelt_variable_draws_a_warning_with_the_nearest_setting() -> None:
    env = {
        "PRIVALYTICS_PORTT": "9000",
        "PRIVALYTICS_RATELIMIT_URL": "redis://x",
        "PRIVALYTICS_FAVOURITE_COLOUR": "blue",
        "PRIVALYTICS_PORT": "9000",
        "OTHER_PORTT": "1",
    }
    warnings = unknown_variables(env)
    assert len(warnings) == 3
    assert warnings[0].startswith("PRIVALYTICS_FAVOURITE_COLOUR is not a privalytics setting")
    assert "did you mean" not in warnings[0]
    assert warnings[1].endswith("(did you mean PRIVALYTICS_PORT?)")
    assert warnings[2].endswith("(did you mean PRIVALYTICS_RATE_LIMIT_URL?)")


def test_the_projects_own_variables_draw_no_warning() -> None:
    env = {
        "PRIVALYTICS_TEST_POSTGRES_URL": "x",
        "PRIVALYTICS_TEST_ANYTHING_NEW": "x",
        "PRIVALYTICS_REQUIRE_SERVICES": "1",
        "PRIVALYTICS_BROWSER": "1",
        **{f"PRIVALYTICS_{name.upper()}": "x" for name in Settings.__struct_fields__},
    }
    assert unknown_variables(env) == []


ROOT = Path(__file__).resolve().parents[2]


def test_every_privalytics_variable_the_project_names_is_a_setting_or_known() -> None:
    """A new test, benchmark or docs variable must be listed in NOT_SETTINGS (or be a
    setting), or every user who sets it would be warned."""
    files = [ROOT / "README.md", ROOT / "tox.ini"]
    for folder in ("src", "tests", "benchmarks", "scripts", "docs"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".md", ".ini"}]
    named = set()
    for path in files:
        if path != Path(__file__).resolve():  # this file names unknown ones on purpose
            named |= set(re.findall(r"\bPRIVALYTICS_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    named -= {"PRIVALYTICS_TEST"}  # tox.ini's passenv pattern PRIVALYTICS_TEST_*
    assert "PRIVALYTICS_REQUIRE_SERVICES" in named
    assert unknown_variables(dict.fromkeys(named, "x")) == []


def test_event_retention_is_forever_by_default_and_a_number_of_days_when_set() -> None:
    assert load_settings({}).retention_days is None
    assert load_settings({"PRIVALYTICS_EVENT_RETENTION_DAYS": "0"}).retention_days is None
    assert load_settings({"PRIVALYTICS_EVENT_RETENTION_DAYS": ""}).retention_days is None
    assert load_settings({"PRIVALYTICS_EVENT_RETENTION_DAYS": "760"}).retention_days == 760


@pytest.mark.parametrize("value", ["30d", "7.5", "forever", "-1"])
def test_event_retention_that_is_no_whole_number_of_days_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=r"PRIVALYTICS_EVENT_RETENTION_DAYS must be"):
        load_settings({"PRIVALYTICS_EVENT_RETENTION_DAYS": value})


def test_event_retention_keeps_at_least_a_salt_window_the_oldest_event_and_two_days() -> None:
    # Defaults: a 1-day window, events up to 24 h old: 1 + 1 + 2 days.
    load_settings({"PRIVALYTICS_EVENT_RETENTION_DAYS": "4"})
    with pytest.raises(ConfigError, match=r"from 4 to 36525"):
        load_settings({"PRIVALYTICS_EVENT_RETENTION_DAYS": "3"})
    longer = {
        "PRIVALYTICS_SALT_ROTATION": "7d",
        "PRIVALYTICS_MAX_EVENT_AGE_HOURS": "49",
        "PRIVALYTICS_EVENT_RETENTION_DAYS": "11",
    }
    with pytest.raises(ConfigError, match=r"from 12 to 36525: at least a salt window"):
        load_settings(longer)
    assert load_settings({**longer, "PRIVALYTICS_EVENT_RETENTION_DAYS": "12"}).retention_days == 12
    with pytest.raises(ConfigError, match=r"from 4 to 36525"):
        load_settings({"PRIVALYTICS_EVENT_RETENTION_DAYS": "36526"})
