"""The dashboard says when a view reaches before the raw events kept (raw-event
retention): the project page and a details page of a range before raw_from carry a note,
the same pages within the kept days do not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from privalytics.domain.services import IngestSettings
from privalytics.testing import ManualClock, make_services
from tests.unit.dashboard.conftest import Browser, open_dashboard

NOTE = 'data-testid="raw-from"'


@pytest.fixture
def kept(clock: ManualClock) -> Iterator[Browser]:
    services = make_services(clock, IngestSettings(event_retention_days=30))
    for browser in open_dashboard(clock, services=services):
        assert browser.sign_in().status_code == 303
        yield browser


def test_a_filtered_range_before_raw_from_carries_the_note(kept: Browser) -> None:
    project_id, _ = kept.create_project()
    base = f"/dashboard/projects/{project_id}"
    before = "period=custom&from=2025-11-01&to=2025-12-20"
    response = kept.client.get(f"{base}?{before}&filter=page%3D%3D%2F")
    assert response.status_code == 200
    page = response.text
    assert NOTE in page
    assert "Events before 2025-12-02 (UTC) are no longer kept" in page
    details = kept.client.get(f"{base}/breakdown/page?{before}&filter=page%3D%3D%2F").text
    assert NOTE in details
    # Whole days unfiltered come from the daily totals: no note.
    assert NOTE not in kept.client.get(f"{base}/breakdown/page?{before}").text
    # Within the kept days: no note, filters or not.
    assert NOTE not in kept.client.get(f"{base}?period=7d&filter=page%3D%3D%2F").text


def test_without_retention_there_is_no_note(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    page = signed_in.client.get(
        f"/dashboard/projects/{project_id}?period=custom&from=2020-01-01&to=2025-12-20"
        "&filter=page%3D%3D%2F"
    )
    assert page.status_code == 200
    assert NOTE not in page.text
