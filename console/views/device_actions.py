"""The device actions of the main window: open the devices and charges screens, and act on the selected user's
selected device (report a loss, temporary passcode, preferred device, share, stop sharing)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from console.models.enums import DeviceKind, DeviceState, SlsState
from console.models.errors import ConsoleError
from console.models.permissions import Permission, allowed
from console.views.actions import make_action
from console.views.charges_view import ChargesWindow
from console.views.device_dialogs import (
    ConfirmDialog,
    OnlineCardDialog,
    ReportDialog,
    ShareDialog,
    TemporaryPasscodeDialog,
)
from console.views.devices_view import DevicesWindow
from console.views.messages import show_error

TEMPORARY_LABELS = {kind.label for kind in DeviceKind if kind.is_temporary}


class DeviceActions(QObject):
    """Adds a Devices menu to `window` (the main window) and keeps its actions enabled by the selection."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.services = window.services
        self.actor = window.services.actor
        self.devices_window: DevicesWindow | None = None
        self.charges_window: ChargesWindow | None = None
        self.dialog = None
        self._permissions: dict[QAction, Permission] = {}
        a = self._action
        self.open_devices = a("Devices and &stock…", "Ctrl+Shift+D", "Open the devices list: inventory, shipping, "
                              "returns", self.show_devices, "openDevices", Permission.view)
        self.open_charges = a("&Charges…", "Ctrl+Shift+C", "Open the charges of the selected user's account",
                              self.show_charges, "openCharges", Permission.view)
        self.temporary = a("Issue &temporary passcode…", "Ctrl+Shift+K", "Issue a temporary passcode to the "
                           "selected user (identity verified by phone)", self.issue_temporary_passcode,
                           "issueTemporaryPasscode", Permission.issue_temporary_access)
        self.online_card = a("Issue &Online Security Code Card…", "Ctrl+Shift+N", "Issue an Online Security Code "
                             "Card to the selected enrolled user after a loss", self.issue_online_card,
                             "issueOnlineCard", Permission.issue_temporary_access)
        self.report = a("Report selected device &lost, stolen or damaged…", "Ctrl+Shift+L", "Mark the device "
                        "selected in the user's devices as lost, stolen, damaged or failed", self.report_device,
                        "reportUserDevice", Permission.manage_devices)
        self.preferred = a("Make selected device &preferred", "Ctrl+Shift+F", "Offer the selected device first "
                           "when the user logs in", self.make_preferred, "makePreferred", Permission.manage_devices)
        self.share = a("S&hare selected device with another username…", "Ctrl+Shift+H", "Let another username of "
                       "the same person use the selected device", self.share_device, "shareUserDevice",
                       Permission.manage_devices)
        self.unshare = a("Stop sharing selected device", "Ctrl+Shift+U", "The selected user no longer uses the "
                         "shared device; its other holders keep it", self.unshare_device, "unshareUserDevice",
                         Permission.manage_devices)
        menu = window.menuBar().addMenu("&Devices")
        menu.setObjectName("devicesMenu")
        help_menu = getattr(window, "help_menu", None)
        if help_menu is not None:  # keep Help last
            window.menuBar().insertMenu(help_menu.menuAction(), menu)
        for action in (self.open_devices, self.open_charges):
            menu.addAction(action)
        menu.addSeparator()
        for action in (self.temporary, self.online_card, self.report, self.preferred, self.share, self.unshare):
            menu.addAction(action)
        self.menu = menu
        window.table.selectionModel().currentRowChanged.connect(lambda *_: self.update())
        window.detail.devices.itemSelectionChanged.connect(self.update)
        self.update()

    def _action(self, text, shortcut, tip, slot, name, permission: Permission) -> QAction:
        # Tagged with its permission so apply_role hides it for roles that may not use it.
        action = make_action(self.window, text, shortcut, tip, slot, name, permission=permission)
        self._permissions[action] = permission
        return action

    # --- selection -------------------------------------------------------------------------------
    def selected_user(self):
        return self.window.detail.details

    def selected_device(self):
        details = self.window.detail.details
        row = self.window.detail.devices.currentRow()
        if details is None or not 0 <= row < len(details.devices):
            return None
        return details.devices[row]

    def select_device(self, device_id: int) -> bool:
        details = self.window.detail.details
        for i, d in enumerate(details.devices if details else ()):
            if d.id == device_id:
                self.window.detail.devices.selectRow(i)
                self.window.detail.devices.setCurrentCell(i, 0)
                return True
        return False

    def update(self) -> None:
        user = self.selected_user()
        device = self.selected_device()
        live = device is not None and device.state in (DeviceState.active, DeviceState.shipped, DeviceState.pending)
        temporary = device is not None and device.kind_label in TEMPORARY_LABELS
        rules = {
            self.temporary: user is not None and user.sls_state is not SlsState.opted_out,
            self.online_card: user is not None and user.sls_state is SlsState.enrolled,
            self.report: live and not temporary,
            self.preferred: device is not None and device.state is DeviceState.active and not device.preferred,
            self.share: device is not None and device.state is DeviceState.active and not temporary,
            self.unshare: device is not None and bool(device.shared_with),
        }
        for action, permission in self._permissions.items():
            action.setEnabled(allowed(self.actor, permission) and rules.get(action, True))

    # --- screens ---------------------------------------------------------------------------------
    def show_devices(self) -> None:
        if self.devices_window is None:
            # Own windows (QMainWindow), parented so they close with the main window.
            self.devices_window = DevicesWindow(self.services, self.window)
        self.devices_window.refresh()
        self.devices_window.show()
        self.devices_window.raise_()

    def show_charges(self) -> None:
        user = self.selected_user()
        number = user.account_number if user is not None else ""
        if self.charges_window is None:
            self.charges_window = ChargesWindow(self.services, number, self.window)
        else:
            self.charges_window.account_edit.setText(number)
            self.charges_window.apply_filter()
        self.charges_window.show()
        self.charges_window.raise_()

    # --- acting on the selected user's device ----------------------------------------------------
    def _open(self, dialog) -> None:
        self.dialog = dialog
        dialog.accepted.connect(self._after)
        dialog.open()

    def _after(self) -> None:
        device = self.selected_device()
        self.window.refresh()
        if device is not None:
            self.select_device(device.id)
        self.update()

    def issue_temporary_passcode(self) -> None:
        user = self.selected_user()
        if user is not None:
            self._open(TemporaryPasscodeDialog(self.services, user.id, user.username, self.window))

    def issue_online_card(self) -> None:
        user = self.selected_user()
        if user is not None:
            self._open(OnlineCardDialog(self.services, user.id, user.username, self.window))

    def report_device(self) -> None:
        user, device = self.selected_user(), self.selected_device()
        if device is None:
            return
        label = f"{device.kind_label} {device.serial or ''}".strip()
        self._open(ReportDialog(self.services, device.id, label, self.services.devices.holders(device.id),
                                user.id, self.window))

    def make_preferred(self) -> None:
        user, device = self.selected_user(), self.selected_device()
        if device is None:
            return
        try:
            self.services.devices.set_preferred(self.actor, user.id, device.id)
        except ConsoleError as exc:
            self.window.last_message = show_error(self.window, exc)
            return
        self._after()

    def share_device(self) -> None:
        device = self.selected_device()
        if device is None:
            return
        row = self.services.devices.get(device.id)
        self._open(ShareDialog(self.services, device.id, row.kind, f"{device.kind_label} {device.serial or ''}".strip(),
                               self.window))

    def unshare_device(self) -> None:
        user, device = self.selected_user(), self.selected_device()
        if device is None:
            return
        label = f"{device.kind_label} {device.serial or ''}".strip()
        self._open(ConfirmDialog(
            self.services, f"Stop sharing {label}",
            f"{user.username} will no longer use {label}; {', '.join(device.shared_with)} keep(s) it.",
            lambda: self.services.devices.unshare(self.actor, device.id, user.id), "unshareConfirm",
            "Stop sharing", self.window))


def install_device_actions(window) -> DeviceActions:
    return DeviceActions(window)
