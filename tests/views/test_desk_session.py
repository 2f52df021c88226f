"""Sign out and lock without quitting: the next staff member gets a clean desk; the same one gets theirs back."""

import pytest
from PySide6.QtWidgets import QApplication

from console.gui import DeskSession


class _SignIns:
    """Who signs in next at the sign-in dialog (None: the dialog is cancelled)."""

    def __init__(self, *actors) -> None:
        self.queue = list(actors)

    def __call__(self):
        return self.queue.pop(0)


@pytest.fixture
def app(qapp):
    yield qapp
    qapp.setQuitOnLastWindowClosed(True)


def _session(app, ctx, *actors) -> DeskSession:
    session = DeskSession(app, ctx, None, _SignIns(*actors))
    assert session.sign_in()
    return session


def test_sign_out_then_next_staff_member_starts_with_a_clean_desk(qtbot, app, ctx, world, agent, back_office):
    """File → Sign out closes the desk without quitting; the next sign-in opens a new window with no search."""
    session = _session(app, ctx, agent, back_office)
    first = session.window
    first.filter_edit.setText("jsmit")
    first.apply_filter()
    qtbot.waitUntil(lambda: first.model.rowCount() == 2)
    first.sign_out_action.trigger()
    second = session.window
    assert second is not first and second.isVisible() and not first.isVisible()
    assert second.services.actor == back_office
    qtbot.waitUntil(lambda: not second.model.loading)  # the list is read off the GUI thread
    assert second.filter_edit.text() == "" and second.model.rowCount() == 4
    qtbot.addWidget(second)


def test_lock_hides_the_desk_and_the_same_staff_member_gets_it_back(qtbot, app, ctx, world, agent):
    """Ctrl+L hides every window; signing in again as the same staff member shows the same desk, search kept."""
    session = _session(app, ctx, agent, agent)
    window = session.window
    window.filter_edit.setText("jsmit")
    window.lock_action.trigger()
    assert session.window is window and window.isVisible() and window.filter_edit.text() == "jsmit"
    assert window.lock_action.shortcut().toString() == "Ctrl+L"
    qtbot.addWidget(window)


def test_lock_then_another_staff_member_gets_a_clean_desk(qtbot, app, ctx, world, agent, back_office):
    """After a lock, a different staff member signing in does not see the previous desk."""
    session = _session(app, ctx, agent, back_office)
    window = session.window
    window.filter_edit.setText("jsmit")
    window.lock_action.trigger()
    assert session.window is not window and session.window.services.actor == back_office
    assert session.window.filter_edit.text() == ""
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == [session.window]
    qtbot.addWidget(session.window)


def test_after_sign_in_the_keyboard_is_in_find(qtbot, app, ctx, world, agent):
    """The main window opens active with the keyboard in Find, chosen by the window itself (not left to which
    widget happens to come first): typed text lands there without Ctrl+F."""
    session = _session(app, ctx, agent)
    window = session.window
    qtbot.addWidget(window)
    assert window.focusWidget() is window.filter_edit  # set before it shows, not left to the platform
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.filter_edit, timeout=5000)
    assert QApplication.activeWindow() is window
    qtbot.keyClicks(QApplication.focusWidget(), "jsmit")
    assert window.filter_edit.text() == "jsmit"
