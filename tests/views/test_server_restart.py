"""The PostgreSQL server stops and starts under an open console: it says it is reconnecting, keeps what the
agent typed, shows no traceback, and carries on. Needs a server the test may stop: SLS_TEST_PG_CTL is the
command that takes `stop` and `start` for the server SLS_TEST_DATABASE_URL points at (.ci/run sets both for a
cluster of its own)."""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest

from console.models.changes import ChangeWatcher
from console.models.settings_service import SettingsService
from console.views.live_changes import LiveChanges
from console.views.main_window import MainWindow
from console.views.settings_dialog import SettingsDialog
from tests.views.desks import desk_for, settle

PG_CTL = os.environ.get("SLS_TEST_PG_CTL", "")
pytestmark = pytest.mark.skipif(not PG_CTL, reason="needs a PostgreSQL server this test may restart "
                                                   "(SLS_TEST_PG_CTL)")

RECONNECTING = "reconnecting"


def server(command: str) -> None:
    subprocess.run([*shlex.split(PG_CTL), command], check=True, capture_output=True, timeout=120)


def test_console_rides_out_a_server_restart(qtbot, ctx, world, admin):
    """Server stopped under an open window and a settings dialog holding a typed value: the status bar says
    it is reconnecting, Save says so and keeps the value; once the server is back, Save stores it."""
    desk = desk_for(ctx, admin)
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    settle(qtbot, window.desk)  # the list is read off the GUI thread
    live = LiveChanges(ChangeWatcher(ctx.db), desk.bus)
    live.connection.connect(window.show_connection)
    live.start()
    dialog = SettingsDialog(desk, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.loading, timeout=10000)  # the figures are read off the GUI thread
    dialog.set_value("online_card_validity_days", 33)  # what the agent typed
    try:
        server("stop")
        try:
            qtbot.waitUntil(lambda: RECONNECTING in window.statusBar().currentMessage(), timeout=20000)
            dialog.save()  # runs on the desk's worker thread: wait for its one report
            qtbot.waitUntil(lambda: dialog.last_message is not None, timeout=30000)
            assert dialog.saved is None and RECONNECTING in dialog.last_message.text()
            assert dialog.entered()["online_card_validity_days"] == 33
        finally:
            server("start")
        qtbot.waitUntil(lambda: RECONNECTING not in window.statusBar().currentMessage(), timeout=30000)
        dialog.last_message.close()
        dialog.save()
        qtbot.waitUntil(lambda: dialog.saved is not None, timeout=30000)
        assert dialog.saved == {"online_card_validity_days": 33}
        window.refresh()
        qtbot.waitUntil(lambda: not window.model.loading and window.model.rowCount() == 4, timeout=15000)
    finally:
        live.stop()
    assert SettingsService(ctx).figures().online_card_validity_days == 33
