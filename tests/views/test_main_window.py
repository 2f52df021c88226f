"""The main window: users list, filters, counts, detail pane and the rights gate, driven as an agent would."""

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from console.models.entities import AuditEntry, User
from console.views.main_window import MainWindow
from tests.views.desks import desk_for, settle


@pytest.fixture
def window(qtbot, ctx, world, admin):
    w = MainWindow(desk_for(ctx, admin))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    return w


def _usernames(w):
    return [w.model.data(w.model.index(r, 0)) for r in range(w.model.rowCount())]


def test_list_shows_every_user_with_state_and_devices(window):
    """All users are listed in username order with their SLS state and active devices."""
    assert _usernames(window) == ["aarch001", "bbake001", "jsmit001", "jsmit123"]
    row = _usernames(window).index("jsmit123")
    assert window.model.data(window.model.index(row, 4)) == "Enrolled"
    assert window.model.data(window.model.index(row, 5)) == 1
    jane = _usernames(window).index("jsmit001")
    assert window.model.data(window.model.index(jane, 4)) == "Opted out"
    assert "No Pink/OTCBB" in window.model.data(window.model.index(jane, 6))


def test_text_filter_is_debounced_then_filters_by_username_name_and_account(window, qtbot):
    """Typing filters after a short pause; username, name and account-number prefixes all match."""
    qtbot.keyClicks(window.filter_edit, "jsmit")
    assert window.model.rowCount() == 4  # not yet: the filter waits for typing to pause
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)
    assert _usernames(window) == ["jsmit001", "jsmit123"]
    window.filter_edit.setText("Bob")
    qtbot.waitUntil(lambda: _usernames(window) == ["bbake001"])
    window.filter_edit.setText("U765")
    qtbot.waitUntil(lambda: _usernames(window) == ["aarch001", "bbake001"])


def test_state_filter_and_counts(window, qtbot):
    """Choosing a state shows only its users; the counts line gives users per state."""
    assert "Enrolled: 2" in window.counts_label.text() and "Opted out: 2" in window.counts_label.text()
    window.state_combo.setCurrentIndex(window.state_combo.findText("Opted out"))
    settle(qtbot, window.desk)  # read off the GUI thread
    assert _usernames(window) == ["bbake001", "jsmit001"]
    assert window.counts_label.text().startswith("2 users shown")


def test_sort_by_clicking_state_header(window, qtbot):
    """Sorting by SLS state puts enrolled users first, descending puts them last."""
    window.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    settle(qtbot, window.desk)
    states = [window.model.data(window.model.index(r, 4)) for r in range(4)]
    assert states == ["Enrolled", "Enrolled", "Opted out", "Opted out"]
    window.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    settle(qtbot, window.desk)
    states = [window.model.data(window.model.index(r, 4)) for r in range(4)]
    assert states == ["Opted out", "Opted out", "Enrolled", "Enrolled"]


def test_detail_pane_shows_account_holder_devices_and_audit(qtbot, window, world):
    """Selecting a secondary user shows its account, who holds the rights, and its IB Key."""
    assert window.select_user(world.secondary_id)
    settle(qtbot, window.desk)  # the detail pane reads the user off the GUI thread
    d = window.detail
    assert d.heading.text() == "John Smith  ·  jsmit123"
    assert d.fields["account"].text().startswith("U1234567")
    assert d.fields["rights"].text() == "Held by Jane Smith (jsmit001)"
    assert d.devices.rowCount() == 1 and d.devices.item(0, 0).text() == "IB Key"
    assert d.devices.item(0, 1).text().startswith("Active")


def test_rights_notice_names_holder_and_changes_nothing(window, world, ctx, qtbot):
    """Change security settings… on a secondary user stops with a notice naming the holder; nothing changes."""
    with ctx.db.read() as s:
        before = (s.get(User, world.secondary_id).version, s.get(User, world.secondary_id).sls_state,
                  s.scalar(select(func.count()).select_from(AuditEntry)))
    window.select_user(world.secondary_id)
    settle(qtbot, window.desk)  # the detail pane reads the user off the GUI thread
    qtbot.keyClick(window.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, window.desk)
    notice = window.last_message
    assert notice is not None and notice.objectName() == "rightsNotice" and notice.isVisible()
    assert notice.text() == ("jsmit123 does not hold the security rights of U1234567. "
                             "Ask Jane Smith (jsmit001), who does.")
    assert window.security_dialog is None
    notice.accept()
    with ctx.db.read() as s:
        after = (s.get(User, world.secondary_id).version, s.get(User, world.secondary_id).sls_state,
                 s.scalar(select(func.count()).select_from(AuditEntry)))
    assert after == before


def test_rights_holder_gets_security_settings(window, world, qtbot):
    """The holder of the rights gets the security settings dialog with state and devices."""
    window.select_user(world.primary_id)
    settle(qtbot, window.desk)  # the detail pane reads the user off the GUI thread
    window.change_security_action.trigger()
    settle(qtbot, window.desk)
    assert window.last_message is None
    assert window.security_dialog is not None and window.security_dialog.isVisible()
    assert window.security_dialog.pane.fields["state"].text() == "Opted out"


def test_organization_notice_names_named_holder(window, world, qtbot):
    """On an organization account the notice names its named holder, not the primary."""
    window.select_user(world.org_primary_id)
    settle(qtbot, window.desk)  # the detail pane reads the user off the GUI thread
    window.change_security_action.trigger()
    settle(qtbot, window.desk)
    assert "Ask Bob Baker (bbake001), who does." in window.last_message.text()


def test_action_disabled_without_selection(window, qtbot):
    """With no user selected the action cannot be chosen."""
    window.filter_edit.setText("nobody-matches")
    window.apply_filter()
    qtbot.waitUntil(lambda: window.model.rowCount() == 0)
    assert not window.change_security_action.isEnabled()


def test_rights_notice_opens_the_holder_with_enter(window, world, qtbot):
    """The notice's default button opens the holder: the list finds and selects jsmit001 and its settings open."""
    window.select_user(world.secondary_id)
    settle(qtbot, window.desk)  # the detail pane reads the user off the GUI thread
    window.change_security_action.trigger()
    settle(qtbot, window.desk)
    notice = window.last_message
    assert notice.defaultButton().text() == "&Open jsmit001"
    qtbot.keyClick(notice, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.security_dialog is not None, timeout=5000)
    settle(qtbot, window.desk)
    assert window.current_user_id() == world.primary_id
    assert window.security_dialog.isVisible() and window.filter_edit.text() == "jsmit001"


def test_down_from_find_enters_the_list_and_enter_opens_the_user(window, world, qtbot):
    """From the Find box, Down moves to the first user; Enter on a row opens it (here: the rights gate)."""
    qtbot.keyClicks(window.filter_edit, "Smith")
    qtbot.waitUntil(lambda: window.model.rowCount() == 2 and not window.model.loading)
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Down)
    assert window.table.hasFocus() and window.current_user_id() == world.primary_id
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    settle(qtbot, window.desk)
    assert window.security_dialog is not None and window.security_dialog.isVisible()


def test_counts_follow_the_filter_with_plurals(window, qtbot):
    """One user: "1 user shown"; under a state filter only that state's count is given."""
    window.filter_edit.setText("jsmit123")
    window.apply_filter()
    qtbot.waitUntil(lambda: window.counts_label.text().startswith("1 user shown"))
    window.filter_edit.clear()
    window.state_combo.setCurrentIndex(window.state_combo.findText("Opted out"))
    qtbot.waitUntil(lambda: window.counts_label.text().startswith("2 users shown"))
    settle(qtbot, window.desk)  # the counts per state follow the rows
    assert "Opted out: 2" in window.counts_label.text() and "Enrolled" not in window.counts_label.text()


def test_empty_result_says_what_was_searched_and_offers_the_wider_search(window, qtbot):
    """No match: the hint names the text and where it was looked for; the offer searches inside names."""
    window.filter_edit.setText("mith")
    window.apply_filter()
    qtbot.waitUntil(lambda: window.empty_hint.isVisible())
    assert "“mith”" in window.empty_hint.text() and "words of names" in window.empty_hint.text()
    assert window.wider_button.isVisible() and window.wider_button.text() == "Search inside names too"
    window.wider_button.click()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2 and not window.model.loading)
    assert window.contains_check.isChecked() and not window.empty_hint.isVisible()


def test_surname_and_bare_account_number_find_users_by_default(window, qtbot):
    """"Smith" finds both Smiths and "7654321" the organization's users, with no option ticked."""
    for text, expected in (("Smith", ["jsmit001", "jsmit123"]), ("7654321", ["aarch001", "bbake001"])):
        window.filter_edit.setText(text)
        window.apply_filter()
        qtbot.waitUntil(lambda expected=expected: _usernames(window) == expected)


def test_a_slow_read_of_the_user_leaves_the_window_answering_and_a_stale_one_is_dropped(qtbot, window, world,
                                                                                        monkeypatch):
    """The pane reads the selected user off the GUI thread: while the database is slow (here: held until the
    test lets it go) timers fire and the pane says it is reading, with nobody to act on; when the agent has moved
    to another user meanwhile, the first answer is dropped and the newer user is shown."""
    import threading

    from PySide6.QtCore import QTimer

    directory = window.services.directory
    original = directory.details
    release = threading.Event()

    def slow(user_id):
        if user_id == world.primary_id:
            assert release.wait(10), "the test never released the read"
        return original(user_id)

    monkeypatch.setattr(directory, "details", slow)
    assert window.select_user(world.primary_id)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=3000)  # the event loop runs while the read waits
    pane = window.detail
    assert pane.loading and pane.details is None and pane.heading.text() == "Reading the user…"
    assert window.device_actions.selected_user() is None  # the pane's device actions have nobody to act on yet
    assert window.select_user(world.secondary_id)  # the agent moves on before the answer comes
    release.set()
    settle(qtbot, window.desk)
    timer.stop()
    assert pane.details.id == world.secondary_id and pane.heading.text() == "John Smith  ·  jsmit123"
    assert not pane.loading


def test_a_refused_read_of_the_user_is_said_once_in_the_pane(qtbot, window, world, monkeypatch):
    """A user that cannot be read (removed by another desk meanwhile) is said in the pane's heading, not a box."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    from console.models.errors import NotFound

    def gone(_user_id):
        raise NotFound("jsmit001 is no longer on record.")

    monkeypatch.setattr(window.services.directory, "details", gone)
    assert window.select_user(world.primary_id)
    settle(qtbot, window.desk)
    assert window.detail.heading.text() == "jsmit001 is no longer on record." and window.detail.details is None
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def test_tab_goes_from_the_users_list_to_the_users_devices_and_on_with_a_device_to_act_on(window, qtbot, world):
    """From the keyboard alone: Tab leaves the users list (it does not walk its cells) for the selected user's
    devices, where the first device is selected so the Devices menu acts on it; Tab again goes on to the audit
    entries, then back to Find."""
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    window.select_user(world.secondary_id)
    settle(qtbot, window.desk)
    window.table.setFocus()
    qtbot.waitUntil(window.table.hasFocus)
    qtbot.keyClick(window.table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is window.detail.devices
    assert window.detail.selected_device() is not None and window.detail.selected_device().kind_label == "IB Key"
    assert window.device_actions.report.isEnabled()
    qtbot.keyClick(window.detail.devices, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is window.detail.audit
    qtbot.keyClick(window.detail.audit, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is window.filter_edit
