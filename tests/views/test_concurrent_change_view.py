"""The second desk to write is told clearly and sees the current state: the view refreshes itself."""

from sqlalchemy import select

from console.models.concurrency import require_version
from console.models.entities import User
from console.models.errors import ConcurrentChange
from console.views.main_window import MainWindow
from console.views.messages import show_error
from tests.views.desks import desk_for


def test_concurrent_change_refreshes_the_window_and_says_so(qtbot, ctx, world, agent):
    """Desk A shows jsmit001; desk B renames her; A's write is refused and A's list shows B's change."""
    w = MainWindow(desk_for(ctx, agent))
    qtbot.addWidget(w)
    w.select_user(world.primary_id)
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
    names = [w.model.row_at(r).full_name for r in range(w.model.rowCount())]
    assert "Jane B. Smith" in names
    with ctx.db.read() as s:
        assert s.scalars(select(User.full_name).where(User.id == world.primary_id)).one() == "Jane B. Smith"
