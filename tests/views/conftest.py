"""Fixtures of the screen tests."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QPalette

from console.views import style


@pytest.fixture
def restore_look(qapp):
    """Put the application's style, palette and stylesheet back for the tests that follow."""
    name, palette, sheet = qapp.style().name(), QPalette(qapp.palette()), qapp.styleSheet()
    yield qapp
    qapp.setStyleSheet("")  # the style changes only with no stylesheet active
    if name:
        qapp.setStyle(name)
    qapp.setProperty("slsFusion", None)
    qapp.setProperty("slsFollowsSystem", None)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    style._icon_cache.clear()
