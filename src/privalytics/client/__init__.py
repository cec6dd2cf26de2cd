"""Send events from a backend to a privalytics server: sync and async clients on httpx.

Both keep the host application safe first: :meth:`track` never blocks and never raises;
it checks the event with the server's own rules (:mod:`privalytics.domain.validation`)
and puts it in a bounded queue, or returns ``False`` (counting it in ``dropped``) when
the event is malformed (with a warning naming the field) or the queue is full. A
background worker (a thread for :class:`Client`, a task for :class:`AsyncClient`) sends
batches to ``POST /api/v1/events/batch``, retrying connection errors, 429 and 5xx with
exponential backoff and jitter (a server's ``Retry-After`` is honoured). A batch the
server refuses as invalid (400) is sent again without the event the answer names (one
by one when it names none), so that a bad event never costs its neighbours; an event or
batch refused otherwise (another 4xx), or out of ``max_retries``, is given up and
counted in ``failed``. ``close()`` / ``aclose()``
flush what is queued within a timeout (one deadline for all of it); :class:`Client` also
closes itself at exit, within ``AT_EXIT_TIMEOUT`` seconds, and starts a new worker in a
forked child (a pre-forking server's workers), whose copy of the parent's queue it drops:
the parent sends those.

>>> client = Client("https://stats.example.com", "pvt_...")  # a server token
>>> client.track("visit", "/pricing", visitor_ip=request_ip, user_agent=agent)
True

Give it a **server token** (``privalytics project token rotate ID --server``, or
``POST /api/v1/projects/{id}/tokens?kind=server``): the server accepts ``visitor_ip`` and
``user_agent`` only from those, and answers 403 to a browser token's events that carry
them (a browser token is public, so it could otherwise make up visitors). Keep it on the
server: never in a page. The visitor's address and agent are hashed by the server into a
daily visitor id and never stored.

What both clients share is in :mod:`~privalytics.client.options` (options, counters,
checking and ``track``) and :mod:`~privalytics.client.delivery` (retries and the split of
a refused batch, without I/O); :mod:`~privalytics.client.sync` and
:mod:`~privalytics.client.aio` only move bytes and wait.
"""

from privalytics.client.aio import AsyncClient
from privalytics.client.delivery import BATCH_PATH, RETRYABLE, Delivery, retry_delay
from privalytics.client.options import (
    MAX_BATCH,
    ClientOptions,
    Counters,
    checked_event,
    logger,
    make_event,
)
from privalytics.client.sync import AT_EXIT_TIMEOUT, Client

__all__ = [
    "AT_EXIT_TIMEOUT",
    "BATCH_PATH",
    "MAX_BATCH",
    "RETRYABLE",
    "AsyncClient",
    "Client",
    "ClientOptions",
    "Counters",
    "Delivery",
    "checked_event",
    "logger",
    "make_event",
    "retry_delay",
]
