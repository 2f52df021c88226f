"""The main window's actions for SMS, printed Security Code Cards and the compliance queue of sharing requests.

A typed collaborator like DeviceActions: it makes the actions (through the desk's action factory, each with
its permission), opens the dialogs and the queue window; the main window places the actions in its menus and
calls update() when the selection changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QWidget

from console.models.enums import DeviceKind, DeviceState, SlsState
from console.models.permissions import Permission
from console.views.change_bus import Changes
from console.views.desk import Desk
from console.views.formatting import when
from console.views.messages import report_done, show_error
from console.views.permitted import PermittedAction
from console.views.sharing_queue import SharingQueueWindow
from console.views.sls_dialogs import PrintedCardActivateDialog, PrintedCardDialog, SmsEndDialog, SmsIssueDialog
from console.views.user_detail import UserDetailPane


class SlsActions(QObject):
    def __init__(self, desk: Desk, detail: UserDetailPane, parent: QWidget) -> None:
        super().__init__(parent)
        self.desk = desk
        self.services = desk.services
        self.actor = desk.actor
        self.detail = detail
        self.parent_widget = parent
        self.dialog: QDialog | None = None
        self.queue_window: SharingQueueWindow | None = None
        self.last_message = None
        make = self._action
        self.sms_issue = make("Text login codes by S&MS…", "Ctrl+Shift+M", "Text login codes to the selected user's "
                              "mobile until another device is activated", self.issue_sms, "issueSms",
                              Permission.manage_sms)
        self.sms_send = make("Send SMS code &now", "Ctrl+Shift+T", "Text a new login code to the selected SMS device",
                             self.send_sms_code, "sendSmsCode", Permission.manage_sms)
        self.sms_end = make("&End selected SMS…", "Ctrl+Shift+E", "Stop texting codes to the selected SMS device",
                            self.end_sms, "endSms", Permission.manage_sms)
        self.card_issue = make("&Issue printed Security Code Card by mail…", "Ctrl+Shift+O", "Print and mail a "
                               "Security Code Card to the selected user (no fee, no return)", self.issue_printed_card,
                               "issuePrintedCard", Permission.manage_devices)
        self.card_activate = make("Acti&vate selected printed card…", "Ctrl+Shift+V", "Activate the mailed Security "
                                  "Code Card selected in the user's devices with two index numbers",
                                  self.activate_printed_card, "activatePrintedCard", Permission.manage_devices)
        self.open_queue = make("Sharing re&quests awaiting approval…", "Ctrl+Shift+Q", "Open the compliance queue "
                               "of sharing requests", self.show_queue, "openSharingQueue",
                               (Permission.review_sharing, Permission.manage_devices))
        self.user_actions = (self.sms_issue, self.sms_send, self.sms_end, self.card_issue, self.card_activate)
        self.window_actions = (self.open_queue,)
        self.update()

    def _action(self, text: str, shortcut: str, tip: str, slot: Callable[[], Any], name: str,
                permission: Permission | tuple[Permission, ...]) -> PermittedAction:
        return self.desk.actions.make(self.parent_widget, text, shortcut, tip, slot, name, permission)

    def update(self) -> None:
        user, device = self.detail.details, self.detail.selected_device()
        sms = device is not None and device.kind_label == DeviceKind.sms.label and device.state is DeviceState.active
        self.sms_issue.setEnabled(user is not None and user.sls_state in (SlsState.enrolled, SlsState.no_device))
        self.sms_send.setEnabled(sms)
        self.sms_end.setEnabled(sms)
        self.card_issue.setEnabled(user is not None and user.sls_state is not SlsState.pending)
        self.card_activate.setEnabled(device is not None and device.kind_label == DeviceKind.code_card.label
                                      and device.state is DeviceState.shipped)

    def _open(self, dialog: QDialog) -> QDialog:
        self.dialog = dialog
        dialog.open()
        return dialog

    def issue_sms(self) -> QDialog | None:
        user = self.detail.details
        if user is not None:
            return self._open(SmsIssueDialog(self.desk, user.id, user.username, self.parent_widget,
                                             version=user.version))
        return None

    def send_sms_code(self) -> None:
        user, device = self.detail.details, self.detail.selected_device()
        if user is None or device is None:
            return
        self.desk.runner.write(
            self.parent_widget, lambda: self.services.sms.send_code(self.actor, device.id,
                                                                    expected_version=device.version),
            changes=Changes.of(devices=[device.id]),
            success=lambda sent: report_done(self.parent_widget, f"Code texted to {sent.phone_shown} for "
                                             f"{user.username}; a new one can be sent from {when(sent.next_send_at)}."),
            failure=lambda exc: setattr(self, "last_message", show_error(self.parent_widget, exc)))

    def end_sms(self) -> QDialog | None:
        user, device = self.detail.details, self.detail.selected_device()
        if user is not None and device is not None:
            return self._open(SmsEndDialog(self.desk, device.id, user.username, self.parent_widget,
                                           version=device.version))
        return None

    def issue_printed_card(self) -> QDialog | None:
        user = self.detail.details
        if user is not None:
            return self._open(PrintedCardDialog(self.desk, user.id, user.username, self.parent_widget,
                                                version=user.version))
        return None

    def activate_printed_card(self) -> QDialog | None:
        device = self.detail.selected_device()
        if device is not None:
            return self._open(PrintedCardActivateDialog(self.desk, device.id, device.serial or "",
                                                        self.parent_widget, version=device.version))
        return None

    def show_queue(self) -> SharingQueueWindow:
        if self.queue_window is None:
            self.queue_window = SharingQueueWindow(self.desk, self.parent_widget)
        else:
            self.queue_window.refresh()
        self.queue_window.show()
        self.queue_window.raise_()
        return self.queue_window
