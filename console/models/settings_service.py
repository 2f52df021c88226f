"""Changing the service figures (validity days, fees, limits): validated, stored, and audited old to new."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from console.models import audit
from console.models.arguments import checked_arguments
from console.models.concurrency import require_setting
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.entities import Setting
from console.models.errors import InvalidInput
from console.models.permissions import Permission, require
from console.models.settings import SPEC_BY_KEY, SPECS, Figures, SettingSpec, load_figures, validate


@dataclass(frozen=True)
class SettingValue:
    """One figure as the settings dialog shows it."""

    spec: SettingSpec
    value: int
    is_default: bool
    updated_at: dt.datetime | None
    updated_by: str | None


@checked_arguments
@retries_conflicts
class SettingsService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def figures(self) -> Figures:
        with self.ctx.read() as s:
            return load_figures(s)

    def current(self) -> list[SettingValue]:
        """Every figure, in SPECS order, with who last changed it."""
        with self.ctx.read() as s:
            stored = {row.key: (row.updated_at, row.updated_by) for row in s.scalars(select(Setting))}
            figures = load_figures(s)
        out = []
        for spec in SPECS:
            row = stored.get(spec.key)
            out.append(SettingValue(spec, getattr(figures, spec.key), row is None, *(row or (None, None))))
        return out

    def update(self, actor: Actor, key: str, value: str | int, *, shown: int | None = None) -> int:
        """Set one figure; returns the stored value. `shown`: the value the desk displayed, if any."""
        return self.update_many(actor, {key: value}, shown=None if shown is None else {key: shown})[key]

    def update_many(self, actor: Actor, changes: dict[str, str | int],
                    shown: dict[str, int] | None = None) -> dict[str, int]:
        """Set several figures in one transaction: all are checked first, so one bad value changes none.
        `shown` holds the values the desk displayed: if another desk changed one since, nothing is changed."""
        values = {key: validate(key, raw) for key, raw in changes.items()}
        if not values:
            raise InvalidInput("No setting was given to change.")
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            require(s, actor, Permission.change_settings)
            old_figures = load_figures(s)
            for key in values:
                require_setting(s, key, SPEC_BY_KEY[key].label, (shown or {}).get(key), getattr(old_figures, key))
            for key, value in values.items():
                old = getattr(old_figures, key)
                if old == value:
                    continue
                row = s.get(Setting, key)
                if row is None:
                    s.add(Setting(key=key, value=str(value), updated_at=now, updated_by=actor.username))
                else:
                    row.value, row.updated_at, row.updated_by = str(value), now, actor.username
                spec = SPEC_BY_KEY[key]
                unit = f" {spec.unit}" if spec.unit else ""
                audit.record(s, at=now, actor=actor.username, action="settings.changed",
                             summary=f"{spec.label}: {old}{unit} → {value}{unit}",
                             details={"key": key, "old": old, "new": value})
        return values
