"""The settings dialog: this desk's theme (applied at once, remembered on this computer), and the service figures
of docs/domain-facts.md (validity days, fees, limits), saved and audited."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QMessageBox,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from console.models.permissions import Permission
from console.models.settings_service import SettingValue
from console.views.change_bus import ChangeKind, Changes, Origin
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.formatting import when
from console.views.messages import report_done, show_error
from console.views.preferences import Theme, choose_theme, saved_theme


class SettingsDialog(QDialog):
    submit_requested = Signal()  # Save (or Enter, Ctrl+Enter) was asked for

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.desk = desk
        service = self.service = desk.services.settings
        self.actor = desk.actor
        self.editable = desk.actions.may(Permission.change_settings)
        self.saved: dict[str, int] | None = None
        self.last_message: QMessageBox | None = None
        self.fields: dict[str, QSpinBox | QDoubleSpinBox] = {}
        self.values: dict[str, SettingValue] = {}

        desk_box = QGroupBox("This desk")
        desk_form = QFormLayout(desk_box)
        self.theme_combo = QComboBox()
        self.theme_combo.setObjectName("themeChoice")
        self.theme_combo.setAccessibleName("Theme of this desk")
        self.theme_combo.setToolTip("Light, dark, or as the system is set; applied at once to every window and "
                                    "remembered on this computer")
        for theme in Theme:
            self.theme_combo.addItem(theme.label, theme)
        self.theme_combo.setCurrentIndex(list(Theme).index(saved_theme()))
        self.theme_combo.currentIndexChanged.connect(lambda _: choose_theme(self.theme_combo.currentData()))
        theme_label = QLabel("&Theme:")
        theme_label.setBuddy(self.theme_combo)
        desk_form.addRow(theme_label, self.theme_combo)
        figures_box = QGroupBox("Service figures")
        figures_layout = QVBoxLayout(figures_box)

        intro = QLabel("The figures the console applies: validity periods, fees and limits. They start from the "
                       "brokerage's published values; every change is recorded in the audit trail."
                       + ("" if self.editable else "\n\nYour role may read these figures but not change them."))
        intro.setObjectName("settingsIntro")
        intro.setWordWrap(True)
        form_widget = QWidget()
        self.form = QFormLayout(form_widget)
        for value in service.current():
            self._add_row(value)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_widget)

        buttons = QDialogButtonBox()
        make = desk.actions.make
        self.save_action = make(self, "&Save", "Ctrl+S", "Save the changed figures (recorded in the audit trail)",
                                self.save, "saveSettings", Permission.change_settings)
        self.defaults_action = make(self, "Restore &defaults", "Ctrl+Shift+D", "Put every figure back to the "
                                    "brokerage's published value (not saved until Save)", self.restore_defaults,
                                    "restoreDefaultSettings", Permission.change_settings)
        self.addActions([self.save_action, self.defaults_action])
        self.save_button = buttons.addButton("&Save", QDialogButtonBox.ButtonRole.AcceptRole)
        desk.actions.button(self.save_action, "settingsSave", self.save_button)
        self.defaults_button = buttons.addButton("Restore &defaults", QDialogButtonBox.ButtonRole.ResetRole)
        desk.actions.button(self.defaults_action, "settingsDefaults", self.defaults_button)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close if not self.editable
                                  else QDialogButtonBox.StandardButton.Cancel)
        close.setObjectName("settingsClose")
        close.clicked.connect(self.reject)

        # What another desk changed while this dialog was open (shown live, see on_changes).
        self.note = QLabel()
        self.note.setObjectName("settingsChangedElsewhere")
        self.note.setWordWrap(True)
        self.note.setVisible(False)

        figures_layout.addWidget(intro)
        figures_layout.addWidget(scroll, 1)
        figures_layout.addWidget(self.note)
        layout = QVBoxLayout(self)
        layout.addWidget(desk_box)
        layout.addWidget(figures_box, 1)
        layout.addWidget(buttons)
        desk.bus.changed.connect(self.on_changes)
        keyboard_conventions(self, self.save if self.editable else None)
        self.resize(620, 620)

    def _add_row(self, value: SettingValue) -> None:
        spec = value.spec
        if spec.unit == "cents":
            box = QDoubleSpinBox()
            box.setDecimals(2)
            box.setRange(spec.minimum / 100, spec.maximum / 100)
            box.setSuffix(" USD")
            box.setGroupSeparatorShown(True)
            box.setValue(value.value / 100)
        else:
            box = QSpinBox()
            box.setRange(spec.minimum, spec.maximum)
            box.setGroupSeparatorShown(True)
            if spec.unit:
                box.setSuffix(f" {spec.unit}")
            box.setValue(value.value)
        box.setObjectName(f"setting_{spec.key}")
        box.setAccessibleName(spec.label)
        box.setReadOnly(not self.editable)
        if not self.editable:
            box.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        changed = ("default value" if value.is_default
                   else f"changed by {value.updated_by} on {when(value.updated_at)}")
        shown_default = f"{spec.default / 100:,.2f} USD" if spec.unit == "cents" else f"{spec.default} {spec.unit}"
        box.setToolTip(f"{spec.label}. Allowed: {spec.minimum}–{spec.maximum}"
                       f"{' ' + spec.unit if spec.unit else ''}. Default {shown_default.strip()}; {changed}.")
        label = QLabel(spec.label + ":")
        label.setBuddy(box)
        self.form.addRow(label, box)
        self.fields[spec.key] = box
        self.values[spec.key] = value

    def entered(self) -> dict[str, int]:
        """What the fields hold now, in stored units (cents for money)."""
        out = {}
        for key, box in self.fields.items():
            out[key] = round(box.value() * 100) if self.values[key].spec.unit == "cents" else box.value()
        return out

    def changes(self) -> dict[str, int]:
        return {k: v for k, v in self.entered().items() if v != self.values[k].value}

    def set_value(self, key: str, value: int) -> None:
        """Put a value into a field, in stored units (tests and Restore defaults)."""
        box = self.fields[key]
        box.setValue(value / 100 if self.values[key].spec.unit == "cents" else value)

    def on_changes(self, changes: Changes) -> None:
        """Another desk saved figures: show them now, and say which changed (and whose entry here gave way)."""
        if changes.origin is not Origin.other_desk or not changes.touches(ChangeKind.settings):
            return
        before, entered = dict(self.values), self.entered()
        self.refresh()
        lines = []
        for key, value in self.values.items():
            if value.value == before[key].value:
                continue
            line = (f"{value.spec.label}: {self._shown(key, before[key].value)} → {self._shown(key, value.value)} "
                    f"(by {value.updated_by} at {when(value.updated_at)})")
            if entered[key] not in (before[key].value, value.value):
                line += f"; your entry {self._shown(key, entered[key])} was replaced, type it again to keep it"
            lines.append(line)
        if lines:
            self.note.setText("Changed at another desk while this was open:\n" + "\n".join(lines))
            self.note.setVisible(True)

    def _shown(self, key: str, value: int) -> str:
        spec = self.values[key].spec
        return f"{value / 100:,.2f} USD" if spec.unit == "cents" else f"{value:,} {spec.unit}".strip()

    def refresh(self) -> None:
        """Show the values stored now (after another desk changed some): a field another desk changed takes the
        new value, a field the agent edited and nobody else changed keeps the agent's entry."""
        entered = self.entered()
        for value in self.service.current():
            key = value.spec.key
            old = self.values[key].value
            self.values[key] = value
            if value.value != old or entered[key] == old:
                self.set_value(key, value.value)

    def restore_defaults(self) -> None:
        for key, value in self.values.items():
            self.set_value(key, value.spec.default)

    def save(self) -> None:
        self.submit_requested.emit()
        changes = self.changes()
        if not changes:
            self.accept()
            return
        if not self.save_button.isEnabled():
            return  # a save under way
        self.save_button.setEnabled(False)
        shown = {key: self.values[key].value for key in changes}  # another desk's change since is refused

        def saved(result) -> None:
            self.save_button.setEnabled(True)
            self.saved = result
            parent = self.parentWidget()
            self.accept()
            report_done(parent or self, f"Service figures saved: {', '.join(sorted(changes))}.")

        def refused(exc: Exception) -> None:
            self.save_button.setEnabled(True)
            self.last_message = show_error(self, exc)  # said once, in one box

        self.desk.runner.write(self, lambda: self.service.update_many(self.actor, changes, shown),
                               changes=Changes.of(kinds=[ChangeKind.settings]), success=saved, failure=refused)
