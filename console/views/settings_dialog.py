"""The settings dialog: this desk's theme (applied at once, remembered on this computer), and the service figures
of docs/domain-facts.md (validity days, fees, limits), saved and audited."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
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
from console.models.settings import SPEC_BY_KEY, SPECS, SettingSpec
from console.models.settings_service import SettingValue
from console.views.change_bus import ChangeKind, Changes, Origin
from console.views.conventions import keyboard_conventions
from console.views.desk import Desk
from console.views.formatting import when
from console.views.messages import error_text, report_done, show_error
from console.views.preferences import Theme, choose_theme, saved_theme


class SettingsDialog(QDialog):
    submit_requested = Signal()  # Save (or Enter, Ctrl+Enter) was asked for

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.desk = desk
        self.service = desk.services.settings
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
        # One field per figure at once; the values are read off the GUI thread and fill the fields when they come.
        self.reading = QLabel("Reading the figures…")
        self.reading.setObjectName("settingsReading")
        form_widget = QWidget()
        self.form = QFormLayout(form_widget)
        for spec in SPECS:
            self._add_row(spec)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_widget)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # As wide as the longest label and value, so every figure shows whole (only the list scrolls, downwards).
        scroll.setMinimumWidth(form_widget.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
                               + 2 * scroll.frameWidth())

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
        figures_layout.addWidget(self.reading)
        figures_layout.addWidget(scroll, 1)
        figures_layout.addWidget(self.note)
        layout = QVBoxLayout(self)
        layout.addWidget(desk_box)
        layout.addWidget(figures_box, 1)
        layout.addWidget(buttons)
        desk.bus.changed.connect(self.on_changes)
        keyboard_conventions(self, self.save if self.editable else None)
        self.resize(620, 620)
        self._asked = 0  # the newest read of the figures asked for; an older answer is dropped
        self.refresh()

    def _add_row(self, spec: SettingSpec) -> None:
        """A field for the figure, empty and disabled until its stored value arrives (_show_value)."""
        box: QSpinBox | QDoubleSpinBox
        if spec.unit == "cents":
            box = QDoubleSpinBox()
            box.setDecimals(2)
            box.setRange(spec.minimum / 100, spec.maximum / 100)
            box.setSuffix(" USD")
        else:
            box = QSpinBox()
            box.setRange(spec.minimum, spec.maximum)
            if spec.unit:
                box.setSuffix(f" {spec.unit}")
        box.setGroupSeparatorShown(True)
        box.setObjectName(f"setting_{spec.key}")
        box.setAccessibleName(spec.label)
        box.setReadOnly(not self.editable)
        box.setEnabled(False)
        if not self.editable:
            box.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        label = QLabel(spec.label + ":")
        label.setBuddy(box)
        self.form.addRow(label, box)
        self.fields[spec.key] = box

    def _show_value(self, value: SettingValue) -> None:
        spec = value.spec
        changed = ("default value" if value.is_default
                   else f"changed by {value.updated_by} on {when(value.updated_at)}")
        shown_default = f"{spec.default / 100:,.2f} USD" if spec.unit == "cents" else f"{spec.default} {spec.unit}"
        self.fields[spec.key].setToolTip(f"{spec.label}. Allowed: {spec.minimum}–{spec.maximum}"
                                         f"{' ' + spec.unit if spec.unit else ''}. Default {shown_default.strip()}; "
                                         f"{changed}.")

    @property
    def loading(self) -> bool:
        """The figures have not arrived yet: nothing to show, change or save."""
        return not self.values

    def entered(self) -> dict[str, int]:
        """What the fields hold now, in stored units (cents for money)."""
        out = {}
        for key, box in self.fields.items():
            out[key] = round(box.value() * 100) if SPEC_BY_KEY[key].unit == "cents" else int(box.value())
        return out

    def changes(self) -> dict[str, int]:
        return {k: v for k, v in self.entered().items() if k in self.values and v != self.values[k].value}

    def set_value(self, key: str, value: int) -> None:
        """Put a value into a field, in stored units (tests and Restore defaults)."""
        box = self.fields[key]
        box.setValue(value / 100 if SPEC_BY_KEY[key].unit == "cents" else value)

    def on_changes(self, changes: Changes) -> None:
        """Another desk saved figures: show them now, and say which changed (and whose entry here gave way)."""
        if changes.origin is not Origin.other_desk or not changes.touches(ChangeKind.settings):
            return
        self.refresh(self._say_what_changed)

    def _say_what_changed(self, before: dict[str, SettingValue], entered: dict[str, int]) -> None:
        lines = []
        for key, value in self.values.items():
            if key not in before or value.value == before[key].value:
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
        spec = SPEC_BY_KEY[key]
        return f"{value / 100:,.2f} USD" if spec.unit == "cents" else f"{value:,} {spec.unit}".strip()

    def refresh(self, then: Callable[[dict[str, SettingValue], dict[str, int]], None] | None = None) -> None:
        """Read the values stored now, off the GUI thread. When they come, a field another desk changed takes the
        new value and a field the agent edited that nobody else changed keeps the agent's entry; `then` is told
        the values shown before and what the fields held."""
        self._asked += 1
        asked, service = self._asked, self.service

        def arrived(current: list[SettingValue]) -> None:
            if asked != self._asked:
                return  # a newer read answers
            before, entered = dict(self.values), self.entered()
            for value in current:
                key = value.spec.key
                old = before.get(key)
                self.values[key] = value
                if old is None or value.value != old.value or entered[key] == old.value:
                    self.set_value(key, value.value)
                self._show_value(value)
                self.fields[key].setEnabled(True)
            self.reading.setVisible(False)
            if then is not None:
                then(before, entered)

        def refused(exc: Exception) -> None:
            if asked == self._asked:
                self.reading.setText(f"The figures could not be read: {error_text(exc)}")

        self.desk.runner.query(self, service.current, success=arrived, failure=refused)
    def restore_defaults(self) -> None:
        for key, value in self.values.items():
            self.set_value(key, value.spec.default)

    def save(self) -> None:
        self.submit_requested.emit()
        if self.loading:
            return  # nothing shown yet, so nothing to save
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
