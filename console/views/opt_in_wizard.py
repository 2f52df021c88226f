"""The assisted opt-in wizard: the agent reads out the three options, sets up the chosen device, checks a code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from console.models.enrollment import AwaitingApproval
from console.models.enums import DeviceKind
from console.models.errors import VerificationFailed
from console.models.opt_out_terms import RESTRICTION_EXPLANATIONS
from console.models.permissions import Permission
from console.views.change_bus import ChangeKind, Changes
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.messages import error_text
from console.views.opt_in_devices import CardPage, IbKeyPage, SharePage
from console.views.wizard_parts import (  # noqa: F401  (page ids are part of this module's interface)
    PAGE_CARD,
    PAGE_CHOOSE,
    PAGE_DONE,
    PAGE_IB_KEY,
    PAGE_SHARE,
    PAGE_VERIFY,
    action_button,
    mono,
    refusal_line,
    wrap,
)

# The client's own words from the portal (seed/how-to-opt-back-into-sls.txt), so the client recognises them.
OPTIONS = (
    ("ib_key", "I would like to install IBKR Mobile and use my smart phone as my Secure Login Device.",
     "IB Key: the client scans a QR code in the app (or types a key), then reads back the 6-digit code."),
    ("card", "I would like to enroll in the Secure Login System without installing IBKR Mobile.",
     "Online Security Code Card: printed or saved as PDF for the client; the client reads back two values. "
     "The card is temporary."),
    ("shared", "I already have access to a Secure Login Device under a different username.",
     "Sharing: the client's other username (same person) lends its device; the client proves it with a code "
     "from that device."),
)


class ChoosePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("choosePage")
        self.setTitle("How would the client like to log in?")
        self.setSubTitle("Read the three options to the client as they are written; they match the client's portal.")
        layout = QVBoxLayout(self)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for key, words, note in OPTIONS:
            button = QRadioButton(words)
            button.setObjectName(f"option_{key}")
            button.setAccessibleName(words)
            self.group.addButton(button)
            self.buttons[key] = button
            layout.addWidget(button)
            hint = wrap(note)
            hint.setContentsMargins(24, 0, 0, 10)
            hint.setStyleSheet("color: #555;")
            layout.addWidget(hint)
        layout.addStretch(1)
        self.group.buttonToggled.connect(lambda *_: self.completeChanged.emit())

    def choice(self) -> str | None:
        return next((k for k, b in self.buttons.items() if b.isChecked()), None)

    def isComplete(self) -> bool:
        return self.choice() is not None

    def nextId(self) -> int:
        return {"ib_key": PAGE_IB_KEY, "card": PAGE_CARD, "shared": PAGE_SHARE}.get(self.choice() or "", PAGE_IB_KEY)


class VerifyPage(QWizardPage):
    """The client reads back a code (or the values/response to a challenge); only a good one enrolls."""

    def __init__(self, wizard: OptInWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setObjectName("verifyPage")
        self.setTitle("Check a code from the client's device")
        self.setSubTitle("Only a correct code activates the device. Nothing is enrolled until then.")
        layout = QVBoxLayout(self)
        self.prompt = wrap("", "verifyPrompt")
        layout.addWidget(self.prompt)
        self.challenge = QLabel()
        self.challenge.setObjectName("challengeText")
        self.challenge.setFont(mono(22))
        self.challenge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.challenge.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.challenge)
        form = QFormLayout()
        self.answer = QLineEdit()
        self.answer.setObjectName("answer")
        self.answer.setAccessibleName("Code read back by the client")
        self.answer.setFont(mono(16))
        self.answer.setMaxLength(16)
        self.answer.textChanged.connect(lambda *_: self.completeChanged.emit())
        form.addRow("Code from the &client:", self.answer)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.new_challenge_action = wizard.desk.actions.make(
            self, "&New challenge", "Ctrl+N", "Draw a new challenge for the client's device",
            lambda: self.draw_challenge(), "newChallengeAction", Permission.prove_possession)
        self.addAction(self.new_challenge_action)
        self.new_challenge_button = action_button(self.new_challenge_action, "newChallenge")
        row.addWidget(self.new_challenge_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.status = refusal_line("verifyStatus")
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.setButtonText(QWizard.WizardButton.NextButton, "&Check code")
        self._accepted = False  # the code was accepted: the next validation lets the wizard move on

    def initializePage(self) -> None:
        self.answer.clear()
        self.status.clear()
        needs_challenge = self.w.kind in (DeviceKind.dsc_plus, DeviceKind.code_card, DeviceKind.online_code_card)
        self.new_challenge_button.setVisible(needs_challenge)
        self.new_challenge_action.setEnabled(needs_challenge)
        if needs_challenge and self.w.challenge is None:
            self.draw_challenge()
        else:
            self._show_prompt()
        self.answer.setFocus()  # the agent types what the client reads out, straight away

    def _show_prompt(self) -> None:
        kind, ch = self.w.kind, self.w.challenge
        owner = f" of {self.w.owner_username}" if self.w.owner_username else ""
        if kind is DeviceKind.ib_key:
            self.prompt.setText(f"Ask the client to read the 6-digit code shown in IBKR Mobile{owner} for "
                                f"{self.w.username if not owner else self.w.owner_username}.")
            self.challenge.clear()
            self.answer.setPlaceholderText("6 digits")
        elif kind is DeviceKind.dsc_plus and ch is not None:
            self.prompt.setText(f"The client's DSC+{owner}: " + ch.prompt)
            self.challenge.setText(f"Challenge  {ch.number}")
            self.answer.setPlaceholderText("8-digit response")
        elif ch is not None:
            a, b = ch.positions
            self.prompt.setText(f"The client's {kind.label}{owner}: ask for the values at these two index numbers, "
                                f"typed together without a space.")
            self.challenge.setText(f"Index {a}   and   Index {b}")
            self.answer.setPlaceholderText("6 characters, e.g. A3DZ3V")

    def draw_challenge(self, then: Callable[[], None] | None = None) -> None:
        """A new challenge for the client's device (recorded, so a write); `then` once it is shown."""
        w = self.w

        def drawn(challenge) -> None:
            w.challenge = challenge
            self.answer.clear()
            self._show_prompt()
            if then is not None:
                then()

        w.run(self, lambda: w.enrollment.new_challenge(w.actor, w.user_id, w.device_id), drawn, self.status)

    def isComplete(self) -> bool:
        return bool(self.answer.text().strip()) and not self.w.busy

    def validatePage(self) -> bool:
        """Check the code off the GUI thread; the wizard moves on by itself once it is accepted."""
        if self._accepted:
            self._accepted = False
            return True
        if self.w.busy:
            return False
        w, ch, code = self.w, self.w.challenge, self.answer.text()

        def accepted(result) -> None:
            w.result = result
            self._accepted = True
            w.next()

        def refused(exc: Exception) -> None:
            # A card or DSC+ challenge is answered once, right or wrong: the next try needs a new one.
            if isinstance(exc, VerificationFailed) and self.new_challenge_action.isEnabled():
                message = self.status.text()
                self.draw_challenge(lambda: self.status.setText(message + " A new challenge is shown."))
            self.answer.selectAll()

        w.run(self, lambda: w.enrollment.confirm(w.actor, w.user_id, w.device_id, code,
                                                 challenge_id=ch.id if ch else None),
              accepted, self.status, refused=refused)
        return False

    def nextId(self) -> int:
        return PAGE_DONE


class DonePage(QWizardPage):
    def __init__(self, wizard: OptInWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setObjectName("donePage")
        self.setTitle("Enrolled in the Secure Login System")
        self.setSubTitle("The code was correct. Tell the client the device is ready to use at the next login.")
        layout = QVBoxLayout(self)
        self.summary = wrap("", "doneSummary")
        layout.addWidget(self.summary)
        layout.addStretch(1)
        self.setFinalPage(True)

    def initializePage(self) -> None:
        r = self.w.result
        if isinstance(r, AwaitingApproval):
            self.setTitle("Waiting for compliance approval")
            self.setSubTitle("The code was correct. The share waits for a compliance reviewer's decision.")
            self.summary.setText(f"<p>The client proved possession of the {self.w.kind.label} of "
                                 f"{self.w.owner_username}. Because the two usernames belong to different entities "
                                 f"with matching identification data, compliance approves the share first.</p>"
                                 f"<p><b>{self.w.username}</b> stays pending, with its opt-out restrictions, until "
                                 f"then: enrolled on approval, opted out again on rejection. Nothing more is needed "
                                 f"from the client now.</p>")
            self.w.button(QWizard.WizardButton.BackButton).setEnabled(False)
            return
        how = f"{self.w.kind.label} shared with {self.w.owner_username}" if r and r.shared else self.w.kind.label
        lifted = "".join(f"<li>{RESTRICTION_EXPLANATIONS[x]}</li>" for x in (r.lifted if r else ()))
        self.summary.setText(f"<p><b>{self.w.username}</b> is now enrolled, using the {how}. The device is "
                             f"active.</p>" + (f"<p>These opt-out restrictions no longer apply:</p><ul>{lifted}</ul>"
                                               if lifted else ""))
        self.w.button(QWizard.WizardButton.BackButton).setEnabled(False)

    def nextId(self) -> int:
        return -1


class OptInWizard(QWizard):
    """Opt an opted-out (or pending) user back in. Cancelling at any page leaves everything as it was."""

    def __init__(self, desk: Desk, user_id: int, username: str, parent: QWidget | None = None, *,
                 version: int | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.enrollment = desk.services.enrollment
        self.actor = desk.actor
        self.user_id = user_id
        # The user's version as the agent saw it: the first start is refused if another desk changed the user
        # since. Once this wizard has started a path, the pending opt-in is its own and may be replaced.
        self.shown_version = version
        self.busy = False  # a service call of this wizard is under way: Next waits for it
        self.username = username
        self.device_id: int | None = None
        self.kind: DeviceKind | None = None
        self.challenge = None
        self.owner_username: str | None = None
        self.result = None
        self.last_error: str | None = None  # the latest refusal, as shown on its page
        self.setObjectName("optInWizard")
        self.setWindowTitle(f"Opt {username} back into the Secure Login System")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setMinimumSize(820, 600)
        self.choose_page = ChoosePage()
        self.ib_key_page = IbKeyPage(self)
        self.card_page = CardPage(self)
        self.share_page = SharePage(self)
        self.verify_page = VerifyPage(self)
        self.done_page = DonePage(self)
        for pid, page in ((PAGE_CHOOSE, self.choose_page), (PAGE_IB_KEY, self.ib_key_page),
                          (PAGE_CARD, self.card_page), (PAGE_SHARE, self.share_page),
                          (PAGE_VERIFY, self.verify_page), (PAGE_DONE, self.done_page)):
            self.setPage(pid, page)
        self.setStartId(PAGE_CHOOSE)
        keyboard_conventions(self)  # Ctrl+W closes like Esc (Cancel); Enter is the wizard's Next

    def begin(self, device_id: int, kind: DeviceKind, challenge, owner_username: str | None = None) -> None:
        """A path has started in the database (user pending): remember what the code will be checked against."""
        self.device_id, self.kind, self.challenge, self.owner_username = device_id, kind, challenge, owner_username
        self.shown_version = None

    @property
    def enrolled(self) -> bool:
        return self.result is not None

    def run(self, page: QWizardPage, work: Callable[[], Any], success: Callable[[Any], None], status: QLabel, *,
            write: bool = True, refused: Callable[[Exception], None] | None = None) -> None:
        """One service call of the wizard, off the GUI thread through the desk's runner. While it runs the page is
        not complete (Next waits). A refusal is shown once, inline in `status` on the page that asked: never a box.
        A write announces the user (and devices) changed, so the windows behind the wizard follow."""
        self.busy = True
        status.clear()
        page.completeChanged.emit()

        def done(result) -> None:
            self.busy = False
            success(result)
            page.completeChanged.emit()

        def failed(exc: Exception) -> None:
            self.busy = False
            self.last_error = error_text(exc)
            status.setText(self.last_error)
            if refused is not None:
                refused(exc)
            page.completeChanged.emit()

        if write:
            self.desk.runner.write(self, work, success=done, failure=failed, changes=Changes.of(
                users=[self.user_id], kinds=[ChangeKind.devices]))
        else:
            self.desk.runner.query(self, work, success=done, failure=failed)

    def reject(self) -> None:
        """Cancel at any page: undo the unfinished opt-in so the user is opted out exactly as before."""
        self.desk.runner.wait_idle()  # a start under way ends first, so its device is the one undone
        if self.device_id is not None and not self.enrolled:  # only what this wizard started
            device_id, enrollment, actor, user_id = self.device_id, self.enrollment, self.actor, self.user_id
            # The wizard closes at once; a refusal (rare: the user changed meanwhile) is said in one box over
            # the window that opened it.
            self.desk.runner.write(self.parentWidget() or self, lambda: enrollment.cancel(actor, user_id, device_id),
                                   changes=Changes.of(users=[user_id], devices=[device_id]))
        super().reject()
