"""Fixtures shared by model and GUI tests: a migrated database, a controllable clock, a secret box."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Passcode hashes at the smallest Argon2 cost: same code path, milliseconds (tests/test_passcode_hash.py checks
# that real installs get the default cost).
os.environ.setdefault("SLS_CONSOLE_PASSCODE_HASH_COST", "1,8,1")

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from console.models.clock import ManualClock
from console.models.context import Actor, ServiceContext
from console.models.db import Database
from console.models.enums import StaffRole
from console.models.schema import upgrade
from console.models.sealing import SecretBox
from tests.factories import World, build_world
from tests.sessions import signed_in

TEST_KEY = bytes(range(32))

# Hypothesis profiles. "ci" (the default) keeps the whole suite fast; "thorough" searches longer, e.g.
# SLS_HYPOTHESIS_PROFILE=thorough scripts/test tests/test_fuzz_services.py. The stateful test's sequences and
# steps per sequence come from here.
settings.register_profile("ci", max_examples=50, stateful_step_count=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("thorough", max_examples=300, stateful_step_count=80, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
# "debug": no shrinking, to see a failing sequence at once (shrinking a long sequence can take minutes).
settings.register_profile("debug", parent=settings.get_profile("ci"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile(os.environ.get("SLS_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def _desk_preferences_kept_apart(tmp_path_factory):
    """Window layout and theme (QSettings) go to a folder of this run, never the tester's own preferences."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path_factory.mktemp("qsettings"))
    for form in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(form, QSettings.Scope.UserScope, folder)


_GUI_COLLECTOR: list[Any] = []


@pytest.fixture(autouse=True)
def _cycles_collected_on_the_gui_thread(request):
    """As in the console (console/views/collector.py): once a test drives Qt, cycles are collected on this,
    the GUI thread, after each test and on its timer, never by a worker thread that happens to allocate."""
    if not _GUI_COLLECTOR and {"qtbot", "qapp"} & set(request.fixturenames):
        from console.views.collector import collect_on_gui_thread

        _GUI_COLLECTOR.append(collect_on_gui_thread(request.getfixturevalue("qapp")))
    yield
    if _GUI_COLLECTOR:
        _GUI_COLLECTOR[0].collect()


def _database_url(tmp_path) -> str:
    # SLS_TEST_DATABASE_URL points the model suite at another server (CI runs it on PostgreSQL too).
    return os.environ.get("SLS_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite3'}"


_TEMPLATE: dict[str, Path] = {}


def fresh_database(directory: str) -> Database:
    """A migrated, empty database for code that cannot use the `db` fixture (a stateful test's examples):
    on SQLite a copy of a file migrated once per run; on a server, the schema reset and migrated again."""
    url = os.environ.get("SLS_TEST_DATABASE_URL")
    if url:
        from tests.pg import reset_schema

        database = Database(url)
        reset_schema(database)
        upgrade(database)
        return database
    if "sqlite" not in _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="sls-template-")) / "template.sqlite3"
        template_db = Database(f"sqlite:///{template}")
        upgrade(template_db)
        template_db.dispose()
        _TEMPLATE["sqlite"] = template
    target = Path(directory) / "test.sqlite3"
    shutil.copyfile(_TEMPLATE["sqlite"], target)
    return Database(f"sqlite:///{target}")


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


# Staff fixtures are signed-in sessions: services refuse an Actor made by hand.
@pytest.fixture
def immediate_sharing(ctx, admin) -> None:
    """Shares across entities approved at once (the compliance review switched off), for tests of the share
    itself; tests of the review leave it on, as it is by default."""
    from console.models.settings_service import SettingsService

    SettingsService(ctx).update(admin, "sharing_review_across_entities", 0)


@pytest.fixture
def compliance(ctx) -> Actor:
    return signed_in(ctx, "comp01", "Carla Compliance", StaffRole.compliance)


@pytest.fixture
def agent(ctx) -> Actor:
    return signed_in(ctx, "hdesk01", "Harriet Desk", StaffRole.help_desk)


@pytest.fixture
def back_office(ctx) -> Actor:
    return signed_in(ctx, "boff01", "Bob Office", StaffRole.back_office)


@pytest.fixture
def auditor(ctx) -> Actor:
    return signed_in(ctx, "audit01", "Ada Auditor", StaffRole.auditor)


@pytest.fixture
def admin(ctx) -> Actor:
    return signed_in(ctx, "admin01", "Alex Admin", StaffRole.administrator)


@pytest.fixture
def desk_db(db):
    """The test database as seen by its `<owner>_desk` role (created by .ci/postgres.sh), after `db grant`."""
    if db.is_sqlite:
        pytest.skip("roles and privileges are PostgreSQL's")
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from console.models.db_roles import grant_console_role

    url = make_url(db.url)
    role = f"{url.username}_desk"
    with db.engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
            pytest.skip(f"no role {role}: run .ci/postgres.sh to create it")
    grant_console_role(db, role)
    desk = Database(url.set(username=role, password=role).render_as_string(hide_password=False))
    yield desk
    desk.dispose()


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
