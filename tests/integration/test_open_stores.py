"""What ``open_stores`` builds over one engine."""

from __future__ import annotations

from pathlib import Path

from privalytics.adapters.sqlalchemy import open_stores


async def test_the_event_store_reads_the_rollups_over_the_same_engine(tmp_path: Path) -> None:
    """The one reader of the rollups (its built statements cost about 3 ms each) reads the
    database the stores write."""
    stores = open_stores(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        assert stores.events.rollups.engine is stores.engine
        assert stores.events.engine is stores.engine
    finally:
        await stores.dispose()
