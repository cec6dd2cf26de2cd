"""The dashboard says when a range includes imported data (``privalytics import``): the
project page and a details page of a range holding imported events carry a notice, a
range without any does not."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta
from pathlib import Path

from privalytics.adapters.importformats import parse, sha256_of
from privalytics.domain.importing import ACCESS_LOG
from tests.unit.dashboard.conftest import Browser

NOTE = 'data-testid="imported"'
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36"


def test_a_range_with_imported_events_carries_the_notice(
    signed_in: Browser, tmp_path: Path
) -> None:
    project_id, _ = signed_in.create_project()
    day = signed_in.clock.now().astimezone(UTC) - timedelta(days=3)
    when = day.strftime("%d/%b/%Y:%H:%M:%S +0000")
    log = tmp_path / "access.log"
    log.write_text(f'81.2.69.142 - - [{when}] "GET /a HTTP/1.1" 200 1 "-" "{CHROME}"\n')
    importing = signed_in.services.importing
    assert importing is not None
    asyncio.run(
        importing.run(
            project_id,
            form=ACCESS_LOG,
            sha256=sha256_of(log),
            read=lambda: parse(log, ACCESS_LOG),
        )
    )
    base = f"/dashboard/projects/{project_id}"
    page = signed_in.client.get(f"{base}?period=7d")
    assert page.status_code == 200
    assert NOTE in page.text
    assert "This range includes imported data" in page.text
    assert NOTE in signed_in.client.get(f"{base}/breakdown/page?period=7d").text
    # A range that ends before the imported day: no notice.
    before = (day - timedelta(days=1)).strftime("%Y-%m-%d")
    earlier = f"period=custom&from={(day - timedelta(days=20)):%Y-%m-%d}&to={before}"
    assert NOTE not in signed_in.client.get(f"{base}?{earlier}").text
