"""The main window's device actions: open the devices and charges screens, and act on the selected user's
selected device (report a loss, temporary passcode, preferred device, share, stop sharing).

A typed collaborator: it makes actions and opens screens; the main window places the actions in its own
menus and calls update() when the selection changes. What it changes is announced on the change bus.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from console.models.enums import DeviceKind, DeviceState, SlsState
from console.models.permissions import Permission
from console.views.change_bus import Changes
from console.views.charges_view import ChargesWindow
from console.views.desk import Desk
from console.views.device_dialogs import (
    ConfirmDialog,
    OnlineCardDialog,
    ReportDialog,
    ShareDialog,
    TemporaryPasscodeDialog,
)
from console.views.devices_view import DevicesWindow
from console.views.messages import report_done, show_error
from console.views.permitted import PermittedAction
from console.views.style import icon
from console.views.user_detail import UserDetailPane

TEMPORARY_LABELS = {kind.label for kind in DeviceKind if kind.is_temporary}
ICONS = {"openDevices": "device", "openCharges": "charges", "issueTemporaryPasscode": "passcode",
         "issueOnlineCard": "card", "reportUserDevice": "alert", "makePreferred": "star",
         "shareUserDevice": "share", "unshareUserDevice": "unshare"}


class DeviceActions(QObject):
    """The Devices menu's actions; `detail` says which user and device are selected."""

    def __init__(self, desk: Desk, detail: UserDetailPane, parent: QWidget) -> None:
        super().__init__(parent)
        self.desk = desk
        self.services = desk.services
        self.actor = desk.actor
        self.detail = detail
        self.parent_widget = parent
        self.devices_window: DevicesWindow | None = None
        self.charges_window: ChargesWindow | None = None
        self.dialog = None
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
        self.unshare = a("Stop sharing selected &device…", "Ctrl+Shift+U", "The selected user no longer uses the "
                         "shared device; its other holders keep it", self.unshare_device, "unshareUserDevice",
                         Permission.manage_devices)
        self.window_actions = (self.open_devices, self.open_charges)
        self.device_actions = (self.temporary, self.online_card, self.report, self.preferred, self.share,
                               self.unshare)
        self.update()

    def _action(self, text, shortcut, tip, slot, name, permission: Permission) -> PermittedAction:
        return self.desk.actions.make(self.parent_widget, text, shortcut, tip, slot, name, permission,
                                      icon=icon(ICONS[name]))

    def refresh_icons(self) -> None:
        for action in (*self.window_actions, *self.device_actions):
            action.setIcon(icon(ICONS[action.objectName()]))

    # --- selection -------------------------------------------------------------------------------
    def selected_user(self):
        return self.detail.details

    def selected_device(self):
        return self.detail.selected_device()

    def select_device(self, device_id: int) -> bool:
        return self.detail.select_device(device_id)

    def update(self) -> None:
        user = self.selected_user()
        device = self.selected_device()
        live = device is not None and device.state in (DeviceState.active, DeviceState.shipped, DeviceState.pending)
        temporary = device is not None and device.kind_label in TEMPORARY_LABELS
        self.temporary.setEnabled(user is not None and user.sls_state is not SlsState.opted_out)
        self.online_card.setEnabled(user is not None and user.sls_state is SlsState.enrolled)
        self.report.setEnabled(live and not temporary)
        self.preferred.setEnabled(device is not None and device.state is DeviceState.active and not device.preferred)
        self.share.setEnabled(device is not None and device.state is DeviceState.active and not temporary)
        self.unshare.setEnabled(device is not None and bool(device.shared_with))

    # --- screens ---------------------------------------------------------------------------------
    def show_devices(self) -> None:
        if self.devices_window is None:
            # Own windows (QMainWindow), parented so they close with the main window.
            self.devices_window = DevicesWindow(self.desk, self.parent_widget)
        self.devices_window.refresh()
        self.devices_window.show()
        self.devices_window.raise_()

    def show_charges(self) -> None:
        user = self.selected_user()
        number = user.account_number if user is not None else ""
        if self.charges_window is None:
            self.charges_window = ChargesWindow(self.desk, number, self.parent_widget)
        else:
            self.charges_window.show_account(number)
        self.charges_window.show()
        self.charges_window.raise_()

    # --- acting on the selected user's device ----------------------------------------------------
    def _open(self, dialog) -> None:
        self.dialog = dialog
        dialog.open()

    def issue_temporary_passcode(self) -> None:
        user = self.selected_user()
        if user is not None:
            self._open(TemporaryPasscodeDialog(self.desk, user.id, user.username, self.parent_widget))

    def issue_online_card(self) -> None:
        user = self.selected_user()
        if user is not None:
            self._open(OnlineCardDialog(self.desk, user.id, user.username, self.parent_widget))

    def report_device(self) -> None:
        user, device = self.selected_user(), self.selected_device()
        if device is None:
            return
        label = f"{device.kind_label} {device.serial or ''}".strip()
        self._open(ReportDialog(self.desk, device.id, label, user.id, self.parent_widget))

    def make_preferred(self) -> None:
        user, device = self.selected_user(), self.selected_device()
        if device is None:
            return
        label = f"{device.kind_label} {device.serial or ''}".strip()
        self.desk.runner.write(
            self.parent_widget, lambda: self.services.devices.set_preferred(self.actor, user.id, device.id),
            changes=Changes.of(users=[user.id], devices=[device.id]),
            success=lambda _: report_done(self.parent_widget, f"{label} is now {user.username}'s preferred device."),
            failure=lambda exc: setattr(self, "last_message", show_error(self.parent_widget, exc)))

    def share_device(self) -> None:
        device = self.selected_device()
        if device is None:
            return
        if device.kind is None:
            return
        self._open(ShareDialog(self.desk, device.id, device.kind, f"{device.kind_label} {device.serial or ''}".strip(),
                               self.parent_widget))

    def unshare_device(self) -> None:
        user, device = self.selected_user(), self.selected_device()
        if device is None:
            return
        label = f"{device.kind_label} {device.serial or ''}".strip()
        others = ", ".join(device.shared_with)
        self._open(ConfirmDialog(
            self.desk, f"Stop sharing {label}",
            f"{user.username} will no longer use {label}; {others} keep(s) it.",
            lambda: self.services.devices.unshare(self.actor, device.id, user.id, expected_version=device.version),
            "unshareConfirm",
            "Stop sharing", self.parent_widget, changes=Changes.of(users=[user.id], devices=[device.id]),
            done=f"{user.username} no longer uses {label}; {others} keep(s) it."))
