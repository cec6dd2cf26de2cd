"""``python -m benchmarks.memory_server PORT TOKEN_FILE``: privalytics on memory:// under
uvicorn with the options of ``privalytics serve``, with a project made in process (its
token written to TOKEN_FILE): what HTTP and the domain cost without durable storage.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import uvicorn

from privalytics import bootstrap
from privalytics.config import Settings
from privalytics.domain.models import RateLimit


def main() -> None:
    port, token_file = int(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(database_url="memory://", rate_limit_url="memory://")
    services = bootstrap.build(settings)
    created = asyncio.run(
        services.admin.create_project(
            "bench", rate_limit=RateLimit(events=1_000_000, period_seconds=1)
        )
    )
    token_file.write_text(created.token.token)
    uvicorn.run(
        bootstrap.create_app(settings, services),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
