"""The HTTP adapter (Litestar): ingestion, admin API, health, OpenAPI."""

from privalytics.adapters.http.app import HttpOptions, create_app
from privalytics.adapters.http.clientip import TrustedProxies, client_ip

__all__ = ["HttpOptions", "TrustedProxies", "client_ip", "create_app"]
