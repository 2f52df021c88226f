"""The second desk to write is told clearly and sees the current state: the view refreshes itself."""

from sqlalchemy import select

from console.models.concurrency import require_version
from console.models.entities import User
from console.models.errors import ConcurrentChange
from console.views.main_window import MainWindow
from console.views.messages import show_error
from tests.views.desks import desk_for, settle


def test_concurrent_change_refreshes_the_window_and_says_so(qtbot, ctx, world, agent):
    """Desk A shows jsmit001; desk B renames her; A's write is refused and A's list shows B's change."""
    w = MainWindow(desk_for(ctx, agent))
    qtbot.addWidget(w)
    settle(qtbot, w.desk)  # the list is read off the GUI thread
    w.select_user(world.primary_id)
    settle(qtbot, w.desk)  # the detail pane reads the user off the GUI thread
    shown = w.detail.details.version
    with ctx.db.write() as s:  # desk B
        s.get(User, world.primary_id).full_name = "Jane B. Smith"
    try:
        with ctx.db.write() as s:  # desk A, acting on what it showed
            user = s.get(User, world.primary_id)
            require_version(user, shown, user.username)
            user.full_name = "Jane A. Smith"
    except ConcurrentChange as exc:
        box = show_error(w, exc)
    assert box.objectName() == "concurrentChange" and "refreshed" in box.text()
    settle(qtbot, w.desk)  # the list is read again off the GUI thread
    names = [w.model.row_at(r).full_name for r in range(w.model.rowCount())]
    assert "Jane B. Smith" in names
    with ctx.db.read() as s:
        assert s.scalars(select(User.full_name).where(User.id == world.primary_id)).one() == "Jane B. Smith"


def test_opt_out_decided_on_a_stale_screen_is_refused_naming_the_change(qtbot, ctx, world, agent, back_office):
    """The agent opened the opt-out for jsmit001 as enrolled; meanwhile another desk issued her a temporary
    passcode. Pressing Opt out is refused, naming what changed, who and when; nothing is opted out."""
    import pyotp

    from console.models.enrollment import EnrollmentService
    from console.models.enums import SlsState
    from console.models.temporary_access import TemporaryAccessService
    from console.views.opt_out_dialog import OptOutDialog

    svc = EnrollmentService(ctx)
    start = svc.start_ib_key(agent, world.primary_id)
    svc.confirm(agent, world.primary_id, start.device_id, pyotp.parse_uri(start.provisioning_uri).at(ctx.clock.now()))
    with ctx.db.read() as s:
        shown = s.get(User, world.primary_id).version
    dialog = OptOutDialog(desk_for(ctx, agent), world.primary_id, "jsmit001", "Jane Smith", version=shown)
    qtbot.addWidget(dialog)
    dialog.show()
    settle(qtbot, dialog.desk)  # the texts are read off the GUI thread
    ctx.clock.advance(minutes=3)
    TemporaryAccessService(ctx).issue_temporary_passcode(agent, world.primary_id, identity_verified=True)  # desk B
    dialog.acknowledged.setChecked(True)
    dialog.opt_out_button.click()
    settle(qtbot, dialog.desk)
    assert dialog.result is None and dialog.refusal.isVisible() and dialog.refusal.text() == dialog.last_error
    assert "Another desk changed jsmit001" in dialog.last_error and "Temporary passcode" in dialog.last_error
    assert "by Harriet Desk at" in dialog.last_error
    with ctx.db.read() as s:
        assert s.get(User, world.primary_id).sls_state is SlsState.enrolled


def test_settings_saved_over_another_desks_change_are_refused_and_refreshed(qtbot, ctx, admin):
    """The dialog shows 21 days; another desk stores 30; this desk's 45 is refused, the field now shows 30,
    and saving again (the agent decided again) stores 45."""
    from console.models.settings_service import SettingsService
    from console.views.settings_dialog import SettingsDialog

    service = SettingsService(ctx)
    dialog = SettingsDialog(desk_for(ctx, admin))
    qtbot.addWidget(dialog)
    settle(qtbot, dialog.desk)  # the figures are read off the GUI thread
    service.update(admin, "online_card_validity_days", 30)  # desk B
    dialog.set_value("online_card_validity_days", 45)
    dialog.set_value("return_due_days", 40)
    dialog.save()
    settle(qtbot, dialog.desk)
    assert dialog.saved is None and dialog.last_message.objectName() == "concurrentChange"
    assert "21 days → 30 days" in dialog.last_message.text()
    assert dialog.entered()["online_card_validity_days"] == 30 and dialog.entered()["return_due_days"] == 40
    assert service.figures().online_card_validity_days == 30 and service.figures().return_due_days == 30
    dialog.set_value("online_card_validity_days", 45)
    dialog.save()
    settle(qtbot, dialog.desk)
    assert service.figures().online_card_validity_days == 45 and service.figures().return_due_days == 40
