"""Project and token ids taken from request paths, checked before any store sees them.

The domain makes every project, token, goal and funnel id with ``secrets.token_hex(8)``:
16 lowercase hex digits. Any other text names nothing, so it is a 404 without a store
look-up; sent on, a NUL in it would make PostgreSQL fail the query
(CharacterNotInRepertoireError) and an over-long one would cost a query for nothing.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from privalytics.domain.errors import NotFound

ID_PATTERN = "[0-9a-f]{16}"
_ID = re.compile(ID_PATTERN)
# Path parameters that carry an id, and what they name.
PATH_IDS = {
    "project_id": "project",
    "token_id": "token",
    "goal_id": "goal",
    "funnel_id": "funnel",
}


def is_id(text: str) -> bool:
    """Whether ``text`` could be a project, token, goal or funnel id."""
    # fullmatch, not match with "$": "$" also matches before a trailing newline.
    return _ID.fullmatch(text) is not None


def known_ids(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: a route whose path has a project or token id that is not well-formed is a
    404 (the message does not repeat the id)."""
    params = connection.path_params
    for key, what in PATH_IDS.items():
        value = params.get(key)
        if value is not None and not is_id(str(value)):
            raise NotFound(f"no {what} with this id: ids are 16 lowercase hex digits")
