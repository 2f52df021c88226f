"""The main window's back-office actions: import, export, service figures and help.

A typed collaborator: it makes the actions and opens the dialogs; the main window places the actions in
its own menus and toolbar. The dialogs it opens are kept for tests to inspect.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QWidget

from console.models.exporting import KIND_LABELS
from console.models.permissions import Permission
from console.views.close_account_dialog import CloseAccountDialog
from console.views.desk import Desk
from console.views.export_runner import ExportRunner
from console.views.help_browser import HelpBrowser
from console.views.import_dialog import ImportDialog
from console.views.permitted import PermittedAction
from console.views.settings_dialog import SettingsDialog
from console.views.style import icon

EXPORT_SHORTCUTS = {"users": "Ctrl+Alt+U", "devices": "Ctrl+Alt+D", "charges": "Ctrl+Alt+C",
                    "audit": "Ctrl+Alt+A"}
ICONS = {"importData": "import", "serviceFigures": "settings", "helpTopics": "help", "closeAccount": "user",
         **{f"export_{k}": "export" for k in EXPORT_SHORTCUTS}}


class BackOfficeActions(QObject):
    def __init__(self, desk: Desk, parent: QWidget) -> None:
        super().__init__(parent)
        self.desk = desk
        self.services = desk.services
        self.parent_widget = parent
        self.import_dialog: ImportDialog | None = None
        self.close_account_dialog: CloseAccountDialog | None = None
        # The main window tells which account is selected (its number, or "").
        self.selected_account = lambda: ""
        self.settings_dialog: SettingsDialog | None = None
        self.help_browser: HelpBrowser | None = None
        self.exporter = ExportRunner(desk, parent)

        self.import_action = self._action("&Import accounts and users…", "Ctrl+I",
                                          "Read accounts and users from a CSV file: preview first, then all or "
                                          "nothing", self.open_import, "importData", Permission.import_data)
        self.export_actions: dict[str, PermittedAction] = {}
        for kind, shortcut in EXPORT_SHORTCUTS.items():
            self.export_actions[kind] = self._action(
                f"Export {KIND_LABELS[kind]}…", shortcut, f"Write every one of the {KIND_LABELS[kind]} to a CSV "
                f"file", lambda _=False, k=kind: self.exporter.ask_and_export(k), f"export_{kind}",
                Permission.export_data)
        self.settings_action = self._action("&Settings…", "Ctrl+,",
                                            "This desk's theme; the validity days, fees and limits the console "
                                            "applies",
                                            self.open_settings, "serviceFigures", Permission.view)
        self.help_action = self._action("&Help topics", QKeySequence.StandardKey.HelpContents,
                                        "Staff help: SLS, devices, sharing, returns, charges, temporary passcodes",
                                        self.open_help, "helpTopics", Permission.view)
        self.close_account_action = self._action("&Close account…", "Ctrl+Alt+K",
                                                 "Close the selected user's account: devices end, unreturned ones "
                                                 "are charged once", self.open_close_account, "closeAccount",
                                                 Permission.close_accounts)
        if self.help_action.shortcut().isEmpty():
            self.help_action.setShortcut(QKeySequence("F1"))

    def _action(self, text, shortcut, tip, slot, name, permission: Permission) -> PermittedAction:
        return self.desk.actions.make(self.parent_widget, text, shortcut, tip, slot, name, permission,
                                      icon=icon(ICONS[name]))

    def refresh_icons(self) -> None:
        """After a light/dark switch: icons are drawn in the palette's text colour."""
        for action in (self.import_action, *self.export_actions.values(), self.settings_action, self.help_action,
                       self.close_account_action):
            action.setIcon(icon(ICONS[action.objectName()]))

    # --- the actions ----------------------------------------------------------------------------
    def open_import(self) -> ImportDialog:
        dialog = ImportDialog(self.desk, self.parent_widget)
        self.import_dialog = dialog
        dialog.open()
        return dialog

    def open_close_account(self) -> CloseAccountDialog:
        dialog = CloseAccountDialog(self.desk, self.selected_account(), self.parent_widget)
        self.close_account_dialog = dialog
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.desk, self.parent_widget)
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def open_help(self, topic: str | None = None) -> HelpBrowser:
        if self.help_browser is None or not self.help_browser.isVisible():
            # Built afresh so the pages show the figures as they are now (read off the GUI thread).
            browser = self.help_browser = HelpBrowser(None, self.parent_widget, reading=True)
            settings = self.services.settings
            self.desk.runner.query(self.parent_widget, lambda: settings.figures(), success=browser.show_figures)
        if isinstance(topic, str):
            self.help_browser.show_topic(topic)
        self.help_browser.show()
        self.help_browser.raise_()
        return self.help_browser
