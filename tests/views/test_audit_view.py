"""The audit trail screen: filters, paging, CSV export, verification, and what each role sees."""

import csv

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLineEdit

from console.models import audit
from console.views import audit_view as av
from console.views.audit_view import AuditView
from tests import rawsql
from tests.views.desks import desk_for, settle


@pytest.fixture
def trail(ctx, world, clock, auditor, agent):
    """Entries 1 and 2 add the auditor and the agent (staff.added), then 12 changes (entries 3 to 14)."""
    with ctx.db.write() as s:
        for n in range(1, 13):
            clock.advance(minutes=5)
            audit.record(s, at=clock.now(), actor="hdesk01" if n % 2 else "boff01",
                         action="user.opted_in" if n % 3 else "device.shipped", summary=f"change {n}",
                         user_id=world.secondary_id if n > 6 else world.primary_id, account_id=world.account_id,
                         details={"n": n})


def view_for(qtbot, ctx, actor):
    v = AuditView(desk_for(ctx, actor))
    qtbot.addWidget(v)
    v.show()
    settle(qtbot, v.desk)  # the entries are read off the GUI thread
    return v


def test_lists_newest_first_with_client_and_details(qtbot, ctx, trail, auditor):
    """The newest entry is first; selecting it shows its details and hashes."""
    v = view_for(qtbot, ctx, auditor)
    assert v.model.rowCount() == 14
    assert v.model.data(v.model.index(0, 0)) == 14
    assert v.model.data(v.model.index(0, 5)) == "jsmit123" and v.model.data(v.model.index(0, 6)) == "U1234567"
    assert "Entry 14" in v.details.toPlainText() and "Entry hash:" in v.details.toPlainText()


def test_filters_by_staff_action_and_client(qtbot, ctx, trail, auditor):
    """Typing a staff member, an action group and a client username narrows the list."""
    v = view_for(qtbot, ctx, auditor)
    v.staff_filter.setCurrentText("boff01")
    v.action_filter.setCurrentText("device.")
    qtbot.keyClicks(v.findChild(QLineEdit, "auditUserFilter"), "jsmit123")
    v.apply_action.trigger()
    settle(qtbot, v.desk)
    rows = v.model.rows
    assert [r.id for r in rows] == [14]
    v.clear_action.trigger()
    settle(qtbot, v.desk)
    assert v.model.rowCount() == 14


def test_pages_are_fetched_as_the_list_scrolls(qtbot, ctx, trail, auditor, monkeypatch):
    """A page is read at a time, off the GUI thread, each after the last row shown (keyset, never the whole trail);
    a fetch asked while one is under way is not asked again."""
    from console.models.audit_log import AuditLog

    monkeypatch.setattr(av, "PAGE", 5)
    asked = []
    original = AuditLog.window

    def window(self, actor, f, before_id=None, limit=200):
        asked.append((before_id, limit))
        return original(self, actor, f, before_id, limit)

    monkeypatch.setattr(AuditLog, "window", window)
    v = view_for(qtbot, ctx, auditor)  # the table asks for pages until its rows fill it
    while v.model.canFetchMore():
        v.model.fetchMore()
        v.model.fetchMore()  # while the first is under way: asked once
        settle(qtbot, v.desk)
    assert [r.id for r in v.model.rows] == list(range(14, 0, -1))
    assert asked == [(None, 5), (10, 5), (5, 5)]


def test_export_writes_filtered_csv(qtbot, ctx, trail, auditor, tmp_path, monkeypatch):
    """Export CSV saves the entries matching the filters, with every field and hash."""
    v = view_for(qtbot, ctx, auditor)
    v.staff_filter.setCurrentText("hdesk01")
    v.apply_filters()
    settle(qtbot, v.desk)
    path = tmp_path / "audit.csv"
    monkeypatch.setattr(v, "ask_export_path", lambda: str(path))
    v.export_action.trigger()
    settle(qtbot, v.desk)
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 6 and {r["actor"] for r in rows} == {"hdesk01"} and len(rows[0]["entry_hash"]) == 64
    assert "Exported 6 entries" in v.statusBar().currentMessage()


def test_verify_button_reports_intact_chain(qtbot, ctx, trail, auditor):
    """Verify shows the entry count and head hash when the chain is intact."""
    v = view_for(qtbot, ctx, auditor)
    v.verify_action.trigger()
    settle(qtbot, v.desk)
    assert v.verify_result.text().startswith("Audit trail intact: 14 entries; head hash ")
    assert v.last_message.objectName() == "auditVerifyBox"


def test_verify_button_names_and_selects_the_changed_entry(qtbot, ctx, trail, auditor):
    """After an SQL edit of entry 5, verify reports it broken, names entry 5 and selects it in the list."""
    v = view_for(qtbot, ctx, auditor)
    rawsql.run(ctx.db, "UPDATE audit_entries SET summary = 'nothing happened' WHERE id = 5")
    ctx.db.engine.dispose()
    v.verify_action.trigger()
    settle(qtbot, v.desk)
    assert "BROKEN: entry 5 was changed" in v.verify_result.text()
    assert "entry 5" in v.last_message.text()
    assert v.model.rows[v.table.currentIndex().row()].id == 5


def test_help_desk_sees_no_export_or_verify(qtbot, ctx, trail, agent):
    """Help-desk may read the trail; export and verify are hidden and stay disabled."""
    v = view_for(qtbot, ctx, agent)
    assert v.model.rowCount() == 14
    for name in ("exportAuditCsv", "verifyAudit"):
        action = v.findChild(QAction, name)
        assert not action.isVisible() and not action.isEnabled()
        action.setEnabled(True)  # a screen re-enabling it by mistake
        assert not action.isEnabled()
    v.verify_chain()  # even called directly, the model layer refuses
    settle(qtbot, v.desk)
    assert v.last_message.objectName() == "errorBox" and "may not verify the audit trail" in v.last_message.text()


def test_bad_period_refused_with_message(qtbot, ctx, trail, auditor):
    """A period that ends before it starts is refused with a message; the list is unchanged."""
    v = view_for(qtbot, ctx, auditor)
    v.period_check.setChecked(True)
    v.to_date.setDate(v.from_date.date().addDays(-2))
    v.apply_filters()
    settle(qtbot, v.desk)
    assert "start of the period must be before its end" in v.last_message.text()
    assert v.model.rowCount() == 14
