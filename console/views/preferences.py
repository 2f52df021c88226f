"""This desk's own preferences (not the firm's settings): the theme, light, dark or following the system.

Kept in QSettings beside the window layout, so they stay with the desk's computer account across runs and are
not audited (they change nothing anyone else sees)."""

from __future__ import annotations

import enum
import os

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from console.views.style import THEME_ENV, apply_theme
from console.views.window_memory import default_settings

THEME_KEY = "desk/theme"


class Theme(enum.Enum):
    system = "system"
    light = "light"
    dark = "dark"

    @property
    def label(self) -> str:
        return {"system": "As the system (light or dark)", "light": "Light", "dark": "Dark"}[self.value]

    @property
    def is_dark(self) -> bool | None:
        """Dark or not; None follows the system's scheme."""
        return None if self is Theme.system else self is Theme.dark


def saved_theme(settings: QSettings | None = None) -> Theme:
    value = (settings or default_settings()).value(THEME_KEY, Theme.system.value)
    try:
        return Theme(str(value))
    except ValueError:  # a value written by hand or by a later version: the system's scheme
        return Theme.system


def choose_theme(theme: Theme, settings: QSettings | None = None) -> bool:
    """Remember the theme and apply it to every open window at once; returns whether dark is now shown.

    Windows follow through Qt's palette change event (icons redrawn, charts rebuilt)."""
    store = settings or default_settings()
    store.setValue(THEME_KEY, theme.value)
    store.sync()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return apply_theme(app, theme.is_dark)


def apply_saved_theme(app: QApplication, settings: QSettings | None = None) -> bool:
    """At start-up: the theme this desk chose last time (the system's scheme unless one was chosen).
    SLS_CONSOLE_THEME, when set, still wins (screenshots, a one-off run)."""
    return apply_theme(app, None if os.environ.get(THEME_ENV) else saved_theme(settings).is_dark)
