"""The Alembic migrations build exactly the schema the models declare, on either engine."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.db import Base, get_engine

# procrastinate's job-queue tables live beside ours on PostgreSQL; they are not ours to model
FOREIGN_PREFIX = "procrastinate_"


def _ours(name: str | None, type_: str, _parents: object) -> bool:
    return not (type_ == "table" and str(name).startswith(FOREIGN_PREFIX))


def test_migrated_database_matches_the_models():
    with get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_name": _ours})
        assert compare_metadata(context, Base.metadata) == []
