"""At 1024×700 the main window's detail pane stays readable: the withdrawal limits are shown whole and the
devices table wraps instead of scrolling sideways."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from sqlalchemy import case, func, select

from console.models import demo
from console.models.entities import DeviceHolding, SecurityDevice
from console.models.enums import DeviceState
from console.models.settings import Figures
from console.views.main_window import MainWindow
from console.views.user_detail import limits_text
from tests.views.desks import desk_for, settle


def busiest_user(ctx) -> int:
    """The demo client holding the most active devices (then history): the fullest pane there is."""
    active = func.sum(case((SecurityDevice.state == DeviceState.active, 1), else_=0))
    with ctx.db.read() as s:
        return s.execute(select(DeviceHolding.user_id)
                         .join(SecurityDevice, SecurityDevice.id == DeviceHolding.device_id)
                         .group_by(DeviceHolding.user_id)
                         .order_by(active.desc(), func.count().desc(), DeviceHolding.user_id).limit(1)).scalar_one()


def test_detail_pane_at_1024_by_700_shows_limits_whole_and_no_sideways_scrolling(qtbot, ctx, agent, admin):
    demo.generate(ctx, Figures(), 300, seed=11, actor=admin)  # the database has staff: an administrator adds it
    user_id = busiest_user(ctx)
    w = MainWindow(desk_for(ctx, agent))
    qtbot.addWidget(w)
    w.resize(1024, 700)
    w.show()
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    qtbot.waitExposed(w)
    username = w.services.directory.details(user_id).username
    w.show_users(username, user_id=user_id)
    qtbot.waitUntil(lambda: w.detail.details is not None and w.detail.details.id == user_id, timeout=10_000)
    settle(qtbot, w.desk)
    assert w.width() == 1024 and w.height() == 700
    pane = w.detail
    assert len(pane.details.devices) >= 2 and len(pane.details.limits.per_device) >= 2  # a full pane

    limits = pane.fields["limits"]
    assert limits.text() == limits_text(pane.details.limits)
    # The label is as tall as its wrapped text needs (once laid out), and all of it lies inside the pane.
    qtbot.waitUntil(lambda: limits.height() >= limits.heightForWidth(limits.width()), timeout=2000)
    top_left = limits.mapTo(pane, limits.rect().topLeft())
    assert pane.rect().contains(QRect(top_left, limits.size()))

    table = pane.devices
    assert table.horizontalScrollBar().maximum() == 0 and not table.horizontalScrollBar().isVisible()
    columns = sum(table.columnWidth(c) for c in range(table.columnCount()))
    assert columns <= table.viewport().width()
    metrics = table.fontMetrics()
    for row in range(table.rowCount()):
        for column in range(table.columnCount()):
            text = table.item(row, column).text()
            width = table.columnWidth(column) - 2 * metrics.averageCharWidth()
            # Every word fits its column (none elided), and the row is tall enough for the wrapped lines.
            assert all(metrics.horizontalAdvance(word) <= width for word in text.split()), (row, column, text)
            needed = metrics.boundingRect(QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap, text).height()
            assert table.rowHeight(row) >= needed, (row, column, text)
