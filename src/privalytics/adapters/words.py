"""How figures and missing values are written for people: the dashboard and the
terminal say them alike."""

from __future__ import annotations

# What a missing value is called, per dimension (a visit with no source came directly).
_NONE = {
    "source": "Direct / none",
    "referrer": "Direct / none",
    **dict.fromkeys(
        ("country", "region", "city", "browser", "browser_version", "os", "os_version", "device"),
        "(unknown)",
    ),
}


def missing_label(dimension: str) -> str:
    return _NONE.get(dimension, "(none)")


def duration_text(seconds: int | None) -> str:
    """A visit duration as people read it: 45s, 3m 07s, 1h 02m."""
    if seconds is None:
        return "\u2013"
    if seconds < 60:
        return f"{seconds}s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
