"""The tests run on a locked, known-good set of versions (requirements/lock.txt), so a
release published after the lock cannot fail a fresh machine's test command; the lock
covers every dependency and every extra, within the ranges pyproject.toml allows."""

from __future__ import annotations

import configparser
import os
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"not an exact pin: {line}"
            pins[canonicalize_name(name)] = pinned.split(";")[0].strip()
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        texts.extend(extra)
    return [Requirement(text) for text in texts]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pins = _locked()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements/lock.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{requirement.name}=={pins[name]} is outside {requirement.specifier}"
        )


def test_tox_installs_every_env_from_the_lock_but_newest() -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    assert "--constraint {toxinidir}/requirements/lock.txt" in tox["testenv"]["install_command"]
    for env in tox["tox"]["envlist"].replace(",", " ").split():
        command = tox[f"testenv:{env}"].get("install_command", tox["testenv"]["install_command"])
        assert "requirements/lock.txt" in command, env
    assert "lock.txt" not in tox["testenv:newest"]["install_command"]


def test_the_running_env_has_the_locked_versions() -> None:
    env = os.environ.get("TOX_ENV_NAME")
    if env is None or env == "newest":
        pytest.skip("checked in the tox envs, which install from the lock")
    mismatched = {}
    for name, pinned in _locked().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # an extra that this env does not install
        if installed != pinned:
            mismatched[name] = (installed, pinned)
    assert not mismatched
