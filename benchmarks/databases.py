"""A fresh, empty database for a benchmark run, on either backend, gone afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

# The PostgreSQL server's maintenance database (the benchmark's own is made beside it).
POSTGRES_ADMIN = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def pg_execute(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_database(backend: str, name: str) -> AsyncIterator[str]:
    """The SQLAlchemy URL of an empty database: ``sqlite``, a file in a folder of its own;
    any other backend, the PostgreSQL database ``name`` beside :data:`POSTGRES_ADMIN`'s
    (dropped first if a killed run left it). Removed when the block ends."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        try:
            yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    await pg_execute(POSTGRES_ADMIN, drop)
    await pg_execute(POSTGRES_ADMIN, f'CREATE DATABASE "{name}"')
    dsn = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        await pg_execute(POSTGRES_ADMIN, drop)
