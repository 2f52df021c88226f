"""The main window's everyday back-office actions: import, export, settings, help, and icons on every action."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox

from console.models.exporting import KIND_LABELS
from console.models.permissions import Permission, allowed
from console.views.actions import make_action
from console.views.export_runner import ExportRunner
from console.views.help_browser import HelpBrowser
from console.views.import_dialog import ImportDialog
from console.views.roles import requires
from console.views.settings_dialog import SettingsDialog
from console.views.style import icon

EXPORT_SHORTCUTS = {"users": "Ctrl+Alt+U", "devices": "Ctrl+Alt+D", "charges": "Ctrl+Alt+C",
                    "audit": "Ctrl+Alt+A"}
# Icons for the actions the main window builds itself, by object name.
ICONS = {"changeSecuritySettings": "security", "refresh": "refresh", "findUsers": "find", "quit": "quit",
         "about": "about", "openDevices": "device", "openCharges": "charges", "issueTemporaryPasscode": "passcode",
         "issueOnlineCard": "card", "reportUserDevice": "alert", "makePreferred": "star",
         "shareUserDevice": "share", "unshareUserDevice": "unshare", "openAuditTrail": "audit", "manageStaff": "user"}
# Standard keys are empty on some platforms (Quit on Windows and offscreen): every action keeps a shortcut.
FALLBACK_SHORTCUTS = {"quit": "Ctrl+Q", "refresh": "F5", "findUsers": "Ctrl+F"}


class BackOfficeActions:
    """Adds the actions to `window`'s menus and toolbar; the dialogs they open are kept for tests to inspect."""

    def __init__(self, window: QMainWindow, services) -> None:
        self.window = window
        self.services = services
        actor = services.actor
        self.import_dialog: ImportDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.help_browser: HelpBrowser | None = None
        self.last_message: QMessageBox | None = None
        self.exporter = ExportRunner(services.exporting, actor, window)

        self.import_action = self._action("&Import accounts and users…", "Ctrl+I", "import",
                                          "Read accounts and users from a CSV file: preview first, then all or "
                                          "nothing", self.open_import, "importData")
        requires(self.import_action, Permission.import_data)
        self.import_action.setEnabled(allowed(actor, Permission.import_data))
        self.export_actions: dict[str, QAction] = {}
        for kind, shortcut in EXPORT_SHORTCUTS.items():
            a = self._action(f"Export {KIND_LABELS[kind]}…", shortcut, "export",
                             f"Write every one of the {KIND_LABELS[kind]} to a CSV file",
                             lambda _=False, k=kind: self.exporter.ask_and_export(k), f"export_{kind}")
            requires(a, Permission.export_data)
            a.setEnabled(allowed(actor, Permission.export_data))
            self.export_actions[kind] = a
        self.settings_action = self._action("Service &figures…", "Ctrl+,", "settings",
                                            "Validity days, fees and limits the console applies",
                                            self.open_settings, "serviceFigures")
        self.help_action = self._action("&Help topics", QKeySequence.StandardKey.HelpContents, "help",
                                        "Staff help: SLS, devices, sharing, returns, charges, temporary passcodes",
                                        self.open_help, "helpTopics")
        self._place()
        self._decorate()

    def _action(self, text, shortcut, icon_name, tip, slot, name) -> QAction:
        return make_action(self.window, text, shortcut, tip, slot, name, icon=icon(icon_name))

    def _place(self) -> None:
        w = self.window
        file_menu: QMenu = getattr(w, "file_menu", None) or w.menuBar().addMenu("&File")
        first = file_menu.actions()[0] if file_menu.actions() else None
        file_menu.insertAction(first, self.import_action)
        self.export_menu = QMenu("&Export", file_menu)
        self.export_menu.setObjectName("exportMenu")
        self.export_menu.setIcon(icon("export"))
        for a in self.export_actions.values():
            self.export_menu.addAction(a)
        file_menu.insertMenu(first, self.export_menu)
        file_menu.insertSeparator(first)
        file_menu.insertAction(first, self.settings_action)
        file_menu.insertSeparator(first)
        help_menu: QMenu = getattr(w, "help_menu", None) or w.menuBar().addMenu("&Help")
        help_menu.insertAction(help_menu.actions()[0] if help_menu.actions() else None, self.help_action)
        toolbar = getattr(w, "toolbar", None)
        if toolbar is not None:
            # Words beside the icons: an agent on the phone should not have to guess what a picture means.
            toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            toolbar.addSeparator()
            toolbar.addAction(self.import_action)
            toolbar.addAction(self.help_action)

    def _decorate(self) -> None:
        w = self.window
        w.setWindowIcon(icon("app"))
        for a in w.findChildren(QAction):
            if a.objectName() in ICONS and a.icon().isNull():
                a.setIcon(icon(ICONS[a.objectName()]))
            if a.shortcut().isEmpty() and a.objectName() in FALLBACK_SHORTCUTS:
                a.setShortcut(QKeySequence(FALLBACK_SHORTCUTS[a.objectName()]))
                a.setToolTip(f"{a.statusTip()} ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
            if a.objectName() == "about" and a.shortcut() == self.help_action.shortcut():
                # F1 opens the help topics, as everywhere else; About moves to Shift+F1.
                a.setShortcut(QKeySequence("Shift+F1"))
                a.setToolTip(f"{a.statusTip()} (Shift+F1)")

    def refresh_icons(self) -> None:
        """After a light/dark switch: icons are drawn in the palette's text colour."""
        names = {**ICONS, "importData": "import", "serviceFigures": "settings", "helpTopics": "help",
                 **{f"export_{k}": "export" for k in EXPORT_SHORTCUTS}}
        for a in self.window.findChildren(QAction):
            if a.objectName() in names:
                a.setIcon(icon(names[a.objectName()]))
        self.window.setWindowIcon(icon("app"))

    # --- the actions ----------------------------------------------------------------------------
    def open_import(self) -> ImportDialog:
        dialog = ImportDialog(self.services.importing, self.services.actor, self.window)
        dialog.finished.connect(lambda _: self._after_import(dialog))
        self.import_dialog = dialog
        dialog.open()
        return dialog

    def _after_import(self, dialog: ImportDialog) -> None:
        if dialog.outcome == "imported" and hasattr(self.window, "refresh"):
            self.window.refresh()

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.services.settings, self.services.actor, self.window)
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def open_help(self, topic: str | None = None) -> HelpBrowser:
        if self.help_browser is None or not self.help_browser.isVisible():
            # Built afresh so the pages show the figures as they are now.
            self.help_browser = HelpBrowser(self.services.settings.figures(), self.window)
        if isinstance(topic, str):
            self.help_browser.show_topic(topic)
        self.help_browser.show()
        self.help_browser.raise_()
        return self.help_browser


def install(window: QMainWindow, services) -> BackOfficeActions:
    return BackOfficeActions(window, services)
