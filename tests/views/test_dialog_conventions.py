"""Every dialog and window keeps the keyboard conventions (console/views/conventions.py), checked by opening each.

The classes are found in console/views, not listed by hand: a new dialog without an entry in OPENERS fails
`test_every_dialog_is_checked`, so it is checked too once it is given one.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections import Counter

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QGroupBox,
    QLabel,
    QMainWindow,
    QMenu,
    QWidget,
    QWizard,
)

import console.views
from console.models.charges import ChargeService
from console.models.devices import DeviceService
from console.models.enums import ChargeStatus, DeviceKind
from console.models.staff import StaffService
from console.views.change_bus import Changes
from console.views.conventions import first_input, has_multiline_input
from tests.lifecycle import challenge_and_response, make_rich
from tests.views.desks import desk_for, settle

ABSTRACT = {"ServiceDialog", "ChallengeDialog"}


def dialog_classes() -> dict[str, type]:
    found = {}
    for info in pkgutil.iter_modules(console.views.__path__):
        module = importlib.import_module(f"console.views.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, (QDialog, QMainWindow)) \
                    and name not in ABSTRACT:
                found[name] = cls
    return found


class World:
    """A small desk world with a card in stock, a shipped card, an active card with a charge, and a passcode."""

    def __init__(self, qtbot, ctx, world, admin):
        make_rich(ctx, world.account_id)
        devices = DeviceService(ctx)
        self.stock, self.shipped, self.active = devices.receive_stock(admin, "DSC000000101-DSC000000103")
        # To the holder of the account's security rights: shipping and activating a card need them.
        devices.ship(admin, self.shipped, world.primary_id)
        devices.ship(admin, self.active, world.primary_id)
        devices.activate_shipped(admin, self.active, *challenge_and_response(ctx, admin, self.active))
        reported = devices.report(admin, self.active, "damaged", user_id=world.primary_id,
                                  issue_temporary_passcode=True, identity_verified=True)
        devices.order_replacement(admin, self.active, user_id=world.primary_id, serial="DSC000000101")
        self.charge = ChargeService(ctx).window(None, ChargeStatus.pending, 0, 1)[0]
        self.issued = reported.temporary_passcode  # jsmit001 keeps access while the card is replaced
        self.ctx, self.world, self.admin = ctx, world, admin
        self.desk = desk_for(ctx, admin)
        self.parent = QMainWindow()
        qtbot.addWidget(self.parent)
        self.parent.show()


def _printed_card_activation(w: World):
    from console.models.printed_cards import PrintedCardService

    card = getattr(w, "printed_card", None)
    if card is None:  # one card for every check of this world (a second one would be refused)
        card = w.printed_card = PrintedCardService(w.ctx).issue(w.admin, w.world.primary_id)
    return _cls("PrintedCardActivateDialog")(w.desk, card.device_id, card.serial, w.parent)


def _request_row(w: World):
    """A sharing request as the compliance queue lists it (the dialog only reads it)."""
    import datetime as dt

    from console.models.enums import SharingRequestState, SlsState
    from console.models.sharing_review import RequestRow

    return RequestRow(1, dt.datetime(2026, 11, 30, tzinfo=dt.UTC), "hdesk01", "jsmit001", "Jane Smith", "U1234567",
                      SlsState.pending, "IB Key", ("jsmit777 (Jane Smith)",), "different entities",
                      SharingRequestState.pending, 1, "SSN")


def _staff(w: World):
    return StaffService(w.ctx)  # the dialog needs a staff service


OPENERS = {
    "MainWindow": lambda w: __import__("console.views.main_window", fromlist=["MainWindow"]).MainWindow(w.desk),
    "DevicesWindow": lambda w: _cls("DevicesWindow")(w.desk, w.parent),
    "ChargesWindow": lambda w: _cls("ChargesWindow")(w.desk, "U1234567", w.parent),
    "AuditView": lambda w: _cls("AuditView")(w.desk, w.parent),
    "ReceiveStockDialog": lambda w: _cls("ReceiveStockDialog")(w.desk, w.parent),
    "ShipDialog": lambda w: _cls("ShipDialog")(w.desk, w.shipped, "DSC000000102", w.parent),
    "ActivateDialog": lambda w: _cls("ActivateDialog")(w.desk, w.shipped, "DSC000000102", w.parent),
    "ShareDialog": lambda w: _cls("ShareDialog")(w.desk, w.world.secondary_device_id, DeviceKind.ib_key,
                                                 "IB Key", w.parent),
    "ReportDialog": lambda w: _cls("ReportDialog")(w.desk, w.world.secondary_device_id, "IB Key",
                                                   w.world.secondary_id, w.parent),
    "TemporaryPasscodeDialog": lambda w: _cls("TemporaryPasscodeDialog")(w.desk, w.world.secondary_id, "jsmit123",
                                                                         w.parent),
    "PasscodeDialog": lambda w: _cls("PasscodeDialog")(w.desk, w.issued, w.parent),
    "OnlineCardDialog": lambda w: _cls("OnlineCardDialog")(w.desk, w.world.secondary_id, "jsmit123", w.parent),
    "ReplacementDialog": lambda w: _cls("ReplacementDialog")(w.desk, w.active, "DSC000000103", w.parent),
    "ReceiveReturnDialog": lambda w: _cls("ReceiveReturnDialog")(w.desk, "", w.parent),
    "ConfirmDialog": lambda w: _cls("ConfirmDialog")(w.desk, "Revoke IB Key", "Take IB Key out of service?",
                                                     lambda: None, "revokeConfirm", "Revoke", w.parent,
                                                     changes=Changes.of(devices=[1]), done="Revoked."),
    "WaiveDialog": lambda w: _cls("WaiveDialog")(w.desk, w.charge, w.parent),
    "HelpBrowser": lambda w: _cls("HelpBrowser")(w.desk.services.settings.figures(), w.parent),
    "ImportDialog": lambda w: _cls("ImportDialog")(w.desk, w.parent),
    "OptInWizard": lambda w: _cls("OptInWizard")(w.desk, w.world.primary_id, "jsmit001", w.parent),
    "OptOutDialog": lambda w: _cls("OptOutDialog")(w.desk, w.world.secondary_id, "jsmit123", "John Smith",
                                                   w.parent),
    "SecuritySettingsDialog": lambda w: _cls("SecuritySettingsDialog")(w.desk, w.world.primary_id, w.parent),
    "SettingsDialog": lambda w: _cls("SettingsDialog")(w.desk, w.parent),
    "SignInDialog": lambda w: _cls("SignInDialog")(_staff(w), "test database", "", w.parent),
    "StaffDialog": lambda w: _cls("StaffDialog")(w.desk, w.parent),
    "StaffRoleDialog": lambda w: _cls("StaffRoleDialog")(_staff(w).members(w.admin)[0], w.parent),
    "DashboardWindow": lambda w: _cls("DashboardWindow")(w.desk, w.parent),
    "WorkListWindow": lambda w: _cls("WorkListWindow")(w.desk, w.parent),
    "ClientDevicesWindow": lambda w: _cls("ClientDevicesWindow")(w.desk, "jsmit123", w.parent),
    "CloseAccountDialog": lambda w: _cls("CloseAccountDialog")(w.desk, "U1234567", w.parent),
    "SmsIssueDialog": lambda w: _cls("SmsIssueDialog")(w.desk, w.world.secondary_id, "jsmit123", w.parent),
    "SmsEndDialog": lambda w: _cls("SmsEndDialog")(w.desk, w.world.secondary_device_id, "jsmit123", w.parent),
    "PrintedCardDialog": lambda w: _cls("PrintedCardDialog")(w.desk, w.world.primary_id, "jsmit001", w.parent),
    "PrintedCardActivateDialog": lambda w: _printed_card_activation(w),
    "SharingQueueWindow": lambda w: _cls("SharingQueueWindow")(w.desk, w.parent),
    "DecisionDialog": lambda w: _cls("DecisionDialog")(w.desk, _request_row(w), True, w.parent),
}
# Dialogs that are not a form to submit: help, a passcode shown once, the security settings (buttons only).
NOT_FORMS = {"HelpBrowser", "PasscodeDialog", "SecuritySettingsDialog", "ClientDevicesWindow"}
# Windows whose closing is not Esc/Ctrl+W: the main window quits the console (Ctrl+Q).
QUITS = {"MainWindow"}


def _cls(name: str) -> type:
    return dialog_classes()[name]


@pytest.fixture
def desk_world(qtbot, ctx, world, admin) -> World:
    return World(qtbot, ctx, world, admin)


def opened(qtbot, desk_world: World, name: str) -> QWidget:
    window = OPENERS[name](desk_world)
    if window.parent() is None:
        qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    settle(qtbot, desk_world.desk)
    QApplication.processEvents()
    return window


def test_every_dialog_is_checked():
    """Each dialog or window class in console/views has an opener here (a new one must be added)."""
    assert set(dialog_classes()) == set(OPENERS)


NAMES = sorted(OPENERS)


@pytest.mark.parametrize("name", NAMES)
def test_window_keeps_the_keyboard_conventions(qtbot, desk_world, name):
    """Focus in the first input; no mnemonic clash; Enter / Ctrl+Enter submit; Esc and Ctrl+W close."""
    check_focus(qtbot, desk_world, name)
    check_mnemonics(qtbot, desk_world, name)
    check_submit_keys(qtbot, desk_world, name)
    for key in ("Esc", "Ctrl+W"):
        check_closes(qtbot, desk_world, name, key)


def close_all(desk_world) -> None:
    """Close what a check left open (the window, a confirmation, a message), so the next check starts clean."""
    for widget in QApplication.topLevelWidgets():
        if widget is not desk_world.parent and widget.isVisible():
            widget.close()
    QApplication.processEvents()


def check_focus(qtbot, desk_world, name):
    """The first field the agent fills in has the focus when the window opens."""
    window = opened(qtbot, desk_world, name)
    first = first_input(window)
    if first is not None:
        qtbot.waitUntil(lambda: window.focusWidget() is first, timeout=2000)
    close_all(desk_world)


def _mnemonic(text: str) -> str | None:
    match = re.search(r"&([^&])", text.replace("&&", ""))
    return match.group(1).lower() if match else None


def _window_mnemonics(window: QWidget) -> list[tuple[str, str]]:
    """Alt+letter keys the window answers to: its menu bar, labels with a buddy, buttons and group boxes."""
    found: list[tuple[str, str]] = []
    if isinstance(window, QMainWindow):
        found += [(m, a.text()) for a in window.menuBar().actions()
                  if a.isVisible() and (m := _mnemonic(a.text()))]
    scope = window.currentPage() if isinstance(window, QWizard) else window
    for w in scope.findChildren(QWidget):
        if w.window() is not window or not w.isVisibleTo(window):
            continue
        if isinstance(w, QLabel) and w.buddy() is not None:
            text = w.text()
        elif isinstance(w, QAbstractButton):
            text = w.text()
        elif isinstance(w, QGroupBox) and w.isCheckable():
            text = w.title()
        else:
            continue
        if m := _mnemonic(text):
            found.append((m, text))
    return found


def check_mnemonics(qtbot, desk_world, name):
    """No Alt+letter names two things in one window, nor two entries of one menu."""
    window = opened(qtbot, desk_world, name)
    keys = _window_mnemonics(window)
    clashes = {k: [t for m, t in keys if m == k] for k, n in Counter(m for m, _ in keys).items() if n > 1}
    assert not clashes, f"{name}: {clashes}"
    for menu in window.findChildren(QMenu):
        entries = [(m, a.text()) for a in menu.actions() if a.isVisible() and (m := _mnemonic(a.text()))]
        clashes = {k: n for k, n in Counter(m for m, _ in entries).items() if n > 1}
        assert not clashes, f"{name}, menu {menu.title()}: {clashes} in {entries}"
    close_all(desk_world)


def _submit_spy(window):
    """A list that grows when the window's submit runs."""
    calls: list[bool] = []
    signal = getattr(window, "submit_requested", None)
    assert signal is not None, f"{type(window).__name__} has a form but no submit_requested signal"
    signal.connect(lambda: calls.append(True))
    return calls


def check_submit_keys(qtbot, desk_world, name):
    """Enter in a single-line form submits it; Ctrl+Enter submits any form, a multi-line one included."""
    window = opened(qtbot, desk_world, name)
    if name in NOT_FORMS or not isinstance(window, QDialog) or isinstance(window, QWizard):
        close_all(desk_world)
        return  # not a form (a wizard's Enter is Next)
    first = first_input(window)
    calls = _submit_spy(window)
    qtbot.keyClick(first or window.focusWidget() or window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert calls, f"{name}: Ctrl+Enter did nothing"
    settle(qtbot, desk_world.desk)
    if first is not None and not has_multiline_input(window) and window.isVisible():
        calls.clear()
        box = getattr(window, "confirm_box", None)
        if box is not None and box.isVisible():
            box.reject()
        window.activateWindow()
        first.setFocus()
        qtbot.keyClick(first, Qt.Key.Key_Return)
        assert calls, f"{name}: Enter in a single-line form did nothing"
    settle(qtbot, desk_world.desk)
    close_all(desk_world)


def check_closes(qtbot, desk_world, name, key):
    """Esc and Ctrl+W close every window but the main one (which quits with Ctrl+Q)."""
    if name in QUITS:
        return
    window = opened(qtbot, desk_world, name)
    target = window.focusWidget() or window
    if key == "Esc":
        qtbot.keyClick(target, Qt.Key.Key_Escape)
    else:
        qtbot.keyClick(target, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)
    close_all(desk_world)
