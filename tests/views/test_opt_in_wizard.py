"""The opt-in wizard driven as an agent would: each path proven by a code the test computes on its own."""

import io
import re

import pyotp
import pytest
import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QRadioButton,
    QToolButton,
    QWizard,
)
from sqlalchemy import select

from console.models import audit
from console.models.entities import AuditEntry, SecurityDevice, User
from console.models.enums import OPT_OUT_RESTRICTIONS, DeviceKind, DeviceState, SlsState
from console.models.verification import VerificationService, dsc_response
from console.views.opt_in_wizard import PAGE_CARD, PAGE_DONE, PAGE_IB_KEY, PAGE_SHARE, PAGE_VERIFY, OptInWizard
from console.views.printing import render_card
from tests.factories import add_device, add_same_person_username, user_snapshot
from tests.views.desks import desk_for, settle

STATUS = {PAGE_IB_KEY: "ibKeyStatus", PAGE_CARD: "cardStatus", PAGE_SHARE: "shareStatus", PAGE_VERIFY: "verifyStatus"}


def no_box_open():
    """No message box anywhere: a refusal is said once, on the wizard's page."""
    return not [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def refusal(w):
    """The refusal as the current page shows it (inline), after checking that no box repeats it."""
    assert no_box_open(), "a message box repeats the refusal"
    status = w.currentPage().findChild(QLabel, STATUS[w.currentId()])
    assert status.isVisible() and status.text().startswith(w.last_error)
    return status.text()


@pytest.fixture
def wizard(qtbot, ctx, world, agent):
    w = OptInWizard(desk_for(ctx, agent), world.primary_id, "jsmit001")
    qtbot.addWidget(w)
    w.show()
    return w


def click(qtbot, button):
    """Press a button as the agent would, then wait for what it asked of the services (off the GUI thread)."""
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    settle(qtbot, button.window().desk)


def next_(qtbot, w):
    click(qtbot, w.button(QWizard.WizardButton.NextButton))


def choose(qtbot, w, option):
    click(qtbot, w.findChild(QRadioButton, f"option_{option}"))
    next_(qtbot, w)


def answer(qtbot, w, text):
    field = w.findChild(QLineEdit, "answer")
    field.clear()
    qtbot.keyClicks(field, text)
    next_(qtbot, w)


def challenge_positions(w):
    """The two index numbers as the agent reads them from the screen."""
    text = w.findChild(QLabel, "challengeText").text()
    return [int(n) for n in re.findall(r"Index (\d+)", text)]


def _qr_image(uri):
    """The QR code of `uri` as segno draws it, to compare with what the page shows."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=6, border=3)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap.toImage()


def assert_enrolled(ctx, user_id, device_id, expected_last_actions):
    with ctx.db.read() as s:
        user = s.get(User, user_id)
        assert user.sls_state is SlsState.enrolled and user.active_devices == 1
        assert s.get(SecurityDevice, device_id).state is DeviceState.active
        assert {r.restriction for r in user.restrictions if r.lifted_at is not None} == set(OPT_OUT_RESTRICTIONS)
        assert all(r.lifted_at is not None for r in user.restrictions)
        recent = list(s.scalars(select(AuditEntry.action).where(AuditEntry.user_id == user_id)
                                .order_by(AuditEntry.id.desc()).limit(len(expected_last_actions))))
        assert recent[::-1] == expected_last_actions
        assert audit.verify(s).ok


def test_first_page_reads_out_the_three_client_options(wizard):
    """The first page offers the three options in the client's own words; Next waits for a choice."""
    texts = [wizard.findChild(QRadioButton, f"option_{k}").text() for k in ("ib_key", "card", "shared")]
    assert texts[0].startswith("I would like to install IBKR Mobile")
    assert texts[1].startswith("I would like to enroll in the Secure Login System without installing IBKR Mobile")
    assert texts[2].startswith("I already have access to a Secure Login Device under a different username")
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def test_ib_key_path_enrolls_with_code_from_the_manual_key(qtbot, ctx, world, wizard):
    """IB Key: the key shown for manual entry (and the QR's link) gives the code that enrolls the user."""
    choose(qtbot, wizard, "ib_key")
    assert wizard.currentId() == PAGE_IB_KEY
    assert not wizard.findChild(QLabel, "qrCode").pixmap().isNull()
    key = wizard.findChild(QLabel, "manualKey").text().replace(" ", "")
    uri = wizard.ib_key_page.provisioning_uri
    assert uri.startswith("otpauth://totp/") and pyotp.parse_uri(uri).secret == key
    assert wizard.findChild(QLabel, "qrCode").pixmap().toImage() == _qr_image(uri)
    assert user_snapshot(ctx, world.primary_id)[0] is SlsState.pending
    next_(qtbot, wizard)
    assert wizard.currentId() == PAGE_VERIFY
    answer(qtbot, wizard, pyotp.TOTP(key).at(ctx.clock.now()))
    assert wizard.currentId() == PAGE_DONE and no_box_open()
    assert "jsmit001</b> is now enrolled" in wizard.findChild(QLabel, "doneSummary").text()
    assert_enrolled(ctx, world.primary_id, wizard.device_id, ["device.activated", "user.enrolled"])
    click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    assert user_snapshot(ctx, world.primary_id)[0] is SlsState.enrolled


def test_card_path_enrolls_with_printed_values(qtbot, ctx, world, wizard, tmp_path):
    """Online card: the values shown on the card page at the two drawn index numbers enroll the user."""
    choose(qtbot, wizard, "card")
    assert wizard.currentId() == PAGE_CARD
    values = wizard.card_page.printed_values()
    assert len(values) == 100 and all(re.fullmatch(r"[A-Z0-9]{3}", v) for v in values.values())
    assert "valid until" in wizard.findChild(QLabel, "cardHeader").text()
    pdf = wizard.card_page.save_pdf(str(tmp_path / "card.pdf"))
    assert open(pdf, "rb").read(5) == b"%PDF-"
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)  # what Print card… paints, sent to a PDF file
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    render_card(printer, wizard.card_page.card)
    assert (tmp_path / "printed.pdf").stat().st_size > 1000
    next_(qtbot, wizard)
    a, b = challenge_positions(wizard)
    answer(qtbot, wizard, values[a] + values[b])
    assert wizard.currentId() == PAGE_DONE and no_box_open()
    assert_enrolled(ctx, world.primary_id, wizard.device_id, ["device.activated", "user.enrolled"])


@pytest.mark.parametrize("kind", [DeviceKind.ib_key, DeviceKind.dsc_plus, DeviceKind.code_card])
def test_shared_path_enrolls_with_code_from_the_other_usernames_device(qtbot, ctx, world, wizard, kind,
                                                                    immediate_sharing):
    """Sharing: the other username's device proves possession (IB Key code, DSC+ response, card values)."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222", (kind,))
    device_id, _, secret = twin["devices"][0]
    choose(qtbot, wizard, "shared")
    assert wizard.currentId() == PAGE_SHARE
    # The person's other username is listed and chosen: no need to ask the client for it.
    listed = wizard.findChild(QListWidget, "otherUsernames")
    assert listed.count() == 1 and listed.item(0).text().startswith("jsmit777  ·  U2222222  ·  Enrolled")
    assert wizard.findChild(QLineEdit, "otherUsername").text() == "jsmit777"
    assert wizard.findChild(QComboBox, "sharedDevice").currentData() == device_id
    next_(qtbot, wizard)
    assert wizard.currentId() == PAGE_VERIFY
    if kind is DeviceKind.ib_key:
        code = pyotp.TOTP(secret).at(ctx.clock.now())
    elif kind is DeviceKind.dsc_plus:
        number = re.search(r"\d{6}", wizard.findChild(QLabel, "challengeText").text()).group()
        code = dsc_response(secret, number)
    else:
        a, b = challenge_positions(wizard)
        code = secret[a] + secret[b]
    answer(qtbot, wizard, code)
    assert wizard.currentId() == PAGE_DONE and no_box_open()
    assert_enrolled(ctx, world.primary_id, device_id, ["device.shared", "user.enrolled"])
    assert user_snapshot(ctx, twin["user_id"])[3] == 1


def test_wrong_code_refused_with_message_and_cancel_restores(qtbot, ctx, world, wizard):
    """A wrong IB Key code is refused on screen; the user is not enrolled; cancelling restores opted out."""
    before = user_snapshot(ctx, world.primary_id)
    choose(qtbot, wizard, "ib_key")
    key = wizard.findChild(QLabel, "manualKey").text().replace(" ", "")
    next_(qtbot, wizard)
    good = pyotp.TOTP(key).at(ctx.clock.now())
    answer(qtbot, wizard, "000000" if good != "000000" else "111111")
    assert wizard.currentId() == PAGE_VERIFY
    assert "not correct" in refusal(wizard)
    assert user_snapshot(ctx, world.primary_id)[0] is SlsState.pending
    click(qtbot, wizard.button(QWizard.WizardButton.CancelButton))
    assert user_snapshot(ctx, world.primary_id) == before


def test_replayed_code_refused(qtbot, ctx, world, wizard, agent, immediate_sharing):
    """A code of the other username's IB Key that was already accepted (at its login) is refused as used."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    device_id, _, seed = twin["devices"][0]
    code = pyotp.TOTP(seed).at(ctx.clock.now())
    VerificationService(ctx).verify(agent, device_id, code)
    choose(qtbot, wizard, "shared")  # jsmit777 is listed and chosen
    next_(qtbot, wizard)
    answer(qtbot, wizard, code)
    assert wizard.currentId() == PAGE_VERIFY and "already used" in refusal(wizard)
    with ctx.db.read() as s:
        assert s.get(User, world.primary_id).sls_state is SlsState.pending
        assert s.get(User, world.primary_id).active_devices == 0


def test_expired_card_refused(qtbot, ctx, world, wizard):
    """A card past its validity cannot be activated, even with its right values."""
    choose(qtbot, wizard, "card")
    values = wizard.card_page.printed_values()
    ctx.clock.advance(days=22)
    next_(qtbot, wizard)
    a, b = challenge_positions(wizard)
    answer(qtbot, wizard, values[a] + values[b])
    assert wizard.currentId() == PAGE_VERIFY and "expired" in refusal(wizard)
    assert user_snapshot(ctx, world.primary_id)[0] is SlsState.pending


def test_wrong_card_values_draw_a_new_challenge(qtbot, ctx, world, wizard):
    """After wrong card values the console shows a new pair of index numbers, which then succeed."""
    choose(qtbot, wizard, "card")
    values = wizard.card_page.printed_values()
    next_(qtbot, wizard)
    a, b = challenge_positions(wizard)
    answer(qtbot, wizard, "ZZZZZZ" if values[a] + values[b] != "ZZZZZZ" else "YYYYYY")
    shown = refusal(wizard)
    assert "not correct" in shown and shown.endswith("A new challenge is shown.")
    a, b = challenge_positions(wizard)
    answer(qtbot, wizard, values[a] + values[b])
    assert wizard.currentId() == PAGE_DONE


def _find(qtbot, wizard, username):
    field = wizard.findChild(QLineEdit, "otherUsername")
    field.clear()
    qtbot.keyClicks(field, username)
    click(qtbot, wizard.findChild(QToolButton, "findDevices"))


def test_each_refused_share_is_explained_and_changes_nothing(qtbot, ctx, world, wizard, immediate_sharing):
    """Different person, a temporary device, a less secure device, an unknown username: each refused in words."""
    before = user_snapshot(ctx, world.primary_id)
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222",
                                    (DeviceKind.dsc_plus, DeviceKind.ib_key))
    temp_twin = add_same_person_username(ctx, world.primary_id, "jsmit778", "U3333333")
    with ctx.db.write() as s:
        add_device(s, ctx, s.get(User, temp_twin["user_id"]), DeviceKind.temporary_passcode, preferred=False)
    choose(qtbot, wizard, "shared")
    status = wizard.findChild(QLabel, "shareStatus")

    _find(qtbot, wizard, "jsmit123")
    assert "are not the same person" in refusal(wizard) and status.text().count("not the same person") == 1
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()

    _find(qtbot, wizard, "jsmit778")
    assert "jsmit778 has a temporary device" in refusal(wizard)

    _find(qtbot, wizard, "nobod999")
    assert "no username nobod999" in refusal(wizard)

    _find(qtbot, wizard, "jsmit777")
    combo = wizard.findChild(QComboBox, "sharedDevice")
    assert combo.count() == 2 and "most protective" in combo.currentText()
    combo.setCurrentIndex(combo.findData(twin["devices"][1][0]))  # the IB Key, less secure than the DSC+
    next_(qtbot, wizard)
    assert wizard.currentId() == PAGE_SHARE and "Less secure device" in refusal(wizard)
    assert user_snapshot(ctx, world.primary_id) == before


@pytest.mark.parametrize("path, stop_at", [("none", "choose"), ("ib_key", "setup"), ("ib_key", "verify"),
                                           ("card", "setup"), ("card", "verify"), ("shared", "setup"),
                                           ("shared", "verify")])
def test_cancel_at_any_page_leaves_everything_as_it_was(qtbot, ctx, world, wizard, path, stop_at, immediate_sharing):
    """Cancel on any page: state, holdings, restrictions and counts of both usernames are as before."""
    twin = add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222")
    before = user_snapshot(ctx, world.primary_id), user_snapshot(ctx, twin["user_id"])
    if path != "none":
        choose(qtbot, wizard, {"ib_key": "ib_key", "card": "card", "shared": "shared"}[path])
        if path == "shared":
            _find(qtbot, wizard, "jsmit777")
        if stop_at == "verify":
            next_(qtbot, wizard)
            assert wizard.currentId() == PAGE_VERIFY
    click(qtbot, wizard.button(QWizard.WizardButton.CancelButton))
    assert not wizard.isVisible() and no_box_open()
    assert (user_snapshot(ctx, world.primary_id), user_snapshot(ctx, twin["user_id"])) == before


def test_back_and_next_keep_the_same_ib_key(qtbot, ctx, world, wizard):
    """Going back to the options and forward again shows the same key: the client need not scan twice."""
    choose(qtbot, wizard, "ib_key")
    key = wizard.findChild(QLabel, "manualKey").text()
    device_id = wizard.device_id
    click(qtbot, wizard.button(QWizard.WizardButton.BackButton))
    next_(qtbot, wizard)
    assert wizard.findChild(QLabel, "manualKey").text() == key and wizard.device_id == device_id
    next_(qtbot, wizard)
    answer(qtbot, wizard, pyotp.TOTP(key.replace(" ", "")).at(ctx.clock.now()))
    assert wizard.currentId() == PAGE_DONE


def test_changing_option_replaces_the_unfinished_device(qtbot, ctx, world, wizard):
    """Card first, then back to IB Key: the card is revoked, the IB Key enrolls, one device is held."""
    choose(qtbot, wizard, "card")
    card_id = wizard.device_id
    click(qtbot, wizard.button(QWizard.WizardButton.BackButton))
    choose(qtbot, wizard, "ib_key")
    key = wizard.findChild(QLabel, "manualKey").text().replace(" ", "")
    next_(qtbot, wizard)
    answer(qtbot, wizard, pyotp.TOTP(key).at(ctx.clock.now()))
    assert wizard.currentId() == PAGE_DONE
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, card_id).state is DeviceState.revoked
    assert len(user_snapshot(ctx, world.primary_id)[1]) == 1


def test_repeated_wrong_codes_lock_the_new_device(qtbot, ctx, world, wizard):
    """Five wrong codes lock the IB Key; the agent is told staff must unlock it, and nothing enrolls."""
    choose(qtbot, wizard, "ib_key")
    key = wizard.findChild(QLabel, "manualKey").text().replace(" ", "")
    next_(qtbot, wizard)
    wrong = "000000" if pyotp.TOTP(key).at(ctx.clock.now()) != "000000" else "111111"
    for _ in range(4):
        answer(qtbot, wizard, wrong)
        assert "not correct" in refusal(wizard)
    answer(qtbot, wizard, wrong)
    assert "now locked" in refusal(wizard)
    answer(qtbot, wizard, pyotp.TOTP(key).at(ctx.clock.now()))
    assert "locked" in refusal(wizard) and wizard.currentId() == PAGE_VERIFY
    with ctx.db.read() as s:
        assert s.get(SecurityDevice, wizard.device_id).locked
        assert s.get(User, world.primary_id).sls_state is SlsState.pending


def test_unexpected_failure_is_shown_without_crashing(qtbot, ctx, world, wizard, monkeypatch):
    """A failure that is not a domain error gets a short notice (detail to the log); the wizard stays usable."""
    def broken(*_args, **_kwargs):
        raise RuntimeError("database connection reset")

    monkeypatch.setattr(wizard.enrollment, "start_online_card", broken)
    choose(qtbot, wizard, "card")
    text = refusal(wizard)
    assert "nothing was changed" in text and "connection reset" not in text
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    click(qtbot, wizard.button(QWizard.WizardButton.BackButton))
    choose(qtbot, wizard, "ib_key")
    assert wizard.currentId() == PAGE_IB_KEY and no_box_open()


def _version(ctx, user_id):
    with ctx.db.read() as s:
        return s.get(User, user_id).version


@pytest.mark.parametrize("option, page", [("ib_key", PAGE_IB_KEY), ("card", PAGE_CARD)])
def test_a_start_refused_because_another_desk_changed_the_user_is_said_once_on_its_page(
        qtbot, ctx, world, agent, option, page):
    """The wizard was opened on what the agent saw; another desk changed the user since: the set-up page says so,
    inline, with no box; nothing starts and Next stays off."""
    before = user_snapshot(ctx, world.primary_id)
    w = OptInWizard(desk_for(ctx, agent), world.primary_id, "jsmit001", version=_version(ctx, world.primary_id) - 1)
    qtbot.addWidget(w)
    w.show()
    choose(qtbot, w, option)
    assert w.currentId() == page
    assert "Another desk changed jsmit001" in refusal(w)
    assert not w.button(QWizard.WizardButton.NextButton).isEnabled() and w.device_id is None
    assert user_snapshot(ctx, world.primary_id) == before


def test_a_refused_share_start_and_challenge_are_said_once_on_their_pages(qtbot, ctx, world, agent, monkeypatch,
                                                                         immediate_sharing):
    """Start the share on a stale screen: refused on the share page. Then a new challenge the service refuses:
    said on the verify page. Never a box."""
    from console.models.errors import InvalidInput

    add_same_person_username(ctx, world.primary_id, "jsmit777", "U2222222", (DeviceKind.dsc_plus,))
    w = OptInWizard(desk_for(ctx, agent), world.primary_id, "jsmit001", version=_version(ctx, world.primary_id) - 1)
    qtbot.addWidget(w)
    w.show()
    choose(qtbot, w, "shared")
    next_(qtbot, w)
    assert w.currentId() == PAGE_SHARE and "Another desk changed jsmit001" in refusal(w)
    w.shown_version = _version(ctx, world.primary_id)  # the agent looks again
    next_(qtbot, w)
    assert w.currentId() == PAGE_VERIFY and w.last_error.startswith("Another desk")  # the earlier one, not new

    def refuse(*_args, **_kwargs):
        raise InvalidInput("No new challenge now: the device is locked.")

    monkeypatch.setattr(w.enrollment, "new_challenge", refuse)
    click(qtbot, w.findChild(QToolButton, "newChallenge"))
    assert refusal(w) == "No new challenge now: the device is locked."


def test_a_slow_service_call_does_not_block_the_window(qtbot, ctx, world, wizard, monkeypatch):
    """While the IB Key is being set up (here held back until the test lets it go) the window keeps answering:
    timers fire, typing works, and Next waits; then the key shows."""
    import threading

    from PySide6.QtCore import QTimer

    release = threading.Event()
    original = wizard.enrollment.start_ib_key

    def slow(*args, **kwargs):
        assert release.wait(10), "the test never released the call"
        return original(*args, **kwargs)

    monkeypatch.setattr(wizard.enrollment, "start_ib_key", slow)
    click(qtbot, wizard.findChild(QRadioButton, "option_ib_key"))
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=3000)  # the event loop runs while the call waits
    assert wizard.currentId() == PAGE_IB_KEY and wizard.busy
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert wizard.findChild(QLabel, "manualKey").text() == ""
    release.set()
    settle(qtbot, wizard.desk)
    timer.stop()
    assert wizard.findChild(QLabel, "manualKey").text() and wizard.button(QWizard.WizardButton.NextButton).isEnabled()
