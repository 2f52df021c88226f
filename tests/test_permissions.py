"""The role table: every role's forbidden actions are refused by the model layer, with a readable message."""

import re

import pytest

from console.models.enums import StaffRole
from console.models.errors import PermissionDenied
from console.models.permissions import ROLE_PERMISSIONS, Permission, allowed, require
from tests.sessions import signed_in

P = Permission


@pytest.mark.parametrize("role", list(StaffRole))
@pytest.mark.parametrize("permission", list(Permission))
def test_require_matches_the_role_table(ctx, role, permission):
    """require() lets through exactly what the role's row of the table lists, and refuses the rest."""
    actor = signed_in(ctx, "someone", "Some One", role)
    with ctx.db.read() as s:
        if permission in ROLE_PERMISSIONS[role]:
            require(s, actor, permission)
        else:
            with pytest.raises(PermissionDenied,
                               match=re.escape(f"Some One ({role.label}) may not {permission.value}")):
                require(s, actor, permission)


def test_help_desk_assists_but_cannot_waive_or_receive_stock(agent):
    """Help-desk runs assisted opt-in and temporary passcodes; waiving charges and receiving stock are refused."""
    desk = agent
    assert allowed(desk, P.assist_enrollment) and allowed(desk, P.issue_temporary_access)
    for p in (P.waive_charges, P.manage_stock, P.receive_returns, P.manage_staff, P.rotate_key, P.change_settings):
        assert not allowed(desk, p)


def test_auditor_only_reads():
    """The auditor views, exports and verifies; nothing that changes state."""
    assert ROLE_PERMISSIONS[StaffRole.auditor] == {P.view, P.export_data, P.verify_audit}


def test_administrator_may_do_everything():
    assert ROLE_PERMISSIONS[StaffRole.administrator] == set(Permission)
