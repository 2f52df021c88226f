"""Changing the service figures: validated, stored in the database, audited old to new."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from console.models.entities import AuditEntry, Setting
from console.models.errors import InvalidInput, PermissionDenied
from console.models.settings_service import SettingsService


@pytest.fixture
def service(ctx) -> SettingsService:
    return SettingsService(ctx)


def audit_count(ctx) -> int:
    with ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry))


def test_defaults_come_from_domain_facts(service):
    """With nothing stored, every figure is its documented default."""
    values = {v.spec.key: v for v in service.current()}
    assert values["online_card_validity_days"].value == 21 and values["online_card_validity_days"].is_default
    assert values["dsc_plus_fee_cents"].value == 2000


def test_update_stores_value_and_audits_old_to_new(service, ctx, admin):
    """A change is stored, read back by load_figures, and recorded with the old and new value."""
    service.update(admin, "online_card_validity_days", "28")
    assert service.figures().online_card_validity_days == 28
    with ctx.db.read() as s:
        row = s.get(Setting, "online_card_validity_days")
        assert (row.value, row.updated_by) == ("28", "admin01")
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "settings.changed")).one()
        assert "21 days → 28 days" in entry.summary
        assert '"old":21' in entry.details and '"new":28' in entry.details


def test_unchanged_value_writes_no_audit_entry(service, ctx, admin):
    """Saving a figure at its current value is not a change and is not audited."""
    before = audit_count(ctx)
    service.update(admin, "lockout_failures", 5)
    assert audit_count(ctx) == before


def test_out_of_range_value_changes_nothing(service, ctx, admin):
    """One bad value among several refuses them all; nothing is stored or audited."""
    before = audit_count(ctx)
    with pytest.raises(InvalidInput, match="between 1 and 100"):
        service.update_many(admin, {"online_card_validity_days": 30, "lockout_failures": 0})
    assert service.figures().online_card_validity_days == 21
    assert audit_count(ctx) == before


def test_only_administrators_change_settings(service, back_office, ctx):
    """Changing settings needs the change_settings permission."""
    with pytest.raises(PermissionDenied, match="may not change the service figures"):
        service.update(back_office, "lockout_failures", 3)
    with ctx.db.read() as s:
        assert s.get(Setting, "lockout_failures") is None


def test_current_names_who_changed_a_figure_and_when(service, ctx, admin):
    """The dialog's list says which figures differ from the default, by whom and when."""
    service.update(admin, "return_due_days", 45)
    values = {v.spec.key: v for v in service.current()}
    changed = values["return_due_days"]
    assert (changed.value, changed.is_default, changed.updated_by) == (45, False, "admin01")
    assert changed.updated_at == ctx.clock.now()
