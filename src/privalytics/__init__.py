"""privalytics: self-hosted, privacy-first web analytics.

The public API is what ``__all__`` lists; everything else may change between releases.
"""

from privalytics.config import Settings
from privalytics.domain.errors import (
    ConfigError,
    InvalidInput,
    NotFound,
    OriginNotAllowed,
    PrivalyticsError,
    RateLimited,
    StorageUnavailable,
    Unauthenticated,
)
from privalytics.domain.models import (
    Action,
    Bucket,
    ClientInfo,
    CreatedProject,
    IncomingEvent,
    IssuedToken,
    PageStats,
    Project,
    ProjectUpdate,
    RateLimit,
    Stats,
    TimeRange,
    TokenInfo,
)
from privalytics.domain.reporting import Breakdown
from privalytics.embedded import Privalytics

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Breakdown",
    "Bucket",
    "ClientInfo",
    "ConfigError",
    "CreatedProject",
    "IncomingEvent",
    "InvalidInput",
    "IssuedToken",
    "NotFound",
    "OriginNotAllowed",
    "PageStats",
    "Privalytics",
    "PrivalyticsError",
    "Project",
    "ProjectUpdate",
    "RateLimit",
    "RateLimited",
    "Settings",
    "Stats",
    "StorageUnavailable",
    "TimeRange",
    "TokenInfo",
    "Unauthenticated",
    "__version__",
]
