"""The opt-out dialog: the risks and restrictions read to the client, and their explicit acknowledgement."""

from __future__ import annotations

from html import escape

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

from console.models.context import Actor
from console.models.enrollment import EnrollmentService, OptedOut
from console.models.enums import OPT_OUT_RESTRICTIONS
from console.models.opt_out_terms import RESTRICTION_EXPLANATIONS, RISKS, STATEMENT
from console.views.messages import show_error


def _label(html: str, name: str) -> QLabel:
    label = QLabel(html)
    label.setWordWrap(True)
    label.setObjectName(name)
    return label


class OptOutDialog(QDialog):
    """Opt an enrolled user out; the button stays disabled until the client's acknowledgement is ticked."""

    def __init__(self, enrollment: EnrollmentService, actor: Actor, user_id: int, username: str, full_name: str,
                 parent: QWidget | None = None, *, version: int | None = None) -> None:
        super().__init__(parent)
        self.enrollment = enrollment
        self.actor = actor
        self.user_id = user_id
        self.version = version  # of the user as the agent saw it: another desk's change since is refused
        self.result: OptedOut | None = None
        self.last_error: str | None = None
        self.last_message = None
        self.setObjectName("optOutDialog")
        self.setWindowTitle(f"Opt {username} out of the Secure Login System")
        self.setMinimumWidth(640)
        layout = QVBoxLayout(self)
        layout.addWidget(_label(
            f"<p><b>{escape(full_name)} ({escape(username)})</b> asks to log in without a security device. Read the "
            f"risks and restrictions below to the client. Opt out only if the client still wants to after hearing "
            f"them.</p>", "optOutIntro"))
        layout.addWidget(_label("<b>Risks</b><ul>" + "".join(f"<li>{escape(r)}</li>" for r in RISKS) + "</ul>",
                                "risks"))
        layout.addWidget(_label("<b>Restrictions that will apply while opted out</b><ul>"
                                + "".join(f"<li>{escape(RESTRICTION_EXPLANATIONS[r])}</li>"
                                          for r in OPT_OUT_RESTRICTIONS) + "</ul>", "restrictions"))
        layout.addWidget(_label(
            f"<b>Devices</b><br>{escape(username)} stops using its security devices. A device shared with another "
            f"username stays active for that username; an IB Key or card used only by {escape(username)} is "
            f"revoked; a DSC+ must be returned by its due date.", "devicesNote"))
        layout.addWidget(QLabel("<b>Statement the client acknowledges</b> (recorded word for word):"))
        self.statement = QPlainTextEdit(STATEMENT)
        self.statement.setObjectName("statement")
        self.statement.setAccessibleName("Opt-out statement")
        self.statement.setReadOnly(True)
        self.statement.setFixedHeight(80)
        layout.addWidget(self.statement)
        self.acknowledged = QCheckBox("The client has heard the risks and restrictions and &acknowledges this "
                                      "statement")
        self.acknowledged.setObjectName("acknowledged")
        self.acknowledged.setAccessibleName("Client acknowledges the opt-out statement")
        layout.addWidget(self.acknowledged)
        layout.addWidget(_label(f"<span style='color:#555'>Recorded with your name ({escape(actor.full_name)}, "
                                f"{escape(actor.username)}) and the time you press Opt out.</span>", "recordedBy"))

        self.opt_out_action = QAction("&Opt out", self)
        self.opt_out_action.setShortcut(QKeySequence("Ctrl+Return"))
        self.opt_out_action.setStatusTip(f"Opt {username} out of the Secure Login System and apply the restrictions")
        self.opt_out_action.setEnabled(False)
        self.opt_out_action.triggered.connect(self.opt_out)
        self.addAction(self.opt_out_action)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.opt_out_button = self.buttons.addButton("&Opt out", QDialogButtonBox.ButtonRole.AcceptRole)
        self.opt_out_button.setObjectName("optOutButton")
        self.opt_out_button.setEnabled(False)
        self.opt_out_button.setToolTip(self.opt_out_action.statusTip())
        self.opt_out_button.clicked.connect(self.opt_out_action.trigger)
        self.buttons.rejected.connect(self.reject)
        # buttons.accepted is left unconnected: the dialog closes only once the service has opted the user out.
        layout.addWidget(self.buttons)
        self.acknowledged.toggled.connect(self._ack_changed)

    def _ack_changed(self, checked: bool) -> None:
        self.opt_out_action.setEnabled(checked)
        self.opt_out_button.setEnabled(checked)

    def opt_out(self) -> None:
        try:
            self.result = self.enrollment.opt_out(self.actor, self.user_id, self.statement.toPlainText(),
                                                  self.acknowledged.isChecked(), expected_version=self.version)
        except Exception as exc:  # noqa: BLE001 - every failure is shown (and an unexpected one logged)
            self.last_message = show_error(self, exc)
            self.last_error = self.last_message.text()
            return
        self.accept()
