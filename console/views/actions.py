"""Building a QAction the way every screen does: text, shortcut, status tip, tooltip naming the shortcut."""

from __future__ import annotations

from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QWidget

from console.models.permissions import Permission
from console.views.roles import requires


def make_action(parent: QWidget, text: str, shortcut, tip: str, slot, name: str, *, icon: QIcon | None = None,
                permission: Permission | None = None) -> QAction:
    """An action found by `name` in tests; tagged with `permission` so apply_role hides it where forbidden."""
    action = QAction(text, parent)
    if icon is not None:
        action.setIcon(icon)
    action.setObjectName(name)
    action.setShortcut(QKeySequence(shortcut))
    action.setStatusTip(tip)
    native = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"{tip} ({native})" if native else tip)
    action.triggered.connect(slot)
    if permission is not None:
        requires(action, permission)
    return action
