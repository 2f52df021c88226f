"""Closing an account: names the account and what closing does, asks, then reports what was charged.

The rules are the model's (console/models/accounts.py, docs/rules.md): holdings end, each unreturned device is
charged once, reserves settle; a return on its way refuses the closing unless a reason is given here.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QPlainTextEdit, QWidget

from console.models.accounts import ClosingPreview, ClosingResult
from console.views.change_bus import ChangeKind, Changes
from console.views.desk import Desk
from console.views.device_dialogs import ServiceDialog, Submission
from console.views.formatting import money

ALL_KINDS = [ChangeKind.users, ChangeKind.devices, ChangeKind.charges, ChangeKind.accounts]


class CloseAccountDialog(ServiceDialog):
    ok_text = "Close account"

    def __init__(self, desk: Desk, account_number: str = "", parent: QWidget | None = None) -> None:
        super().__init__(desk, "Close an account", "closeAccount", parent)
        self.intro.setText("Closing ends every device its users hold, charges each device not returned its fee "
                           "once, and releases the reserves of devices already back. Its users can no longer "
                           "change anything. Ctrl+Enter closes.")
        self.number = self._field("&Account:", QLineEdit(account_number), "closeAccountNumber",
                                  "Number of the account to close")
        self.number.setPlaceholderText("e.g. U1234567")
        self.reason = self._field("&Reason if a return is on its way:", QPlainTextEdit(), "closeAccountReason",
                                  "Reason for closing while a returned device is still on its way")
        self.reason.setPlaceholderText("Only needed when a returned card has not arrived yet")
        self.reason.setTabChangesFocus(True)
        self.reason.setMaximumHeight(70)
        self.number.setFocus()

    def submission(self) -> Submission:
        number = self.number.text().strip().upper()
        reason = self.reason.toPlainText().strip()
        accounts, charges = self.services.accounts, self.services.charges
        shown: list[ClosingPreview] = []  # what the question showed; its version goes back with the decision

        def question() -> str:
            preview = accounts.closing_preview(charges.account_id_for(number))
            shown[:] = [preview]
            text = (f"Close account {preview.number}? Its users lose every device they hold; unreturned devices are "
                    f"charged.")
            if preview.in_transit:
                text += (f"\n\nOn its way back: {', '.join(preview.in_transit)}. "
                         + (f"Closing anyway, for this reason: {reason}" if reason else
                            "Give a reason to close anyway, or wait until it arrives."))
            return text

        def work() -> ClosingResult:
            [preview] = shown
            return accounts.close(self.actor, preview.account_id, force_reason=reason or None,
                                  expected_version=preview.version)

        def done(result: ClosingResult) -> str:
            return (f"{result.account_number} closed: {result.users_closed} user(s), {result.devices_ended} "
                    f"device(s) ended, {result.charged} charged {money(result.charged_cents, 'USD')}, "
                    f"{result.reserves_released} reserve(s) released.")

        return Submission(work, Changes.of(kinds=ALL_KINDS), done, question, "Close account")
