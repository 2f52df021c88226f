"""When a service refuses because the desk's session has ended (idle past the timeout, signed out elsewhere),
the desk locks and offers sign-in saying why: the same staff member gets the desk back as it was, on its own
session; anyone else starts a clean desk."""

import pyotp
import pytest
import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from console.gui import DeskSession, ask_sign_in
from console.models.enums import StaffRole
from console.views.sign_in_dialog import SignInDialog
from tests.views.desks import settle

PASSWORD = "correct horse battery"


@pytest.fixture
def app(qapp):
    opened.clear()
    yield qapp
    for session in opened:  # each test's desk stops listening before the next test's desk ends a session
        session._close_desk()
    qapp.setQuitOnLastWindowClosed(True)


opened: list[DeskSession] = []


@pytest.fixture
def people(staff_service, clock):
    alex = staff_service.add_first_administrator("alex", "Alex Admin", PASSWORD)
    admin = staff_service.sign_in("alex", PASSWORD, pyotp.TOTP(alex.totp_secret).at(clock.now()))
    bea = staff_service.add(admin, "bea", "Bea Desk", StaffRole.help_desk, PASSWORD)
    staff_service.sign_out(admin)
    return {"alex": alex, "bea": bea}


def code(enrollment, clock):
    clock.advance(seconds=30)  # a fresh time step: each code is accepted once
    return pyotp.TOTP(enrollment.totp_secret).at(clock.now())


def open_desk(app, ctx, staff_service, people, clock):
    session = DeskSession(app, ctx, staff_service,
                          lambda: staff_service.sign_in("alex", PASSWORD, code(people["alex"], clock)),
                          ask_again=lambda notice, actor: ask_sign_in(staff_service, "test", notice=notice,
                                                                      resume=actor))
    assert session.sign_in()
    opened.append(session)
    return session


def answer_sign_in(qtbot, seen, username, password, totp, shot=None):
    """When the sign-in dialog comes up: note what it says, then sign in as `username` from the keyboard."""
    def answer():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SignInDialog) or not dialog.focusWidget():
            QTimer.singleShot(20, answer)
            return
        seen["notice"] = dialog.notice.text()
        seen["title"] = dialog.windowTitle()
        seen["visible"] = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w is not dialog]
        seen["prefilled"] = dialog.username.text()
        seen["focus"] = dialog.focusWidget().objectName()
        if shot:
            dialog.grab().save(str(shot))
        dialog.username.clear()
        qtbot.keyClicks(dialog.username, username)
        qtbot.keyClicks(dialog.password, password)
        qtbot.keyClicks(dialog.code, totp())
        qtbot.keyClick(dialog.code, Qt.Key.Key_Return)
    QTimer.singleShot(20, answer)


def work_list_action(window):
    return next(a for a in window.findChildren(QAction) if a.objectName() == "openWorkList")


def test_idle_session_locks_the_desk_and_the_same_member_gets_it_back(qtbot, app, ctx, world, staff_service,
                                                                       people, clock, tmp_path):
    """Alex leaves the desk for 31 minutes; the next action (the work list) is refused because the session
    ended: every window hides, the sign-in dialog says why with Alex's name filled in, and after Alex signs in
    the same window is back with its search, working on its own session again."""
    session = open_desk(app, ctx, staff_service, people, clock)
    window = session.window
    qtbot.addWidget(window)
    window.filter_edit.setText("jsmit")
    desk_actor = window.desk.actor
    clock.advance(minutes=31)
    seen = {}
    answer_sign_in(qtbot, seen, "alex", PASSWORD, lambda: code(people["alex"], clock),
                   shot=tmp_path / "session-ended.png")
    work_list_action(window).trigger()
    qtbot.waitUntil(lambda: "notice" in seen and window.isVisible(), timeout=10_000)
    assert seen["title"].startswith("Session ended: sign in again")
    assert "ended after 30 minutes without activity" in seen["notice"] and "alex gets the desk back" in seen["notice"]
    assert seen["visible"] == [] and seen["prefilled"] == "alex" and seen["focus"] == "signInPassword"
    assert session.window is window and window.filter_edit.text() == "jsmit"
    assert window.desk.actor is desk_actor
    assert [m.username for m in staff_service.members(desk_actor)] == ["alex", "bea"]  # the session lives again
    assert not [w for w in QApplication.topLevelWidgets() if w.objectName() == "errorBox" and w.isVisible()]
    settle(qtbot, window.desk)


def test_signed_out_elsewhere_then_another_member_starts_a_clean_desk(qtbot, app, ctx, world, staff_service,
                                                                       people, clock):
    """Alex's session is ended from elsewhere; Bea signs in at the dialog instead: Alex's window closes and Bea
    gets a new, empty desk with her own role."""
    session = open_desk(app, ctx, staff_service, people, clock)
    window = session.window
    window.filter_edit.setText("jsmit")
    staff_service.sign_out(window.desk.actor)  # as if signed out at another desk
    seen = {}
    answer_sign_in(qtbot, seen, "bea", PASSWORD, lambda: code(people["bea"], clock))
    work_list_action(window).trigger()
    qtbot.waitUntil(lambda: session.window is not None and session.window is not window, timeout=10_000)
    assert "signed out" in seen["notice"]
    fresh = session.window
    qtbot.addWidget(fresh)
    # The old window is closed and deleted later: gone already, or at least hidden (event-loop timing).
    assert (not shiboken6.isValid(window) or not window.isVisible()) and fresh.isVisible()
    assert fresh.desk.actor.username == "bea" and fresh.filter_edit.text() == ""
    settle(qtbot, fresh.desk)


def test_deactivated_member_desk_locks_at_the_next_action(qtbot, app, ctx, world, staff_service, people, clock,
                                                          admin):
    """Another administrator deactivates Alex; Alex's next action (the work list, read on the desk's worker
    thread) is refused and the desk locks saying so; Alex could not sign in again, Bea signs in to a clean desk."""
    session = open_desk(app, ctx, staff_service, people, clock)
    window = session.window
    staff_service.deactivate(admin, "alex")
    seen = {}
    answer_sign_in(qtbot, seen, "bea", PASSWORD, lambda: code(people["bea"], clock))
    work_list_action(window).trigger()
    qtbot.waitUntil(lambda: session.window is not None and session.window is not window, timeout=10_000)
    assert "deactivated" in seen["notice"]
    qtbot.addWidget(session.window)
    assert session.window.desk.actor.username == "bea"
    settle(qtbot, session.window.desk)


def test_the_opt_in_wizard_can_check_the_code_again_once_the_desk_is_back(qtbot, app, ctx, world, staff_service,
                                                                          people, clock):
    """Alex is checking the client's IB Key code when the session ends (idle): the desk locks, Alex signs in again,
    and the wizard is back on the same page with Check code enabled and the reason said there (no box); pressing
    it again enrolls the user. Before, Next stayed disabled until the wizard was opened again."""
    from PySide6.QtWidgets import QLabel, QRadioButton, QWizard

    from console.views.opt_in_wizard import PAGE_DONE, PAGE_VERIFY, OptInWizard

    session = open_desk(app, ctx, staff_service, people, clock)
    window = session.window
    qtbot.addWidget(window)
    wizard = OptInWizard(window.desk, world.primary_id, "jsmit001", window)
    wizard.show()
    wizard.findChild(QRadioButton, "option_ib_key").setChecked(True)
    wizard.next()
    settle(qtbot, window.desk)
    key = wizard.findChild(QLabel, "manualKey").text().replace(" ", "")
    wizard.next()
    assert wizard.currentId() == PAGE_VERIFY
    check = wizard.button(QWizard.WizardButton.NextButton)

    clock.advance(minutes=31)  # Alex talked to the client a long while
    seen: dict = {}
    answer_sign_in(qtbot, seen, "alex", PASSWORD, lambda: code(people["alex"], clock))
    wizard.verify_page.answer.setText(pyotp.TOTP(key).at(clock.now()))
    check.click()
    qtbot.waitUntil(lambda: "notice" in seen and wizard.isVisible(), timeout=10_000)
    settle(qtbot, window.desk)
    assert session.window is window and wizard.currentId() == PAGE_VERIFY and not wizard.busy
    assert check.isEnabled(), "Check code stays disabled after the desk came back"
    assert "ended after 30 minutes without activity" in wizard.verify_page.status.text()
    assert not [w for w in QApplication.topLevelWidgets() if w.objectName() == "errorBox" and w.isVisible()]

    wizard.verify_page.answer.setText(pyotp.TOTP(key).at(clock.now()))
    check.click()
    settle(qtbot, window.desk)
    assert wizard.currentId() == PAGE_DONE


def test_deactivated_members_desk_can_no_longer_search(qtbot, app, ctx, world, staff_service, people, clock, admin):
    """Reads check the session too: after Alex is deactivated, typing in Find (read on the list's loader thread)
    finds nothing for Alex; the desk locks saying why, and Bea signs in to a clean desk."""
    session = open_desk(app, ctx, staff_service, people, clock)
    window = session.window
    staff_service.deactivate(admin, "alex")
    seen = {}
    answer_sign_in(qtbot, seen, "bea", PASSWORD, lambda: code(people["bea"], clock))
    qtbot.keyClicks(window.filter_edit, "smith")
    window.apply_filter()
    qtbot.waitUntil(lambda: session.window is not None and session.window is not window, timeout=10_000)
    assert "deactivated" in seen["notice"]
    assert not [w for w in QApplication.topLevelWidgets() if w.objectName() == "errorBox" and w.isVisible()]
    qtbot.addWidget(session.window)
    assert session.window.desk.actor.username == "bea"
    settle(qtbot, session.window.desk)


def test_deactivated_members_desk_can_no_longer_open_a_user(qtbot, app, ctx, world, staff_service, people, clock,
                                                            admin):
    """Opening a user (the detail pane, read on the desk's worker thread) is refused once Alex is deactivated:
    the pane never shows the user and the desk locks saying why."""
    session = open_desk(app, ctx, staff_service, people, clock)
    window = session.window
    settle(qtbot, window.desk)
    staff_service.deactivate(admin, "alex")
    seen = {}
    answer_sign_in(qtbot, seen, "bea", PASSWORD, lambda: code(people["bea"], clock))
    window.table.selectRow(1)
    qtbot.waitUntil(lambda: session.window is not None and session.window is not window, timeout=10_000)
    assert "deactivated" in seen["notice"]
    assert "visible" in seen and window not in seen["visible"]
    qtbot.addWidget(session.window)
    settle(qtbot, session.window.desk)
