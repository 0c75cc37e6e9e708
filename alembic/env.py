"""Alembic runs against HOMEWORK_DATABASE_URL (or a connection handed in by tests)."""

from alembic import context
from service import models  # noqa: F401  (registers the tables)
from service.db import Base, get_engine

target_metadata = Base.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    with get_engine().connect() as conn:
        context.configure(
            connection=conn, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()


run()
