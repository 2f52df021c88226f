"""The opt-out dialog: the risks and restrictions read to the client, and their explicit acknowledgement."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from console.models.enrollment import OptedOut
from console.models.enums import OPT_OUT_RESTRICTIONS
from console.models.faults import explain
from console.models.opt_out_terms import RISKS
from console.views.change_bus import ChangeKind, Changes
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.messages import report_done


def _label(html: str, name: str) -> QLabel:
    label = QLabel(html)
    label.setWordWrap(True)
    label.setObjectName(name)
    return label


class OptOutDialog(QDialog):
    """Opt an enrolled user out once the client's acknowledgement is ticked (the service refuses without it).

    The refusal is shown once, here in red; what was done is said once, in the window that opened the dialog.
    """

    submit_requested = Signal()

    def __init__(self, desk: Desk, user_id: int, username: str, full_name: str,
                 parent: QWidget | None = None, *, version: int | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.enrollment = desk.services.enrollment
        actor = self.actor = desk.actor
        self.user_id = user_id
        self.username = username
        self.version = version  # of the user as the agent saw it: another desk's change since is refused
        self.result: OptedOut | None = None
        self.last_error: str | None = None
        self.report = ""
        self.setObjectName("optOutDialog")
        self.title = f"Opt {username} out of the Secure Login System"
        self.setWindowTitle(f"{self.title} — reading…")  # until the texts with the figures as set are read
        self.setMinimumWidth(640)
        layout = QVBoxLayout(self)
        layout.addWidget(_label(
            f"<p><b>{escape(full_name)} ({escape(username)})</b> asks to log in without a security device. Read the "
            f"risks and restrictions below to the client. Opt out only if the client still wants to after hearing "
            f"them.</p>", "optOutIntro"))
        layout.addWidget(_label("<b>Risks</b><ul>" + "".join(f"<li>{escape(r)}</li>" for r in RISKS) + "</ul>",
                                "risks"))
        self.restrictions = _label("<b>Restrictions that will apply while opted out</b><p>Reading…</p>",
                                   "restrictions")
        layout.addWidget(self.restrictions)
        layout.addWidget(_label(
            f"<b>Devices</b><br>{escape(username)} stops using its security devices. A device shared with another "
            f"username stays active for that username; an IB Key or card used only by {escape(username)} is "
            f"revoked; a DSC+ must be returned by its due date.", "devicesNote"))
        layout.addWidget(QLabel("<b>Statement the client acknowledges</b> (recorded word for word):"))
        self.statement = QPlainTextEdit("Reading…")
        self.statement.setObjectName("statement")
        self.statement.setAccessibleName("Opt-out statement")
        self.statement.setReadOnly(True)
        self.statement.setFixedHeight(80)
        layout.addWidget(self.statement)
        self.acknowledged = QCheckBox("The client has heard the risks and restrictions and &acknowledges this "
                                      "statement")
        self.acknowledged.setObjectName("acknowledged")
        self.acknowledged.setAccessibleName("Client acknowledges the opt-out statement")
        self.acknowledged.setEnabled(False)  # nothing to acknowledge before the statement is read
        layout.addWidget(self.acknowledged)
        layout.addWidget(_label(f"<span style='color:#555'>Recorded with your name ({escape(actor.full_name)}, "
                                f"{escape(actor.username)}) and the time you press Opt out.</span>", "recordedBy"))

        self.refusal = QLabel()
        self.refusal.setObjectName("optOutRefusal")
        self.refusal.setWordWrap(True)
        self.refusal.setStyleSheet("color: #b3261e; font-weight: 600;")
        self.refusal.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.refusal.setVisible(False)
        layout.addWidget(self.refusal)

        self.opt_out_action = QAction("&Opt out", self)
        self.opt_out_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.opt_out_action.setStatusTip(f"Opt {username} out of the Secure Login System and apply the restrictions")
        self.opt_out_action.triggered.connect(self.opt_out)
        self.addAction(self.opt_out_action)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.opt_out_button = self.buttons.addButton("&Opt out", QDialogButtonBox.ButtonRole.AcceptRole)
        self.opt_out_button.setObjectName("optOutButton")
        self.opt_out_button.setToolTip(self.opt_out_action.statusTip())
        self.opt_out_button.setDefault(True)
        self.opt_out_button.clicked.connect(self.opt_out_action.trigger)
        self.opt_out_button.setEnabled(False)
        self.buttons.rejected.connect(self.reject)
        # buttons.accepted is left unconnected: the dialog closes only once the service has opted the user out.
        layout.addWidget(self.buttons)
        keyboard_conventions(self)
        self.loading = True
        enrollment = self.enrollment  # the withdrawal limits in figures, as set: read off the GUI thread
        desk.runner.query(self, lambda: (enrollment.opt_out_explanations(), enrollment.opt_out_statement()),
                          success=lambda texts: self._texts_read(*texts), failure=self._texts_refused)

    def _texts_read(self, explanations: dict, statement: str) -> None:
        self.loading = False
        self.setWindowTitle(self.title)
        self.restrictions.setText("<b>Restrictions that will apply while opted out</b><ul>"
                                  + "".join(f"<li>{escape(explanations[r])}</li>" for r in OPT_OUT_RESTRICTIONS)
                                  + "</ul>")
        self.statement.setPlainText(statement)
        self.acknowledged.setEnabled(True)
        self.opt_out_button.setEnabled(True)
        self.acknowledged.setFocus(Qt.FocusReason.OtherFocusReason)

    def _texts_refused(self, exc: Exception) -> None:
        self.setWindowTitle(self.title)
        self._refused(exc)
        self.opt_out_button.setEnabled(False)  # nothing read: nothing to acknowledge

    def opt_out(self) -> None:
        """Opt the user out through the runner; without the acknowledgement the service refuses, shown here."""
        self.submit_requested.emit()
        if not self.opt_out_button.isEnabled():
            return  # one under way, or the statement not read yet
        self.opt_out_button.setEnabled(False)
        statement, acknowledged = self.statement.toPlainText(), self.acknowledged.isChecked()
        self.desk.runner.write(
            self, lambda: self.enrollment.opt_out(self.actor, self.user_id, statement, acknowledged,
                                             expected_version=self.version),
            changes=Changes.of(users=[self.user_id], kinds=[ChangeKind.devices]), success=self._opted_out,
            failure=self._refused)

    def _opted_out(self, result: OptedOut) -> None:
        self.result = result
        parent = self.parentWidget()
        self.accept()
        withdrawn = (" The request to share a device that waited for compliance was withdrawn."
                     if result.withdrawn_requests else "")
        self.report = report_done(parent or self, f"{self.username} opted out of the Secure Login System; the "
                                                  f"opt-out restrictions now apply.{withdrawn}")

    def _refused(self, exc: Exception) -> None:
        self.opt_out_button.setEnabled(True)
        self.last_error = explain(exc)  # a refusal as written, or a fault (full disk, server gone) in one sentence
        self.refusal.setText(self.last_error)
        self.refusal.setVisible(True)
