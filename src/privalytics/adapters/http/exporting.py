"""The answer that hands a project's data out as a file: one for the admin API and the
dashboard alike (the format checked, the file named after the project and the range).

``csv`` and ``jsonl`` stream the raw events; ``plausible-zip`` is the figures day by day
in the layout of Plausible's CSV export (:mod:`privalytics.adapters.plausiblezip`), made
whole before the answer starts, so that a failure is an error answer, not half a zip."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Response
from litestar.response import Stream

from privalytics.adapters import plausiblezip
from privalytics.adapters.export import FORMATS, MEDIA_TYPES, encoded
from privalytics.domain.daily import days_of
from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Event, TimeRange
from privalytics.domain.services import Services

EXPORT_FORMATS = (*FORMATS, plausiblezip.FORMAT)
EXPORT_MEDIA_TYPES = {**MEDIA_TYPES, plausiblezip.FORMAT: plausiblezip.MEDIA_TYPE}


def check_format(form: str) -> str:
    """``form`` when it is an export format; a 400 naming the formats otherwise."""
    if form not in EXPORT_FORMATS:
        raise InvalidInput(f"must be one of {', '.join(EXPORT_FORMATS)}", field="format")
    return form


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def export_stream(
    project_id: str, span: TimeRange, form: str, batches: AsyncIterator[list[Event]]
) -> Stream:
    """The events of ``batches`` as a download named after the project and the range."""
    name = f"privalytics-{project_id}-{span.start:%Y%m%d}-{span.end:%Y%m%d}.{form}"
    return Stream(encoded(form, batches), media_type=MEDIA_TYPES[form], headers=_attachment(name))


async def export_answer(
    services: Services, project_id: str, span: TimeRange, form: str
) -> Response[Any]:
    """The project's export of ``span`` in ``form`` (checked by :func:`check_format`)."""
    if form != plausiblezip.FORMAT:
        return export_stream(
            project_id, span, form, await services.reporting.export(project_id, span)
        )
    project = await services.admin.get_project(project_id)
    days = days_of(span)
    data = await plausiblezip.archive(
        await services.reporting.daily(project.id, span, plausiblezip.DIMENSIONS),
        days[0],
        days[-1],
        hostname=plausiblezip.hostname_of(project.allowed_origins),
    )
    name = f"privalytics-{project.id}-{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}-plausible.zip"
    return Response(data, media_type=plausiblezip.MEDIA_TYPE, headers=_attachment(name))
