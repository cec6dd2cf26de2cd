"""What ``open_stores`` builds over one engine."""

from __future__ import annotations

from pathlib import Path

from privalytics.adapters.sqlalchemy import open_stores


async def test_the_event_store_and_the_queries_share_one_rollup_reader(tmp_path: Path) -> None:
    """One reader per engine: the statements it builds (about 3 ms each) serve both."""
    stores = open_stores(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        assert stores.events.rollups is stores.queries.rollups
        assert stores.queries.rollups.engine is stores.engine
    finally:
        await stores.dispose()
