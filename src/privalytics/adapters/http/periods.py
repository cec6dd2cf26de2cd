"""One name for a time range's query parameter: ``period``, with ``range`` accepted as its
alias by the API and the dashboard alike (the dashboard once wrote ``range``)."""

from __future__ import annotations

from privalytics.domain.errors import InvalidInput

ALIAS = "range"


def period_of(period: str | None, alias: str | None) -> str | None:
    """The period a query string names by either name; both, differing, is a 400."""
    if period is not None and alias is not None and period != alias:
        raise InvalidInput(
            f"differs from {ALIAS} ({ALIAS} is another name for period); give one of them",
            field="period",
        )
    return period if period is not None else alias
