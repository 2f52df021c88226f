"""The sign-in dialog: right credentials give an Actor; a refusal is shown inline and nothing else opens."""

import pyotp
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from console.views.sign_in_dialog import SignInDialog

PASSWORD = "correct horse battery"


@pytest.fixture
def alex(staff_service):
    return staff_service.add_first_administrator("alex", "Alex Admin", PASSWORD)


@pytest.fixture
def dialog(qtbot, staff_service, alex):
    d = SignInDialog(staff_service, "sqlite:///test", hint="Demo staff: alex")
    qtbot.addWidget(d)
    d.show()
    return d


def _fill(qtbot, d, username, password, code):
    for name, text in (("signInUsername", username), ("signInPassword", password), ("signInCode", code)):
        field = d.findChild(QLineEdit, name)
        field.clear()
        qtbot.keyClicks(field, text)


def test_right_credentials_accept_with_actor(qtbot, dialog, alex, clock):
    """Username, password and the current code, then Enter: the dialog accepts with the staff member's Actor."""
    _fill(qtbot, dialog, "alex", PASSWORD, pyotp.TOTP(alex.totp_secret).at(clock.now()))
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(dialog.findChild(QLineEdit, "signInCode"), Qt.Key.Key_Return)
    assert dialog.actor.username == "alex" and dialog.actor.role.name == "administrator"


def test_wrong_code_shown_inline_and_fields_cleared(qtbot, dialog, alex):
    """A wrong code keeps the dialog open with the service's message; password and code are cleared."""
    _fill(qtbot, dialog, "alex", PASSWORD, "000000")
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.actor is None
    assert "not right" in dialog.error.text() and dialog.error.isVisible()
    assert dialog.password.text() == "" and dialog.code.text() == ""


def test_code_field_takes_six_ascii_digits_only(qtbot, dialog):
    """Letters and a seventh digit cannot be typed into the code field."""
    qtbot.keyClicks(dialog.code, "12ab34567")
    assert dialog.code.text() == "123456"


def test_inputs_have_accessible_names_and_hint_is_shown(dialog):
    """Every input is named for screen readers; the demo hint and the database are on the dialog."""
    for name in ("signInUsername", "signInPassword", "signInCode"):
        assert dialog.findChild(QLineEdit, name).accessibleName()
    assert dialog.password.echoMode() == QLineEdit.EchoMode.Password
    assert "Demo staff" in dialog.hint.text()
