"""The HTTP suite's fixtures: an app on memory services (``api``) and a project."""

from tests.unit.http.conftest import api, project

__all__ = ["api", "project"]
