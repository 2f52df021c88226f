"""The one way every screen makes its actions: each with the Permission that allows it.

Rule for what a role may not do: the action is **hidden** (and off, so its shortcut does nothing), in every
window, menu, toolbar and button alike. Hidden rather than greyed out because an agent on the phone scans
menus for what to do next: offering a step the console will refuse costs a call, and the refusal only
comes after the form is filled in. A menu left with nothing visible is hidden too. The services refuse
anyway (``permissions.require``); the window only keeps its offer honest.

The permission table is ``console.models.permissions.ROLE_PERMISSIONS``; nothing here lists actions by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QMenu, QMenuBar, QPushButton, QToolBar, QWidget

from console.models.context import Actor
from console.models.permissions import Permission, allowed

RULE = "hidden"


class PermittedAction(QAction):
    """A QAction that knows its permission; while forbidden, setEnabled(True)/setVisible(True) keep it off."""

    def __init__(self, text: str, parent: QWidget, permissions: tuple[Permission, ...], permitted: bool) -> None:
        super().__init__(text, parent)
        self.permissions = permissions
        self.permitted = permitted
        super().setVisible(permitted)
        super().setEnabled(permitted)

    def setEnabled(self, enabled: bool) -> None:  # noqa: N802 (Qt's name)
        super().setEnabled(bool(enabled) and self.permitted)

    def setVisible(self, visible: bool) -> None:  # noqa: N802 (Qt's name)
        super().setVisible(bool(visible) and self.permitted)


class ActionFactory:
    """Makes the actions of one signed-in staff member's windows."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    def may(self, permission: Permission | tuple[Permission, ...]) -> bool:
        """Whether the role carries `permission` (any one of them, for a tuple)."""
        needed = permission if isinstance(permission, tuple) else (permission,)
        return any(allowed(self.actor, p) for p in needed)

    def make(self, parent: QWidget, text: str, shortcut: Any, tip: str, slot: Callable[..., Any], name: str,
             permission: Permission | tuple[Permission, ...], *, icon: QIcon | None = None) -> PermittedAction:
        """An action found by `name` in tests, with its shortcut named in the tooltip; `permission` allows it
        (a tuple: any one of them does)."""
        needed = permission if isinstance(permission, tuple) else (permission,)
        action = PermittedAction(text, parent, needed, self.may(needed))
        if icon is not None:
            action.setIcon(icon)
        action.setObjectName(name)
        action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        native = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({native})" if native else tip)
        action.triggered.connect(slot)
        return action

    @staticmethod
    def button(action: QAction, name: str, button: QAbstractButton | None = None) -> QAbstractButton:
        """A push button that is the action: same text and tip, shown and enabled exactly when it is."""
        b = button or QPushButton(action.text())
        b.setObjectName(name)
        b.setToolTip(action.statusTip())
        b.clicked.connect(action.trigger)

        def follow() -> None:
            b.setText(action.text())
            b.setVisible(action.isVisible())
            b.setEnabled(action.isEnabled())

        action.changed.connect(follow)
        follow()
        return b


def hide_empty_menus(bar: QMenuBar | QMenu | QToolBar) -> None:
    """Hide every menu (and submenu) left with no visible action, so no role sees an empty menu."""
    for action in bar.actions():
        menu = action.menu()
        if isinstance(menu, QMenu):
            hide_empty_menus(menu)
            action.setVisible(any(a.isVisible() and not a.isSeparator() for a in menu.actions()))


def permitted_actions(window: QWidget) -> list[PermittedAction]:
    """Every action the window made through the factory (the role test enumerates these)."""
    return window.findChildren(PermittedAction)
