"""The live feed: stored events handed to whoever listens (the dashboard's WebSocket).

Ingestion publishes each batch after its transaction committed. Listeners are adapters
(Litestar channels, in memory or over Redis); with none attached, publishing does
nothing. A listener that fails never fails the ingestion: the events are stored already.
Events carry no address and no user agent, only a visitor hash, which the feed's
adapters do not pass on either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from privalytics.domain.models import Event

Listener = Callable[[Sequence[Event]], None]

logger = logging.getLogger("privalytics.feed")


class LiveFeed:
    """The EventFeed of one process: a list of listeners, called in order."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def attach(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every published batch; returns a function that detaches it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def publish(self, events: Sequence[Event]) -> None:
        for listener in list(self._listeners):
            try:
                listener(events)
            except Exception as exc:  # a broken listener must not lose a stored batch's 202
                logger.warning("live feed listener failed: %s", type(exc).__name__)
