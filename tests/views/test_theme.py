"""The theme chosen in Settings: light, dark or the system's; applied at once to every open window (icons and
charts included) and remembered for the next run at this desk."""

from __future__ import annotations

from PySide6.QtCharts import QChart
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import QApplication

from console.models import demo
from console.models.settings import Figures
from console.views import style
from console.views.main_window import MainWindow
from console.views.preferences import Theme, apply_saved_theme, saved_theme
from console.views.settings_dialog import SettingsDialog
from tests.views.desks import desk_for, settle


def darkness(widget) -> int:
    return widget.palette().color(QPalette.ColorRole.Window).lightness()


def icon_ink(action: QAction) -> int:
    """The brightest opaque pixel of the action's icon: dark ink on light, light ink on dark."""
    image = action.icon().pixmap(24, 24).toImage()
    return max(image.pixelColor(x, y).lightness() for x in range(24) for y in range(24)
               if image.pixelColor(x, y).alpha() > 200)


def choose(qtbot, dialog: SettingsDialog, theme: Theme) -> None:
    """From the keyboard: the theme box has the focus when the dialog opens; Home, then Down to the theme."""
    combo = dialog.theme_combo
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(list(Theme).index(theme)):
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentData() is theme


def test_theme_chosen_in_settings_applies_to_every_open_window_and_is_remembered(
        qtbot, ctx, admin, restore_look, monkeypatch):
    monkeypatch.delenv(style.THEME_ENV, raising=False)
    demo.generate(ctx, Figures(), 60, seed=3)
    style.apply_theme(restore_look, dark=False)
    w = MainWindow(desk_for(ctx, admin))
    qtbot.addWidget(w)
    w.show()
    settle(qtbot, w.desk)
    w.findChild(QAction, "openDashboard").trigger()
    settle(qtbot, w.desk)
    dashboard = w.insight.dashboard
    card = next(iter(dashboard.cards.values()))
    assert card.view.chart().theme() == QChart.ChartTheme.ChartThemeLight
    ink_on_light = icon_ink(w.refresh_action)

    dialog = w.back_office.open_settings()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.theme_combo)
    choose(qtbot, dialog, Theme.dark)

    # At once (Qt delivers the palette change within the event loop's next turn), without closing the dialog:
    # every window, the dashboard's charts, the icons.
    qtbot.waitUntil(lambda: all(darkness(window) < 80 for window in (w, dashboard, dialog)), timeout=2000)
    qtbot.waitUntil(lambda: card.view.chart().theme() == QChart.ChartTheme.ChartThemeDark, timeout=2000)
    qtbot.waitUntil(lambda: icon_ink(w.refresh_action) > 150 > ink_on_light, timeout=2000)
    assert saved_theme() is Theme.dark
    dialog.reject()

    # The next run at this desk starts dark, and Settings shows the choice.
    style.apply_theme(restore_look, dark=False)
    assert apply_saved_theme(restore_look) is True
    again = w.back_office.open_settings()
    assert again.theme_combo.currentData() is Theme.dark
    choose(qtbot, again, Theme.light)
    qtbot.waitUntil(lambda: darkness(w) > 180 and darkness(dashboard) > 180, timeout=2000)
    qtbot.waitUntil(lambda: card.view.chart().theme() == QChart.ChartTheme.ChartThemeLight, timeout=2000)
    assert saved_theme() is Theme.light
    again.reject()


def test_system_theme_follows_the_desktop_and_a_chosen_one_does_not(qtbot, ctx, admin, restore_look, monkeypatch):
    monkeypatch.delenv(style.THEME_ENV, raising=False)
    w = MainWindow(desk_for(ctx, admin))
    qtbot.addWidget(w)
    dialog = w.back_office.open_settings()
    choose(qtbot, dialog, Theme.system)
    assert saved_theme() is Theme.system
    assert restore_look.property("slsFollowsSystem") is True
    choose(qtbot, dialog, Theme.dark)
    assert restore_look.property("slsFollowsSystem") is False  # the desktop's switch leaves it dark
    dialog.reject()
