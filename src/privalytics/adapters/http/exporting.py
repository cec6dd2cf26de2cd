"""The answer that streams a project's raw events as a file: one for the admin API and the
dashboard alike (the format checked, the file named after the project and the range)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.response import Stream

from privalytics.adapters.export import FORMATS, MEDIA_TYPES, encoded
from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Event, TimeRange


def check_format(form: str) -> str:
    """``form`` when it is an export format; a 400 naming the formats otherwise."""
    if form not in FORMATS:
        raise InvalidInput(f"must be one of {', '.join(FORMATS)}", field="format")
    return form


def export_stream(
    project_id: str, span: TimeRange, form: str, batches: AsyncIterator[list[Event]]
) -> Stream:
    """The events of ``batches`` as a download named after the project and the range."""
    name = f"privalytics-{project_id}-{span.start:%Y%m%d}-{span.end:%Y%m%d}.{form}"
    return Stream(
        encoded(form, batches),
        media_type=MEDIA_TYPES[form],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
