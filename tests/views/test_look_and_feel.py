"""Look and feel: dark mode follows the system (or SLS_CONSOLE_THEME), icons exist and follow the palette."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from console.resources import RESOURCES
from console.views import style


def test_dark_theme_gives_a_dark_window_and_light_text(restore_look, monkeypatch):
    """SLS_CONSOLE_THEME=dark applies the dark palette over Fusion, whatever the system says."""
    monkeypatch.setenv(style.THEME_ENV, "dark")
    assert style.apply_theme(restore_look) is True
    palette = QApplication.palette()
    assert restore_look.property("slsDark") is True
    assert palette.color(QPalette.ColorRole.Window).lightness() < 80
    assert palette.color(QPalette.ColorRole.WindowText).lightness() > 180
    monkeypatch.setenv(style.THEME_ENV, "light")
    assert style.apply_theme(restore_look) is False
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 180


def test_icons_are_drawn_in_the_palette_text_colour(restore_look):
    """The same SVG is dark on the light theme and light on the dark one, so it reads on both."""
    def brightest_ink(name):
        image = style.icon(name).pixmap(24, 24).toImage()
        inked = [image.pixelColor(x, y) for x in range(24) for y in range(24) if image.pixelColor(x, y).alpha() > 200]
        assert inked, f"{name} draws nothing"
        return max(c.lightness() for c in inked)

    style.apply_theme(restore_look, dark=False)
    on_light = brightest_ink("import")
    style.apply_theme(restore_look, dark=True)
    on_dark = brightest_ink("import")
    assert on_light < 100 < on_dark


def test_every_svg_in_resources_renders(restore_look):
    """Each icon file is a valid SVG that QtSvg can draw."""
    names = [p.stem for p in (RESOURCES / "icons").glob("*.svg")]
    assert len(names) >= 15
    for name in names:
        assert not style.icon(name).isNull(), name
