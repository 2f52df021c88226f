"""Fixtures shared by model and GUI tests: a migrated database, a controllable clock, a secret box."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from console.models.clock import ManualClock
from console.models.context import Actor, ServiceContext
from console.models.db import Database
from console.models.enums import StaffRole
from console.models.schema import upgrade
from console.models.sealing import SecretBox
from tests.factories import World, build_world

TEST_KEY = bytes(range(32))


def _database_url(tmp_path) -> str:
    # SLS_TEST_DATABASE_URL points the model suite at another server (CI runs it on PostgreSQL too).
    return os.environ.get("SLS_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(TEST_KEY)


@pytest.fixture
def db(tmp_path):
    url = _database_url(tmp_path)
    database = Database(url)
    if not database.is_sqlite:
        from tests.pg import reset_schema

        reset_schema(database)
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def ctx(db, box, clock) -> ServiceContext:
    return ServiceContext(db=db, box=box, clock=clock)


@pytest.fixture
def world(ctx) -> World:
    return build_world(ctx)


@pytest.fixture
def immediate_sharing(ctx) -> None:
    """Shares across entities approved at once (the compliance review switched off), for tests of the share
    itself; tests of the review leave it on, as it is by default."""
    from console.models.context import SYSTEM_ACTOR
    from console.models.settings_service import SettingsService

    SettingsService(ctx).update(SYSTEM_ACTOR, "sharing_review_across_entities", 0)


@pytest.fixture
def compliance() -> Actor:
    return Actor("comp01", "Carla Compliance", StaffRole.compliance)


@pytest.fixture
def agent() -> Actor:
    return Actor("hdesk01", "Harriet Desk", StaffRole.help_desk)


@pytest.fixture
def back_office() -> Actor:
    return Actor("boff01", "Bob Office", StaffRole.back_office)


@pytest.fixture
def auditor() -> Actor:
    return Actor("audit01", "Ada Auditor", StaffRole.auditor)


@pytest.fixture
def admin() -> Actor:
    return Actor("admin01", "Alex Admin", StaffRole.administrator)


@pytest.fixture
def fast_hasher():
    """Argon2id with the smallest cost: same algorithm and code path, milliseconds instead of ~50 ms."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def staff_service(ctx, fast_hasher):
    from console.models.staff import StaffService

    return StaffService(ctx, hasher=fast_hasher)


def pytest_collection_modifyitems(config, items):
    # Tests under tests/views/, and any using qtbot/qapp, drive Qt: marked `gui` so the PostgreSQL run
    # can select the model suite alone with `-m "not gui and not e2e"`.
    for item in items:
        uses_qt = {"qtbot", "qapp"} & set(getattr(item, "fixturenames", ()))
        if uses_qt or "/tests/views/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.gui)
