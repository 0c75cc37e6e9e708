"""A real database per run (SQLite, or PostgreSQL via HOMEWORK_TEST_DATABASE_URL),
migrated by Alembic; every test starts from empty tables."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
_TMP = Path(tempfile.mkdtemp(prefix="homework-test-"))
DATABASE_URL = os.environ.get("HOMEWORK_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
os.environ["HOMEWORK_DATABASE_URL"] = DATABASE_URL
os.environ.pop("HOMEWORK_LLM_MODEL", None)
# tests drive webhook delivery themselves (deliver_due), so no background poller races them
os.environ["HOMEWORK_WEBHOOK_DISPATCH"] = "false"

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from service.config import ROOT  # noqa: E402
from service.db import Base, get_engine  # noqa: E402
from tests.factories import Tenant, make_tenant  # noqa: E402


def _migrate() -> None:
    from alembic.config import Config

    from alembic import command

    config = Config(str(ROOT / "alembic.ini"))
    if DATABASE_URL.startswith("postgresql"):
        with get_engine().begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    command.upgrade(config, "head")
    if DATABASE_URL.startswith("postgresql"):  # the job queue's tables, as `homework migrate`
        from service.workflow.queue import apply_schema

        apply_schema(DATABASE_URL)


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[None]:
    if os.environ.get("CI") == "true" and os.environ.get("HOMEWORK_REQUIRE_POSTGRES") == "1":
        assert DATABASE_URL.startswith("postgresql"), "CI's PostgreSQL run must use PostgreSQL"
    _migrate()
    yield


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    yield
    with get_engine().begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _postgres_marker(request: pytest.FixtureRequest) -> None:
    """`postgres` tests run on PostgreSQL; elsewhere they skip, except in CI with no
    PostgreSQL server at all, where a skip would hide that they never run: that fails."""
    if request.node.get_closest_marker("postgres") is None or DATABASE_URL.startswith(
            "postgresql"):
        return
    if os.environ.get("CI") == "true" and not _postgres_listening():
        pytest.fail("CI has no PostgreSQL: the `postgres` tests would never run")
    pytest.skip("PostgreSQL only; runs when HOMEWORK_TEST_DATABASE_URL is PostgreSQL")


def _postgres_listening() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5432), 2):
        return True
    return False


@pytest.fixture(scope="session")
def app():  # type: ignore[no-untyped-def]
    from service.app import create_app

    return create_app()


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@pytest.fixture
def tenant() -> Tenant:
    return make_tenant("Practice A")


@pytest.fixture
def other_tenant() -> Tenant:
    return make_tenant("Practice B")
