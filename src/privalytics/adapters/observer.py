"""What the event writers tell the server's metrics (adapters/metrics.py)."""

from __future__ import annotations

from typing import Protocol


class CommitObserver(Protocol):
    """Told what an event writer (the group commit, the SQLite writer thread) does. Its
    methods may be called from the writer's thread: they must be thread-safe and quick."""

    def committed(self, events: int, seconds: float) -> None:
        """A transaction of ``events`` committed after ``seconds``."""

    def waited(self, seconds: float) -> None:
        """A caller's events were committed ``seconds`` after it handed them over."""

    def queued(self, requests: int) -> None:
        """``requests`` (callers) were left waiting when the writer took a transaction."""
