"""The security-rights rule: only the holder may change security settings; the notice names the holder."""

import pytest
from sqlalchemy import func, select

from console.models.entities import AuditEntry, User
from console.models.errors import RightsError, RuleViolation
from console.models.rights import holds_rights, name_rights_holder, require_rights, rights_holder


def test_primary_user_holds_rights_of_individual_account(ctx, world):
    """The primary user of an individual account holds its security rights."""
    with ctx.db.read() as s:
        assert holds_rights(s, s.get(User, world.primary_id))
        assert not holds_rights(s, s.get(User, world.secondary_id))


def test_secondary_user_refused_with_notice_naming_holder(ctx, world):
    """Asking on behalf of a secondary user stops with a message naming the primary (name and username)."""
    with ctx.db.read() as s:
        with pytest.raises(RightsError, match=r"jsmit123 does not hold the security rights of U1234567\. "
                                              r"Ask Jane Smith \(jsmit001\), who does\."):
            require_rights(s, s.get(User, world.secondary_id))


def test_organization_named_holder_takes_over_from_primary(ctx, world):
    """An organization account's named holder holds the rights; its primary user then does not."""
    with ctx.db.read() as s:
        holder = rights_holder(s, s.get(User, world.org_primary_id).account)
        assert holder.username == "bbake001"
        with pytest.raises(RightsError, match=r"Ask Bob Baker \(bbake001\)"):
            require_rights(s, s.get(User, world.org_primary_id))


def test_individual_account_cannot_name_secondary_as_holder(ctx, world):
    """Only organization accounts may give the rights to a user other than the primary."""
    with ctx.db.read() as s:
        secondary = s.get(User, world.secondary_id)
        with pytest.raises(RuleViolation, match="individual account"):
            name_rights_holder(s, secondary.account, secondary)


def test_refusal_changes_nothing(ctx, world):
    """A refused check leaves the user and the audit trail as they were."""
    with ctx.db.read() as s:
        before = (s.get(User, world.secondary_id).version, s.scalar(select(func.count()).select_from(AuditEntry)))
    with pytest.raises(RightsError):
        with ctx.db.write() as s:
            require_rights(s, s.get(User, world.secondary_id))
    with ctx.db.read() as s:
        after = (s.get(User, world.secondary_id).version, s.scalar(select(func.count()).select_from(AuditEntry)))
    assert before == after
