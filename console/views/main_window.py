"""The main window: the users list with its filters and counts, the detail pane, and the user actions.

It builds its own menus and toolbar from typed collaborators (DeviceActions, BackOfficeActions), each of
which only makes actions and opens its screens; none of them touches this window's attributes. Every
write anywhere is announced on the desk's change bus, and this window refreshes what it shows from it.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.models.directory import SUBSTRING_MIN, UserQuery
from console.models.enums import SlsState
from console.models.errors import RightsError
from console.models.permissions import Permission
from console.views.audit_view import AuditView
from console.views.back_office_actions import BackOfficeActions
from console.views.change_bus import ChangeKind, Changes, Origin
from console.views.client_devices import ClientDevicesWindow
from console.views.desk import Desk
from console.views.device_actions import DeviceActions
from console.views.insight_actions import InsightActions
from console.views.messages import error_text, message_box, rights_notice, show_error
from console.views.permitted import PermittedAction, hide_empty_menus
from console.views.security_settings import SecuritySettingsDialog
from console.views.sls_actions import SlsActions
from console.views.staff_dialog import StaffDialog
from console.views.style import app_icon, icon, theme_signals
from console.views.tables import list_table
from console.views.user_detail import UserDetailPane
from console.views.users_model import COLUMNS, UsersModel

log = logging.getLogger("sls_console")

FILTER_DELAY_MS = 250
# What the users list shows depends on these kinds of change.
NARROW = 900  # device-independent pixels: a narrower window shows the detail pane under the list
LIST_KINDS = (ChangeKind.users, ChangeKind.devices, ChangeKind.accounts)


def users_shown(n: int) -> str:
    return f"{n:,} user{'' if n == 1 else 's'} shown"


class MainWindow(QMainWindow):
    sign_out_requested = Signal()  # the composition root closes this desk and asks for a sign-in
    lock_requested = Signal()  # the composition root hides the desk until its staff member signs in again

    def __init__(self, desk: Desk, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.desk = desk
        self.services = desk.services
        self.setWindowTitle("SLS Console")
        self.setWindowIcon(app_icon())
        self.last_message: QMessageBox | None = None
        self.security_dialog: SecuritySettingsDialog | None = None
        self.audit_view: AuditView | None = None
        self.staff_dialog: StaffDialog | None = None
        self.client_devices: ClientDevicesWindow | None = None

        self.model = UsersModel(self.services.directory, self)
        desk.runner.also_wait_for(self.model.is_idle)
        self._select_first_match = False
        self._reselect_user: int | None = None
        self._keep_scroll: int | None = None
        self._refreshing = False  # a refresh is being read: the selection is kept when it lands
        self._open_user: int | None = None  # opened once the list shows it (from the rights notice)
        self._build_filters()
        self._build_table()
        self.detail = UserDetailPane(self.services.directory, self, desk.runner)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(self.filter_bar)
        left_layout.addWidget(self.table)
        hint = QHBoxLayout()
        hint.addWidget(self.empty_hint, 1)
        hint.addWidget(self.wider_button)
        left_layout.addLayout(hint)
        left_layout.addWidget(self.counts_label)
        splitter.addWidget(left)
        # A short window (1024×700 at 150 % scaling holds 683×467 units) scrolls the pane downwards, never sideways
        # and never cuts it: the window stays as small as the screen.
        detail_scroll = QScrollArea()
        detail_scroll.setObjectName("detailScroll")
        detail_scroll.setWidgetResizable(True)
        detail_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        detail_scroll.setFrameShape(QFrame.Shape.NoFrame)
        detail_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes from the list straight to the devices
        detail_scroll.setWidget(self.detail)
        splitter.addWidget(detail_scroll)
        splitter.setStretchFactor(0, 11)
        splitter.setStretchFactor(1, 9)
        splitter.setSizes([5500, 4500])  # the pane keeps nearly half, at any window width (readable at 1024×700)
        self.splitter = splitter
        self.setCentralWidget(splitter)

        self.device_actions = DeviceActions(desk, self.detail, self)
        self.sls_actions = SlsActions(desk, self.detail, self)
        self.back_office = BackOfficeActions(desk, self)
        # "Export users" may write just what this list shows: its filter and count, read when asked.
        self.back_office.exporter.shown_users = lambda: (self.model.shown_query, self.model.rowCount())
        self.back_office.selected_account = lambda: self.detail.details.account_number if self.detail.details else ""
        self.insight = InsightActions(desk, self)
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._offer_training()
        self.model.modelAboutToBeReset.connect(self._remember_position)
        self.model.query_changed.connect(self._on_query_changed)
        self.model.state_counts_changed.connect(self._update_counts)
        self.model.load_failed.connect(self._on_load_failed)
        self.detail.devices.itemSelectionChanged.connect(self._update_actions)
        self.detail.shown.connect(self._update_actions)
        # Coalesce a burst of announcements (an import, another desk's flood) into one refresh.
        self._pending_changes: Changes | None = None
        self._change_timer = QTimer(self)
        self._change_timer.setSingleShot(True)
        self._change_timer.setInterval(0)
        self._change_timer.timeout.connect(self._apply_changes)
        desk.bus.changed.connect(self.on_changes)
        self._update_counts()
        self._update_actions()
        theme_signals.changed.connect(self.follow_theme)
        self.resize(1280, 800)

    # --- construction ----------------------------------------------------------------------------
    def _build_filters(self) -> None:
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filterText")
        self.filter_edit.setPlaceholderText("Find by username, name or account (e.g. jsmit, Smith, U123)")
        self.filter_edit.setAccessibleName("Filter users by username, name or account")
        self.filter_edit.setClearButtonEnabled(True)
        self.state_combo = QComboBox()
        self.state_combo.setObjectName("stateFilter")
        self.state_combo.setAccessibleName("Filter users by SLS state")
        self.state_combo.addItem("All states", None)
        for state in SlsState:
            self.state_combo.addItem(state.label, state)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(lambda _: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self._go_to_first_match)
        self.state_combo.currentIndexChanged.connect(lambda _: self.apply_filter())
        self.contains_check = QCheckBox("Match &inside names")
        self.contains_check.setObjectName("containsFilter")
        self.contains_check.setAccessibleName("Match the text anywhere in usernames and names")
        self.contains_check.setToolTip("Find users whose username or name contains the text (3 characters or "
                                       "more), not only those that start with it")
        self.contains_check.toggled.connect(lambda _: self.apply_filter())
        self.filter_bar = QHBoxLayout()
        find = QLabel("Fi&nd:")
        find.setBuddy(self.filter_edit)
        state = QLabel("St&ate:")
        state.setBuddy(self.state_combo)
        self.filter_bar.addWidget(find)
        self.filter_bar.addWidget(self.filter_edit, 1)
        self.filter_bar.addWidget(self.contains_check)
        self.filter_bar.addWidget(state)
        self.filter_bar.addWidget(self.state_combo)
        self.counts_label = QLabel()
        self.counts_label.setObjectName("stateCounts")
        self.counts_label.setWordWrap(True)  # a narrow window (1024×700 at 150 %) wraps the counts, never widens
        self.empty_hint = QLabel()
        self.empty_hint.setObjectName("emptyResult")
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setVisible(False)
        self.wider_button = QPushButton("Search inside names too")
        self.wider_button.setObjectName("widerSearch")
        self.wider_button.setVisible(False)
        self.wider_button.clicked.connect(self.widen_search)
        self.filter_edit.installEventFilter(self)

    def _build_table(self) -> None:
        t = list_table(self.model, "usersTable", "Users")
        t.setSortingEnabled(True)
        t.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header = t.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Widths in characters, so columns (and their headers) still fit at 125% and 150% scaling.
        chars = {"username": 11, "full_name": 22, "account": 10, "role": 10, "sls_state": 16,
                 "active_devices": 0}
        metrics = t.fontMetrics()
        for i, (key, title) in enumerate(COLUMNS):
            if key in chars:
                text_width = metrics.horizontalAdvance("M" * chars[key]) * 3 // 4
                header_width = metrics.horizontalAdvance(title) + 3 * metrics.averageCharWidth() + 16
                t.setColumnWidth(i, max(text_width, header_width))
        header.setStretchLastSection(True)
        t.selectionModel().currentRowChanged.connect(self._on_current_row)
        t.doubleClicked.connect(lambda _: self.change_security_settings())
        t.installEventFilter(self)
        self.table = t

    def _action(self, text: str, shortcut, tip: str, slot, name: str, permission: Permission,
                icon_name: str) -> PermittedAction:
        return self.desk.actions.make(self, text, shortcut, tip, slot, name, permission, icon=icon(icon_name))

    def _build_actions(self) -> None:
        a = self._action
        self.change_security_action = a(
            "Change &security settings…", "Ctrl+E",
            "Open the selected user's security settings (only for the holder of the account's security rights)",
            self.change_security_settings, "changeSecuritySettings",
            (Permission.assist_enrollment, Permission.manage_devices), "security")
        self.refresh_action = a("&Refresh", "F5", "Reload the list and the selected user", self.refresh, "refresh",
                                Permission.view, "refresh")
        self.find_action = a("&Find users", QKeySequence.StandardKey.Find, "Move to the filter box",
                             self._focus_filter, "findUsers", Permission.view, "find")
        if self.find_action.shortcut().isEmpty():
            self.find_action.setShortcut(QKeySequence("Ctrl+F"))
        # Ctrl+Q everywhere: the standard Quit key is empty on some platforms (Windows, offscreen).
        self.quit_action = a("&Quit", "Ctrl+Q", "Close SLS Console", self.close, "quit", Permission.view, "quit")
        self.audit_action = a("&Audit trail…", "Ctrl+Shift+A", "Open the audit trail: filter, export and verify "
                              "the chain", self.open_audit_trail, "openAuditTrail", Permission.view, "audit")
        self.staff_action = a("&Staff…", "Ctrl+Shift+S", "Add staff, unlock their sign-in, reset their second "
                              "factor (administrators)", self.open_staff, "manageStaff", Permission.manage_staff,
                              "user")
        self.sign_out_action = a("Sign &out", "Ctrl+Alt+O", "Sign out and hand the desk to the next staff "
                                 "member (the console stays open)", self.sign_out_requested.emit, "signOut",
                                 Permission.view, "user")
        self.lock_action = a("&Lock", "Ctrl+L", "Lock the desk: hide every window until you sign in again",
                             self.lock_requested.emit, "lockDesk", Permission.view, "security")
        self.client_devices_action = a("&Client's devices (training)…", "Ctrl+Alt+T", "Training on demo data: "
                                       "what the selected client's devices would show (codes, responses, card "
                                       "values)", self.open_client_devices, "openClientDevices", Permission.view,
                                       "security")
        self.client_devices_action.setVisible(False)  # offered once a demo database is confirmed (_offer_training)
        # F1 opens the help topics, as everywhere else; About is Shift+F1.
        self.about_action = a("&About SLS Console", "Shift+F1", "What this console is and which database it uses",
                              self.show_about, "about", Permission.view, "about")

    def _build_menus(self) -> None:
        bo, dev = self.back_office, self.device_actions
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.file_menu.addAction(bo.import_action)
        export_menu = QMenu("&Export", self.file_menu)
        export_menu.setObjectName("exportMenu")
        export_menu.setIcon(icon("export"))
        for action in bo.export_actions.values():
            export_menu.addAction(action)
        self.file_menu.addMenu(export_menu)
        self.export_menu = export_menu
        self.file_menu.addSeparator()
        self.file_menu.addAction(bo.settings_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.insight.report_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.refresh_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.lock_action)
        self.file_menu.addAction(self.sign_out_action)
        self.file_menu.addAction(self.quit_action)
        self.user_menu = bar.addMenu("&User")
        self.user_menu.addAction(self.find_action)
        self.user_menu.addAction(self.change_security_action)
        self.user_menu.addSeparator()
        self.user_menu.addAction(bo.close_account_action)
        self.devices_menu = bar.addMenu("&Devices")
        self.devices_menu.setObjectName("devicesMenu")
        for action in dev.window_actions:
            self.devices_menu.addAction(action)
        self.devices_menu.addSeparator()
        for action in dev.device_actions:
            self.devices_menu.addAction(action)
        self.devices_menu.addSeparator()
        for action in self.sls_actions.user_actions:
            self.devices_menu.addAction(action)
        self.tools_menu = bar.addMenu("&Tools")
        for action in self.insight.window_actions:
            self.tools_menu.addAction(action)
        self.tools_menu.addSeparator()
        self.tools_menu.addAction(self.audit_action)
        for action in self.sls_actions.window_actions:
            self.tools_menu.addAction(action)
        self.tools_menu.addAction(self.staff_action)
        self.tools_menu.addAction(self.client_devices_action)
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(bo.help_action)
        self.help_menu.addAction(self.about_action)
        hide_empty_menus(bar)
        self.toolbar = self.addToolBar("Main")
        self.toolbar.setObjectName("mainToolbar")
        # Words beside the icons: an agent on the phone should not have to guess what a picture means.
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.change_security_action, self.refresh_action, None, bo.import_action, bo.help_action):
            if action is None:
                self.toolbar.addSeparator()
            else:
                self.toolbar.addAction(action)

    def _offer_training(self) -> None:
        """The training window works on a demo database only: whether this is one is asked off the GUI thread, so
        the window opens at once, and its action appears in Tools when the answer lands."""
        def answered(available: bool) -> None:
            self.client_devices_action.setVisible(available)
            hide_empty_menus(self.menuBar())

        self.desk.runner.query(self, lambda: self.services.training.available(), success=answered,
                               failure=lambda exc: log.warning("training window not offered: %s", error_text(exc)))

    def _build_status_bar(self) -> None:
        actor = self.services.actor
        self.status_identity = QLabel(f"{actor.full_name} ({actor.role.label})  ·  {self.services.database_name}")
        self.status_identity.setObjectName("statusIdentity")
        self.statusBar().addPermanentWidget(self.status_identity)

    def follow_theme(self, _dark: bool) -> None:
        """A theme chosen in Settings, or the desktop's switch: icons are drawn in the new text colour."""
        self.refresh_icons()

    def refresh_icons(self) -> None:
        """After a light/dark switch: icons are drawn in the palette's text colour."""
        self.back_office.refresh_icons()
        names = {"changeSecuritySettings": "security", "refresh": "refresh", "findUsers": "find", "quit": "quit",
                 "openAuditTrail": "audit", "manageStaff": "user", "about": "about"}
        for action in (self.change_security_action, self.refresh_action, self.find_action, self.quit_action,
                       self.audit_action, self.staff_action, self.about_action):
            action.setIcon(icon(names[action.objectName()]))
        self.device_actions.refresh_icons()
        self.insight.refresh_icons()

    # --- changes announced on the bus ------------------------------------------------------------
    def on_changes(self, changes: Changes) -> None:
        self._pending_changes = changes if self._pending_changes is None else self._pending_changes.merged(changes)
        self._change_timer.start()
        if changes.origin is Origin.other_desk:
            self.statusBar().showMessage("Updated with changes made at another desk.", 5000)

    def show_connection(self, connected: bool) -> None:
        """The database server went away (the console keeps retrying) or is back."""
        self.statusBar().showMessage("Database connection restored." if connected else
                                     "The database server is not answering; reconnecting…", 5000 if connected else 0)

    def _apply_changes(self) -> None:
        changes, self._pending_changes = self._pending_changes, None
        if changes is None:
            return
        if any(changes.touches(kind) for kind in LIST_KINDS):
            self.refresh()
        elif self.detail.shows_changed(changes):
            self.detail.reload()

    # --- behaviour -------------------------------------------------------------------------------
    def current_user_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.user_id_at(index.row()) if index.isValid() else None

    def show_users(self, text: str = "", state: SlsState | None = None, user_id: int | None = None) -> None:
        """Filter the list by `text` and `state` and, once the users are read, select `user_id` among them."""
        self.filter_edit.blockSignals(True)
        self.filter_edit.setText(text)
        self.filter_edit.blockSignals(False)
        self.state_combo.blockSignals(True)
        self.state_combo.setCurrentIndex(max(self.state_combo.findData(state), 0) if state is not None else 0)
        self.state_combo.blockSignals(False)
        self._reselect_user = user_id  # selected when the list has the users (_on_query_changed)
        self.apply_filter()

    def apply_filter(self) -> None:
        """Ask the list for the filter's users; a text search runs in the background (see UsersModel)."""
        self._filter_timer.stop()
        q = self.model.query
        self.model.set_query(UserQuery(self.filter_edit.text(), self.state_combo.currentData(), q.sort,
                                       q.descending, self.contains_check.isChecked()))
        if self.model.loading:
            self._update_counts()

    def _on_query_changed(self) -> None:
        """The list now shows the newest query's users."""
        self._update_counts()
        if self._reselect_user is None and self._keep_scroll is None:
            self.table.scrollToTop()  # a new filter or sort starts at its first users
        if self._select_first_match:
            self._select_first_match = False
            if self.model.rowCount():
                self.table.setFocus()
                self.table.selectRow(0)
                self.table.setCurrentIndex(self.model.index(0, 0))
        if self._reselect_user is not None:
            user_id, self._reselect_user = self._reselect_user, None
            if not self.select_user(user_id, scroll=self._keep_scroll is None):
                self.detail.show_user(None)
        elif self.model.rowCount() == 0 or not self.table.currentIndex().isValid():
            self.detail.show_user(None)
        if self._keep_scroll is not None:
            self.table.verticalScrollBar().setValue(self._keep_scroll)
            self._keep_scroll = None
        self._update_actions()
        if self._open_user is not None and not self.model.loading:
            user_id, self._open_user = self._open_user, None
            if self.select_user(user_id):
                self.table.setFocus()
                self.change_security_settings()

    def _on_load_failed(self, message: str) -> None:
        self._update_counts()
        self.statusBar().showMessage(f"The users list could not be read: {message}", 15000)

    def _update_counts(self) -> None:
        if self.model.loading:
            # A new filter says so; the same one read again (a change elsewhere) keeps its line until it lands.
            if self.model.query != self.model.shown_query or not self.counts_label.text():
                self.counts_label.setText("Searching…" if self.model.query.normalized_text() else
                                          "Reading the users…")
            return
        counts = self.model.state_counts
        shown = self.model.rowCount()
        self._show_empty_hint(shown == 0)
        lead = users_shown(shown)
        if counts is None:  # a text search's counts per state follow its rows
            self.counts_label.setText(f"{lead}   ·   counting by state…")
            return
        state = self.model.shown_query.state
        parts = [f"{s.label}: {counts[s]:,}" for s in SlsState if state is None or s is state]
        self.counts_label.setText(f"{lead}   ·   " + "   ·   ".join(parts))

    def _show_empty_hint(self, empty: bool) -> None:
        """An empty result says what was searched and offers the wider search."""
        q = self.model.shown_query
        text = q.normalized_text()
        if not empty or not text:
            self.empty_hint.setVisible(False)
            self.wider_button.setVisible(False)
            return
        where = ("inside usernames and names" if q.contains and len(text) >= SUBSTRING_MIN else
                 "at the start of usernames, account numbers (with or without the U) and words of names")
        state = f" among {q.state.label.lower()} users" if q.state is not None else ""
        self.empty_hint.setText(f"No user found for “{text}” {where}{state}.")
        self.empty_hint.setVisible(True)
        wider = q.state is not None or (not q.contains and len(text) >= SUBSTRING_MIN)
        self.wider_button.setText("Search all states" if q.state is not None else "Search inside names too")
        self.wider_button.setVisible(wider)

    def widen_search(self) -> None:
        """The empty result's offer: drop the state filter, else match inside usernames and names."""
        if self.state_combo.currentData() is not None:
            self.state_combo.setCurrentIndex(0)
        else:
            self.contains_check.setChecked(True)
        self.filter_edit.setFocus()

    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        user_id = self.model.user_id_at(current.row()) if current.isValid() else None
        self.detail.show_user(user_id)  # read off the GUI thread; the actions follow when it is shown

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Down in the Find box moves into the list; Enter on a row opens the user (the rights gate)."""
        if event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if watched is self.filter_edit and key == Qt.Key.Key_Down and self.model.rowCount():
                self.table.setFocus()
                if not self.table.currentIndex().isValid():
                    self.table.selectRow(0)
                    self.table.setCurrentIndex(self.model.index(0, 0))
                return True
            if (watched is self.table and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                    and event.modifiers() == Qt.KeyboardModifier.NoModifier):
                self.change_security_settings()
                return True
        return super().eventFilter(watched, event)

    def _update_actions(self) -> None:
        self.change_security_action.setEnabled(self.current_user_id() is not None)
        self.device_actions.update()
        self.sls_actions.update()

    def select_user(self, user_id: int, *, scroll: bool = True) -> bool:
        """Select a user by id if it is in the current list (used after a search and by tests)."""
        row = self.model.row_of_user(user_id)  # cached windows, else one indexed count
        if row is None:
            return False
        if not scroll:
            keep = self.table.verticalScrollBar().value()
        self.table.selectRow(row)
        self.table.setCurrentIndex(self.model.index(row, 0))
        if not scroll:
            self.table.verticalScrollBar().setValue(keep)
        return True

    def change_security_settings(self) -> None:
        """The rights gate: stop with a notice naming the holder, or open the user's security settings."""
        user_id = self.current_user_id()
        if user_id is None or not self.change_security_action.isEnabled():
            return  # also reached by double-click: the role may not allow it
        self.desk.runner.query(self, lambda: self.services.rights.check(user_id),
                               success=lambda _: self._open_security_settings(user_id),
                               failure=self._show_refusal)

    def _show_refusal(self, exc: Exception) -> None:
        if isinstance(exc, RightsError) and exc.holder_username:
            self.last_message = rights_notice(self, exc, lambda: self.open_user(exc.holder_username))
            return
        self.last_message = show_error(self, exc)

    def open_user(self, username: str) -> None:
        """Find a user by username (off the GUI thread), select it and open its security settings (the holder, from
        the notice)."""
        directory = self.services.directory
        self.statusBar().showMessage(f"Finding {username}…")
        self.desk.runner.query(self, lambda: directory.find_by_username(username),
                               success=lambda user_id: self._show_found_user(username, user_id),
                               failure=lambda exc: setattr(self, "last_message", show_error(self, exc)))

    def _show_found_user(self, username: str, user_id: int | None) -> None:
        if user_id is None:  # gone since the notice named it
            self.statusBar().showMessage(f"There is no username {username} any more.", 15000)
            return
        self.statusBar().clearMessage()
        self._open_user = user_id
        self.state_combo.setCurrentIndex(0)
        self.contains_check.setChecked(False)
        self.filter_edit.setText(username)
        self.apply_filter()

    def _open_security_settings(self, user_id: int) -> None:
        self.security_dialog = SecuritySettingsDialog(self.desk, user_id, self)
        self.security_dialog.open()

    def refresh(self) -> None:
        """Read the list and the selected user again, keeping the selection and the scroll position."""
        self._refreshing = True  # the user selected and the scroll position when the rows arrive are kept
        self.model.refresh()  # read off the GUI thread; query_changed reselects the user
        self._update_counts()

    def _remember_position(self) -> None:
        """The rows are about to be replaced: after a refresh, the user selected then is selected again, where it
        was on screen (the agent may have moved while the rows were being read)."""
        if not self._refreshing:
            return
        self._refreshing = False
        if self._reselect_user is None:  # else a user asked for (show_users) is selected
            self._reselect_user = self.current_user_id()
            self._keep_scroll = self.table.verticalScrollBar().value() if self._reselect_user is not None else None

    def _go_to_first_match(self) -> None:
        """Enter in the find box: filter now and put the agent on the first matching user."""
        self._select_first_match = True
        self.apply_filter()

    def present(self) -> None:
        """Show the window after sign-in, on top and active, with the keyboard in Find: the agent types a name at
        once (no window manager needed: Qt asks the X server for the focus itself)."""
        self.filter_edit.setFocus()
        self.show()
        self.raise_()
        self.activateWindow()

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def open_audit_trail(self) -> None:
        if self.audit_view is None:
            self.audit_view = AuditView(self.desk, self)
        else:
            self.audit_view.refresh()
        self.audit_view.show()
        self.audit_view.raise_()

    def open_client_devices(self) -> None:
        """Training: the selected client's devices as the client would read them (demo databases only)."""
        details = self.detail.details
        username = details.username if details is not None else ""
        if self.client_devices is None:
            self.client_devices = ClientDevicesWindow(self.desk, username, self)
            self.desk.bus.changed.connect(self.client_devices.on_changes)
        else:
            self.client_devices.username.setText(username)
            self.client_devices.reload()
        self.client_devices.show()
        self.client_devices.raise_()
        self.client_devices.activateWindow()

    def open_staff(self) -> None:
        self.staff_dialog = StaffDialog(self.desk, self)
        self.staff_dialog.open()

    def show_about(self) -> None:
        self.last_message = message_box(
            self, "About SLS Console",
            "SLS Console — the staff side of the Secure Login System.\n\n"
            f"Database: {self.services.database_name}", QMessageBox.Icon.Information, "aboutBox")

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Narrower than NARROW (1024×700 at 125 % or 150 % scaling) the detail pane goes under the list: side by
        side its device table would have no room for a date."""
        super().resizeEvent(event)
        wanted = Qt.Orientation.Vertical if self.width() < NARROW else Qt.Orientation.Horizontal
        if self.splitter.orientation() != wanted:
            self.splitter.setOrientation(wanted)
            self.splitter.setSizes([5500, 4500])

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.desk.runner.wait_idle()  # a write under way finishes and is reported before the window goes
        super().closeEvent(event)
