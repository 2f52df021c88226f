"""Look and feel: Fusion with a light or dark palette that follows the system, the stylesheet, and icons."""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QObject, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from console.resources import app_icon_path, icon_path, resource_path

THEME_ENV = "SLS_CONSOLE_THEME"  # "dark" or "light" overrides the system (screenshots, preferences)
ICON_SIZES = (16, 20, 24, 32, 48)
_icon_cache: dict[tuple[str, str], QIcon] = {}


class ThemeSignals(QObject):
    """`changed(dark)` after the theme is applied: open windows redraw what the palette does not reach by itself
    (icons drawn in the text colour, charts)."""

    changed = Signal(bool)


theme_signals = ThemeSignals()


def is_dark() -> bool:
    app = QApplication.instance()
    return isinstance(app, QApplication) and app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def allow_fractional_scaling() -> None:
    """Keep 125% and 150% display scaling as they are, not rounded to 100% or 200% (before QApplication)."""
    if QGuiApplication.instance() is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)


def system_prefers_dark(app: QGuiApplication) -> bool:
    forced = os.environ.get(THEME_ENV, "").lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text, mid = QColor(30, 32, 36), QColor(43, 45, 50), QColor(230, 232, 235), QColor(70, 73, 80)
    accent = QColor(90, 150, 240)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.Window, window)
        p.setColor(group, QPalette.ColorRole.WindowText, text)
        p.setColor(group, QPalette.ColorRole.Base, base)
        p.setColor(group, QPalette.ColorRole.AlternateBase, QColor(38, 40, 45))
        p.setColor(group, QPalette.ColorRole.Text, text)
        p.setColor(group, QPalette.ColorRole.Button, window)
        p.setColor(group, QPalette.ColorRole.ButtonText, text)
        p.setColor(group, QPalette.ColorRole.ToolTipBase, base)
        p.setColor(group, QPalette.ColorRole.ToolTipText, text)
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor(150, 153, 160))
        p.setColor(group, QPalette.ColorRole.Highlight, accent)
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.ColorRole.Link, QColor(120, 175, 255))
        p.setColor(group, QPalette.ColorRole.Mid, mid)
        p.setColor(group, QPalette.ColorRole.Midlight, QColor(60, 63, 70))
        p.setColor(group, QPalette.ColorRole.Light, QColor(80, 83, 90))
        p.setColor(group, QPalette.ColorRole.Dark, QColor(20, 21, 24))
        p.setColor(group, QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    disabled = QColor(120, 123, 130)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, window)
    return p


def apply_theme(app: QApplication, dark: bool | None = None) -> bool:
    """Fusion style, the palette for the scheme, the stylesheet; returns whether dark was applied."""
    if app.property("slsFusion") is not True:
        # Style first, stylesheet after: changing the style under an active stylesheet has crashed Qt here.
        app.setStyleSheet("")
        app.setStyle("Fusion")
        app.setProperty("slsFusion", True)
    app.setProperty("slsFollowsSystem", dark is None)
    dark = system_prefers_dark(app) if dark is None else dark
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    # The stylesheet keeps the colours it polished widgets with: naming the scheme in it makes a switch re-polish
    # every open window (otherwise they keep painting the old colours).
    sheet = resource_path("style.qss").read_text(encoding="utf-8") + f"\n/* {'dark' if dark else 'light'} */\n"
    if app.styleSheet() != sheet:
        app.setStyleSheet(sheet)
    app.setProperty("slsDark", dark)
    _icon_cache.clear()
    theme_signals.changed.emit(dark)
    return dark


def follow_system_scheme(app: QApplication, on_change: Callable[[], None] | None = None) -> None:
    """Re-apply the theme when the desktop switches between light and dark (unless this desk chose one)."""
    def changed(_scheme: Qt.ColorScheme) -> None:
        if os.environ.get(THEME_ENV) or app.property("slsFollowsSystem") is False:
            return
        apply_theme(app)
        if on_change is not None:
            on_change()

    app.styleHints().colorSchemeChanged.connect(changed)


def app_icon() -> QIcon:
    """The application's own icon, in its own colours (window, task bar; the desktop entry names it too)."""
    return QIcon(str(app_icon_path()))


def icon(name: str) -> QIcon:
    """resources/icons/<name>.svg drawn in the palette's text colour, so it reads in light and dark."""
    app = QApplication.instance()
    color = app.palette().color(QPalette.ColorRole.WindowText).name() if isinstance(app, QApplication) else "#202124"
    key = (name, color)
    if key in _icon_cache:
        return _icon_cache[key]
    data = icon_path(name).read_text(encoding="utf-8").replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(data.encode()))
    result = QIcon()
    for size in ICON_SIZES:
        for ratio in (1.0, 2.0):
            pixmap = QPixmap(QSize(int(size * ratio), int(size * ratio)))
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            renderer.render(painter, QRectF(0, 0, size * ratio, size * ratio))
            painter.end()
            pixmap.setDevicePixelRatio(ratio)
            result.addPixmap(pixmap)
    _icon_cache[key] = result
    return result
