"""Pieces shared by the opt-in wizard's pages: page ids and small label and button helpers."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import QLabel, QToolButton

PAGE_CHOOSE, PAGE_IB_KEY, PAGE_CARD, PAGE_SHARE, PAGE_VERIFY, PAGE_DONE = range(6)


def wrap(text: str, name: str = "", bold: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    if bold:
        f = label.font()
        f.setBold(True)
        label.setFont(f)
    return label


def mono(points: int = 13) -> QFont:
    f = QFont("DejaVu Sans Mono")
    f.setStyleHint(QFont.StyleHint.Monospace)
    f.setPointSize(points)
    return f


def action_button(action: QAction, name: str) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    button.setObjectName(name)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


def refusal_line(name: str) -> QLabel:
    """Where a page says why the console refused what it asked (the only place the refusal is shown)."""
    label = wrap("", name)
    label.setStyleSheet("color: #a40000; font-weight: 600;")
    return label
