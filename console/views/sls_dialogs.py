"""Dialogs for SMS as a temporary device and for printed Security Code Cards.

Built on the device dialogs' ServiceDialog: OK runs one service call through the desk's operation runner, a
refusal is shown once inline, and what was done is reported by the window that opened the dialog.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCheckBox, QDialogButtonBox, QLineEdit, QPlainTextEdit, QPushButton, QWidget

from console.models.enums import DeviceKind
from console.models.errors import InvalidInput
from console.models.printed_cards import PrintedCard
from console.views.change_bus import ChangeKind, Changes
from console.views.desk import Desk
from console.views.device_dialogs import ChallengeDialog, ServiceDialog, Submission, _card_text
from console.views.formatting import day, when
from console.views.messages import report_done


class SmsIssueDialog(ServiceDialog):
    ok_text = "Set up SMS"

    def __init__(self, desk: Desk, user_id: int, username: str, parent: QWidget | None = None, *,
                 version: int | None = None) -> None:
        super().__init__(desk, f"SMS for {username}", "smsIssue", parent)
        self.user_id = user_id
        self.version = version  # of the user as the detail pane showed it
        self.username = username
        about = (f"Codes are texted to the client's mobile until another device of {username} is activated; then "
                 f"SMS ends by itself. Low protection: the SMS withdrawal limits apply.")
        self.intro.setText(about)
        self.phone = self._field("&Mobile number:", QLineEdit(), "smsPhone", "Client's mobile number")
        self.phone.setPlaceholderText("with country code, e.g. +41 79 123 45 67")
        self.identity = self._field("", QCheckBox("Caller's &identity verified with the security question"),
                                    "smsIdentityVerified", "Caller's identity verified")
        settings = self.services.settings  # the figure as set, read off the GUI thread
        self.read_first(lambda: settings.figures().sms_resend_minutes, lambda minutes: self.intro.setText(
            f"{about} A new code can be sent every {minutes} minutes."))

    def submission(self) -> Submission:
        phone, identity = self.phone.text(), self.identity.isChecked()
        return Submission(
            lambda: self.services.sms.issue(self.actor, self.user_id, phone, identity_verified=identity,
                                            expected_version=self.version),
            lambda issued: Changes.of(users=[self.user_id], devices=[issued.device_id]),
            lambda issued: f"SMS to {issued.phone_shown} set up for {self.username} until another device is "
                           f"activated.")


class SmsEndDialog(ServiceDialog):
    ok_text = "End SMS"

    def __init__(self, desk: Desk, device_id: int, username: str, parent: QWidget | None = None, *,
                 version: int | None = None) -> None:
        super().__init__(desk, f"End SMS of {username}", "smsEnd", parent)
        self.device_id = device_id
        self.version = version  # of the SMS device as the detail pane showed it
        self.username = username
        self.intro.setText(f"{username} will no longer receive codes by text. Refused if it is the last active "
                           f"device of an enrolled user.")
        self.reason = self._field("&Reason:", QLineEdit(), "smsEndReason", "Why SMS ends")

    def submission(self) -> Submission:
        reason = self.reason.text()
        return Submission(lambda: self.services.sms.end(self.actor, self.device_id, reason,
                                                        expected_version=self.version),
                          Changes.of(devices=[self.device_id], kinds=[ChangeKind.users]),
                          lambda _: f"SMS of {self.username} ended.",
                          lambda: f"End SMS of {self.username}? Codes are no longer texted to the client.", "End SMS")


class PrintedCardDialog(ServiceDialog):
    """Print and mail a Security Code Card: issue it, then show its values once to print or save as PDF."""

    ok_text = "Issue and mail card"

    def __init__(self, desk: Desk, user_id: int, username: str, parent: QWidget | None = None, *,
                 version: int | None = None) -> None:
        super().__init__(desk, f"Printed Security Code Card for {username}", "printedCard", parent)
        self.user_id = user_id
        self.version = version  # of the user as the detail pane showed it
        self.username = username
        self.card: PrintedCard | None = None
        self.intro.setText(self._about(username, "the activation window"))
        self.values = self._field("Card values:", QPlainTextEdit(), "printedCardValues", "Card values")
        self.values.setReadOnly(True)
        self.values.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.values.setFont(QFont("monospace"))
        self.values.setPlaceholderText("Shown here once the card is issued.")
        self.save_button = QPushButton("Save as &PDF…")
        self.save_button.setObjectName("printedCardSavePdf")
        self.save_button.setToolTip("Save the card as a PDF for the mail room")
        self.save_button.setEnabled(False)
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(lambda: self.save_pdf())
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.setMinimumWidth(620)
        settings = self.services.settings  # the figure as set, read off the GUI thread
        self.read_first(lambda: settings.figures().dsc_activation_window_days,
                        lambda days: self.intro.setText(self._about(username, f"{days} days")))

    @staticmethod
    def _about(username: str, window: str) -> str:
        return (f"A Security Code Card is printed and mailed to {username}: no fee, and nothing to return. The client "
                f"activates it within {window} by reading back the values at two index numbers (Activate selected "
                f"card). Its values are shown once, to print.")

    def submission(self) -> Submission:
        return Submission(lambda: self.services.printed_cards.issue(self.actor, self.user_id,
                                                                    expected_version=self.version),
                          lambda c: Changes.of(users=[self.user_id], devices=[c.device_id]),
                          question=lambda: f"Print and mail a Security Code Card to {self.username}?",
                          confirm_text="Issue and mail")

    def try_submit(self) -> None:
        if self.card is None:
            super().try_submit()
            return
        card, parent = self.card, self.parentWidget()
        self.accept()  # the values have been shown; Done closes and says what was done
        self.report = report_done(parent or self, f"Security Code Card {card.serial} mailed to {self.username}; "
                                                  f"activate by {day(card.activation_due_at)}.")

    def keep_open(self, result: Any) -> bool:
        self.card = result
        self.values.setPlainText(_card_text(result.values))
        self.save_button.setEnabled(True)
        self.ok_button.setText("Done")
        self.refusal.setStyleSheet("")
        self.refusal.setText(f"Card {result.serial} issued on {when(result.mailed_at)}; save it as PDF or print it "
                             f"now: the values are not shown again.")
        self.refusal.setVisible(True)
        return True

    def save_pdf(self, path: str | None = None) -> str | None:
        from console.models.enrollment import CardStart
        from console.views.printing import save_card_pdf

        if self.card is None:
            return None
        if path is None:
            from PySide6.QtWidgets import QFileDialog

            path, _ = QFileDialog.getSaveFileName(self, "Save the card as PDF", f"{self.card.serial}.pdf",
                                                  "PDF (*.pdf)")
            if not path:
                return None
        c = self.card
        save_card_pdf(CardStart(c.device_id, c.username, c.full_name, c.account_number, c.serial, c.values,
                                c.mailed_at, c.activation_due_at), path, printed=True)
        return path


class PrintedCardActivateDialog(ChallengeDialog):
    ok_text = "Activate"

    def __init__(self, desk: Desk, device_id: int, serial: str, parent: QWidget | None = None, *,
                 version: int | None = None) -> None:
        super().__init__(desk, device_id, DeviceKind.code_card, f"Activate Security Code Card {serial}",
                         "activatePrintedCard", parent)
        self.serial = serial
        self.version = version  # of the card as the detail pane showed it
        self.intro.setText(f"The client has received Security Code Card {serial} by mail. Activating it keeps their "
                           f"other devices active and ends an SMS stand-in.")
        self.draw_challenge()

    def submission(self) -> Submission:
        challenge_id, answer = self.challenge_id, self.answer.text()
        if challenge_id is None:
            raise InvalidInput("Draw a challenge first (New challenge), then type the two values.")
        return Submission(
            lambda: self.services.printed_cards.activate(self.actor, self.device_id, challenge_id, answer,
                                                         expected_version=self.version),
            Changes.of(devices=[self.device_id], kinds=[ChangeKind.users]),
            lambda _: f"Security Code Card {self.serial} activated.")
