"""The users list model at scale, on small data: data() answers from cached windows only, text queries and
missing windows load in the background, superseded queries are ignored, rows equal the plain SQL query."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from console.models import demo
from console.models.directory import UserDirectory, UserQuery, plain_window_statement
from console.models.enums import SlsState
from console.models.settings import Figures
from console.views import users_model
from console.views.users_model import UsersModel
from tests.views.desks import desk_for, settle


@pytest.fixture
def crowd(ctx):
    """About 450 demo users: more than two windows of the list."""
    demo.generate(ctx, Figures(), 450, seed=5)
    return ctx


def _plain_usernames(ctx, query: UserQuery) -> list[str]:
    with ctx.db.read() as s:
        stmt = plain_window_statement(query, 0, 10**9, ctx.db.engine.dialect.name)
        return [r.username for r in s.execute(stmt)]


class _Recording(UserDirectory):
    """A directory that notes on which thread each window is read (and can hold a query back)."""

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.window_threads: list[int] = []
        self.hold: threading.Event | None = None
        self.hold_text: str | None = None

    def window(self, query, offset, limit):
        self.window_threads.append(threading.get_ident())
        return super().window(query, offset, limit)

    def first_rows(self, query, limit):
        if self.hold is not None and query.text == self.hold_text:
            self.hold.wait(5)
        return super().first_rows(query, limit)


def _all_usernames(qtbot, model: UsersModel) -> list[str]:
    def loaded() -> bool:
        return all(model.data(model.index(r, 0)) != "…" for r in range(model.rowCount()))

    qtbot.waitUntil(loaded, timeout=5000)
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())]


def test_data_answers_from_cache_and_reads_missing_windows_in_the_background(crowd, qtbot):
    """A row outside the cached windows shows a placeholder at once; its window is read off the GUI thread."""
    directory = _Recording(crowd)
    model = UsersModel(directory)
    qtbot.waitUntil(model.is_idle, timeout=5000)  # the first rows come from the loader
    gui = threading.get_ident()
    directory.window_threads.clear()
    last = model.rowCount() - 1
    assert last >= 2 * users_model.WINDOW
    assert model.data(model.index(last, 0)) == "…"
    qtbot.waitUntil(lambda: model.data(model.index(last, 0)) != "…", timeout=5000)
    assert directory.window_threads and gui not in directory.window_threads
    assert _all_usernames(qtbot, model) == _plain_usernames(crowd, UserQuery())


def test_text_filter_loads_in_the_background_and_keeps_old_rows_until_ready(crowd, qtbot):
    """A text query returns at once with `loading` set and the previous rows still shown; then the new rows."""
    directory = _Recording(crowd)
    model = UsersModel(directory)
    qtbot.waitUntil(model.is_idle, timeout=5000)  # the first rows come from the loader
    before = model.rowCount()
    directory.hold, directory.hold_text = threading.Event(), "smi"
    with qtbot.waitSignal(model.query_changed, timeout=5000):
        model.set_query(UserQuery(text="smi", sort="full_name"))
        assert model.loading and model.rowCount() == before
        directory.hold.set()
    assert not model.loading
    expected = _plain_usernames(crowd, UserQuery(text="smi", sort="full_name"))
    assert expected and _all_usernames(qtbot, model) == expected
    qtbot.waitUntil(lambda: model.state_counts is not None, timeout=5000)  # counts follow the rows
    assert model.state_counts == directory.counts_by_state(UserQuery(text="smi"))


def test_superseded_text_query_is_ignored(crowd, qtbot):
    """Typing on: a slower earlier query finishing late never replaces the newest one's rows."""
    directory = _Recording(crowd)
    model = UsersModel(directory)
    qtbot.waitUntil(model.is_idle, timeout=5000)  # the first rows come from the loader
    directory.hold, directory.hold_text = threading.Event(), "s"
    emitted: list[UserQuery] = []
    model.query_changed.connect(lambda: emitted.append(model.shown_query))
    model.set_query(UserQuery(text="s"))  # held back in the loader
    model.set_query(UserQuery(text="smi"))  # replaces it
    directory.hold.set()
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    qtbot.wait(50)  # give a late result of "s" the chance to arrive (it must be ignored)
    assert [q.text for q in emitted] == ["smi"]
    assert _all_usernames(qtbot, model) == _plain_usernames(crowd, UserQuery(text="smi"))


def test_state_filter_and_sort_apply_off_the_gui_thread_and_equal_plain_sql(crowd, qtbot):
    """Queries without text are read by the loader too (the GUI thread never waits); rows as plain SQL."""
    model = UsersModel(UserDirectory(crowd))
    qtbot.waitUntil(model.is_idle, timeout=5000)  # the first rows come from the loader
    query = UserQuery(state=SlsState.opted_out, sort="account", descending=True)
    model.set_query(query)
    assert model.loading and model.shown_query == UserQuery()
    qtbot.waitUntil(model.is_idle, timeout=5000)
    assert model.shown_query == query
    assert _all_usernames(qtbot, model) == _plain_usernames(crowd, query)
    model.sort(4, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(model.is_idle, timeout=5000)
    assert model.shown_query.sort == "sls_state" and model.shown_query.state is SlsState.opted_out


def test_view_scrolled_to_the_bottom_shows_the_last_users(crowd, qtbot):
    """A table view jumping to its last row gets the plain query's last users once the window arrives."""
    model = UsersModel(UserDirectory(crowd))
    qtbot.waitUntil(model.is_idle, timeout=5000)  # the first rows come from the loader
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(600, 300)
    view.show()
    view.scrollToBottom()
    last = model.rowCount() - 1
    qtbot.waitUntil(lambda: model.data(model.index(last, 0)) != "…", timeout=5000)
    assert model.data(model.index(last, 0)) == _plain_usernames(crowd, UserQuery())[-1]


def test_row_of_an_uncached_user_comes_from_sql(crowd, qtbot):
    """Finding a user's row does not read the list page by page: one indexed count."""
    directory = _Recording(crowd)
    model = UsersModel(directory)
    qtbot.waitUntil(model.is_idle, timeout=5000)  # the first rows come from the loader
    target = _plain_usernames(crowd, UserQuery())[-3]
    user_id = directory.find_by_username(target)
    directory.window_threads.clear()
    assert model.row_of_user(user_id) == model.rowCount() - 3
    assert directory.window_threads == []


def test_old_rows_read_while_a_search_runs_never_show_in_its_result(crowd, qtbot):
    """Scrolling the old list while a text search runs: those windows are never taken for the search's rows."""
    directory = _Recording(crowd)
    model = UsersModel(directory)
    qtbot.waitUntil(model.is_idle, timeout=5000)  # the first rows come from the loader
    directory.hold, directory.hold_text = threading.Event(), "u"
    new = UserQuery(text="u", sort="full_name")  # every account number starts with U: all users, other order
    model.set_query(new)
    assert model.data(model.index(250, 0)) == "…"  # the old list's second window, asked during the search
    directory.hold.set()
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    expected = _plain_usernames(crowd, new)
    assert _all_usernames(qtbot, model) == expected
    qtbot.waitUntil(lambda: model._loader._thread is None, timeout=5000)  # every late result delivered
    qtbot.wait(20)
    assert [model.data(model.index(r, 0)) for r in range(model.rowCount())] == expected


def test_main_window_shows_a_new_filter_from_its_first_users(crowd, qtbot, admin):
    """After scrolling to the bottom, a new search shows its first matches, not the end of the list."""
    from console.views.main_window import MainWindow

    window = MainWindow(desk_for(crowd, admin))
    qtbot.addWidget(window)
    window.show()
    settle(qtbot, window.desk)  # the list is read off the GUI thread
    window.table.scrollToBottom()
    qtbot.waitUntil(lambda: window.table.rowAt(0) > 0)
    window.contains_check.setChecked(True)
    window.filter_edit.setText("son")
    window.apply_filter()
    qtbot.waitUntil(lambda: not window.model.loading and window.model.state_counts is not None, timeout=5000)
    expected = _plain_usernames(crowd, UserQuery(text="son", contains=True))
    assert window.model.rowCount() == len(expected) > 0
    assert window.table.rowAt(0) == 0
    assert str(len(expected)) in window.counts_label.text()


class _SlowSearch(UserDirectory):
    """A directory whose count for the text 'slow' runs a statement that never ends by itself."""

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.started = threading.Event()

    def first_rows(self, query, limit):
        if query.text != "slow":
            return super().first_rows(query, limit)
        from sqlalchemy import text

        with self._reading() as s:
            self.started.set()
            return s.execute(text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                                  "SELECT count(*) FROM c")).scalar(), []


def test_a_search_still_running_is_interrupted_by_the_next_one(crowd, qtbot):
    """Typing on while a slow search runs: it is stopped, and the newest search's rows arrive."""
    if not crowd.db.is_sqlite:
        pytest.skip("SQLite interrupt")
    directory = _SlowSearch(crowd)
    model = UsersModel(directory)
    qtbot.waitUntil(model.is_idle, timeout=5000)  # the first rows come from the loader
    failures: list[str] = []
    model.load_failed.connect(failures.append)
    model.set_query(UserQuery(text="slow"))
    assert directory.started.wait(5)
    qtbot.wait(50)  # let the statement start running
    model.set_query(UserQuery(text="smi"))
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    assert model.shown_query.text == "smi" and failures == []
    assert _all_usernames(qtbot, model) == _plain_usernames(crowd, UserQuery(text="smi"))


class _HeldCounts(UserDirectory):
    """A directory whose counts per state for the text 'held' wait until released (a slow count), and whose
    counts for 'endless' run a statement that never ends by itself."""

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.started, self.release = threading.Event(), threading.Event()

    def counts_by_state(self, query=UserQuery()):  # noqa: B008 (as the real signature)
        if query.text == "held":
            self.started.set()
            self.release.wait(10)
        if query.text == "endless":
            from sqlalchemy import text

            with self._reading() as s:
                self.started.set()
                s.execute(text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                               "SELECT count(*) FROM c")).scalar()
        return super().counts_by_state(query)


def test_a_new_search_shows_its_rows_without_waiting_for_the_previous_searchs_counts(crowd, qtbot):
    """Typing on while the previous search's counts per state are still being made: the new rows arrive at
    once (the counts run on a thread of their own), then the new counts; the old ones are never shown."""
    directory = _HeldCounts(crowd)
    model = UsersModel(directory)
    qtbot.waitUntil(model.is_idle, timeout=5000)
    model.set_query(UserQuery(text="held"))
    assert directory.started.wait(5)  # its counts are being made, after its rows
    qtbot.waitUntil(lambda: model.shown_query.text == "held", timeout=2000)
    assert model.state_counts is None
    model.set_query(UserQuery(text="smi"))
    qtbot.waitUntil(lambda: not model.loading, timeout=2000)
    assert not directory.release.is_set() and model.shown_query.text == "smi"
    assert _all_usernames(qtbot, model) == _plain_usernames(crowd, UserQuery(text="smi"))
    directory.release.set()
    qtbot.waitUntil(model.is_idle, timeout=5000)
    assert model.state_counts == directory.counts_by_state(UserQuery(text="smi"))


def test_a_superseded_count_still_running_is_stopped_and_the_new_counts_arrive(crowd, qtbot):
    """The previous search's count is stopped on the database (its statement fails at once, nobody is told)
    and the newest search's counts arrive."""
    directory = _HeldCounts(crowd)
    model = UsersModel(directory)
    qtbot.waitUntil(model.is_idle, timeout=5000)
    failures: list[str] = []
    model.load_failed.connect(failures.append)
    model.set_query(UserQuery(text="endless"))
    assert directory.started.wait(5)
    qtbot.wait(50)  # let the statement start running
    model.set_query(UserQuery(text="smi"))
    qtbot.waitUntil(model.is_idle, timeout=5000)
    assert model.shown_query.text == "smi" and failures == []
    assert model.state_counts == directory.counts_by_state(UserQuery(text="smi"))
