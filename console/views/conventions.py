"""Keyboard conventions every window and dialog follows (checked for each one by tests/views/test_dialog_conventions):

- focus starts in the first input, in the order the form shows its fields;
- Enter submits a single-line form (OK is the default button), Ctrl+Enter any form (also one with a
  multi-line field, where Enter starts a new line);
- Esc or Ctrl+W closes the window (Esc is a dialog's own; secondary main windows get both here). The
  console's main window is left out: closing it quits, which is Ctrl+Q.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QWidget,
)

INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit, QComboBox, QAbstractSpinBox)
SUBMIT_KEYS = ("Ctrl+Return", "Ctrl+Enter")


def _in_layout_order(layout: QLayout) -> list[QWidget]:
    widgets: list[QWidget] = []
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item is None:
            continue
        w, inner = item.widget(), item.layout()
        if w is not None:
            widgets.append(w)
            own = w.layout()
            if own is not None:
                widgets += _in_layout_order(own)
        elif inner is not None:
            widgets += _in_layout_order(inner)
    return widgets


def widgets_in_order(window: QWidget) -> list[QWidget]:
    """The window's widgets in the order its layouts show them (top to bottom, left to right)."""
    layout = window.layout()
    return _in_layout_order(layout) if layout is not None else []


def _takes_input(w: QWidget) -> bool:
    if not (w.isVisibleTo(w.window()) and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus):
        return False
    if isinstance(w, (QLineEdit, QPlainTextEdit, QTextEdit)) and w.isReadOnly():
        return False
    return isinstance(w, INPUTS) or (isinstance(w, QAbstractButton) and not isinstance(w, QPushButton))


def first_input(window: QWidget) -> QWidget | None:
    """The first field the agent fills in, in the order shown; None for a window without one."""
    for w in widgets_in_order(window):
        if _takes_input(w):
            return w
    return None


def has_multiline_input(window: QWidget) -> bool:
    return any(isinstance(w, (QPlainTextEdit, QTextEdit)) and not w.isReadOnly() and w.isVisibleTo(window)
               for w in widgets_in_order(window))


class _FocusFirstInput(QObject):
    """On the first show, put the focus in the first input and chain Tab through the fields in the order shown."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._done = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Show and not self._done and isinstance(watched, QWidget):
            self._done = True
            order = [w for w in widgets_in_order(watched)
                     if w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.isVisibleTo(watched)]
            for a, b in zip(order, order[1:], strict=False):
                QWidget.setTabOrder(a, b)
            first = first_input(watched)
            if first is not None:
                first.setFocus(Qt.FocusReason.TabFocusReason)
        return False


def keyboard_conventions(window: QWidget, submit: Callable[[], object] | None = None) -> None:
    """Give `window` the conventions above; `submit` is what Ctrl+Enter (and the default button) does."""
    _FocusFirstInput(window)
    if submit is not None:
        for key in SUBMIT_KEYS:
            shortcut = QShortcut(QKeySequence(key), window, context=Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(submit)
    closing = window.reject if isinstance(window, QDialog) else window.close
    taken = {a.shortcut().toString() for a in window.findChildren(QAction)}
    for key in ("Ctrl+W",) if isinstance(window, QDialog) else ("Ctrl+W", "Esc"):
        if QKeySequence(key).toString() not in taken:  # a window's own Close action already does it
            QShortcut(QKeySequence(key), window).activated.connect(closing)
    if isinstance(window, QDialog):
        for button in window.findChildren(QPushButton):
            if button.isDefault():
                break
        else:
            ok = _ok_button(window)
            if ok is not None:
                ok.setDefault(True)


def _ok_button(dialog: QDialog) -> QPushButton | None:
    from PySide6.QtWidgets import QDialogButtonBox

    for box in dialog.findChildren(QDialogButtonBox):
        for role in (QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Save):
            button = box.button(role)
            if button is not None:
                return button
    return None
