"""Another console's change appears in this one's open window: the list row and the detail pane, in place."""

from __future__ import annotations

from console.models.changes import ChangeWatcher
from console.models.demo import generate
from console.models.enums import SlsState
from console.models.settings import Figures
from console.views.live_changes import LiveChanges
from console.views.main_window import MainWindow
from tests.desk_process import run_desks
from tests.views.desks import desk_for, settle


def test_another_desks_opt_in_shows_in_the_open_window_keeping_selection_and_scroll(qtbot, ctx, clock, world,
                                                                                    agent, admin, tmp_path):
    """This desk shows jsmit001 (opted out) halfway down a list of a few hundred users; a console in another
    process starts her opt-in. Without anyone touching this window, her row and detail say pending, she is
    still the selected user, and the list has not moved."""
    generate(ctx, Figures(), 300, seed=11, actor=admin)  # the database has staff: an administrator adds demo data
    desk = desk_for(ctx, agent)
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window.model.loading and window.model.rowCount() > 300, timeout=15000)
    assert window.select_user(world.primary_id)
    settle(qtbot, window.desk)  # the detail pane reads the user off the GUI thread
    scroll = window.table.verticalScrollBar().value()
    assert scroll > 0 and window.detail.details.sls_state is SlsState.opted_out
    live = LiveChanges(ChangeWatcher(ctx.db), desk.bus)
    live.start()
    try:
        [answer] = run_desks(ctx.db, clock, tmp_path, ("start_ib_key", {"user_id": world.primary_id}))
        assert answer["outcome"] == "done", answer

        def listed_pending() -> bool:  # the list reloads its rows on its own loader, after or before the detail
            row = window.model.row_of_user(world.primary_id)
            listed = window.model.row_at(row) if row is not None and row >= 0 else None
            return listed is not None and listed.sls_state is SlsState.pending

        qtbot.waitUntil(lambda: window.detail.details is not None
                        and window.detail.details.sls_state is SlsState.pending and listed_pending(), timeout=15000)
    finally:
        live.stop()
    assert window.current_user_id() == world.primary_id
    assert window.table.verticalScrollBar().value() == scroll
    assert "changes made at another desk" in window.statusBar().currentMessage()
