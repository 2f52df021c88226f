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


def test_state_filter_and_counts(window):
    """Choosing a state shows only its users; the counts line gives users per state."""
    assert "Enrolled: 2" in window.counts_label.text() and "Opted out: 2" in window.counts_label.text()
    window.state_combo.setCurrentIndex(window.state_combo.findText("Opted out"))
    assert _usernames(window) == ["bbake001", "jsmit001"]
    assert window.counts_label.text().startswith("2 users shown")


def test_sort_by_clicking_state_header(window, qtbot):
    """Sorting by SLS state puts enrolled users first, descending puts them last."""
    window.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    states = [window.model.data(window.model.index(r, 4)) for r in range(4)]
    assert states == ["Enrolled", "Enrolled", "Opted out", "Opted out"]
    window.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    states = [window.model.data(window.model.index(r, 4)) for r in range(4)]
    assert states == ["Opted out", "Opted out", "Enrolled", "Enrolled"]


def test_detail_pane_shows_account_holder_devices_and_audit(window, world):
    """Selecting a secondary user shows its account, who holds the rights, and its IB Key."""
    assert window.select_user(world.secondary_id)
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
    window.change_security_action.trigger()
    settle(qtbot, window.desk)
    assert window.last_message is None
    assert window.security_dialog is not None and window.security_dialog.isVisible()
    assert window.security_dialog.pane.fields["state"].text() == "Opted out"


def test_organization_notice_names_named_holder(window, world, qtbot):
    """On an organization account the notice names its named holder, not the primary."""
    window.select_user(world.org_primary_id)
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
