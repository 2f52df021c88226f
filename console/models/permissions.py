"""What each staff role may do, enforced by the services (the GUI only hides what is refused here)."""

from __future__ import annotations

import enum

from console.models.context import Actor
from console.models.enums import StaffRole
from console.models.errors import PermissionDenied


class Permission(enum.Enum):
    view = "view users, devices, charges and the audit trail"
    assist_enrollment = "run assisted opt-in and opt-out"
    issue_temporary_access = "issue temporary passcodes and Online Security Code Cards"
    unlock_device = "unlock a locked device"
    manage_devices = "assign, share, replace and report devices"
    manage_stock = "receive DSC+ cards into stock and ship them"
    receive_returns = "receive returned devices"
    waive_charges = "waive charges"
    close_accounts = "close accounts"
    run_overdue = "charge devices not returned in time"
    import_data = "import accounts and users"
    export_data = "export data"
    change_settings = "change the service figures"
    manage_staff = "add and change staff accounts"
    verify_audit = "verify the audit trail"
    rotate_key = "rotate the master key that seals secrets"
    manage_sms = "issue and end SMS as a temporary device"
    review_sharing = "approve or reject sharing requests that wait for compliance"


P = Permission
ROLE_PERMISSIONS: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.help_desk: frozenset({P.view, P.assist_enrollment, P.issue_temporary_access, P.unlock_device,
                                    P.manage_devices, P.manage_sms}),
    StaffRole.back_office: frozenset({P.view, P.manage_devices, P.manage_stock, P.receive_returns,
                                      P.waive_charges, P.run_overdue, P.import_data, P.export_data,
                                      P.unlock_device, P.close_accounts}),
    StaffRole.auditor: frozenset({P.view, P.export_data, P.verify_audit}),
    StaffRole.compliance: frozenset({P.view, P.review_sharing}),
    StaffRole.administrator: frozenset(Permission),
}


def allowed(actor: Actor, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[actor.role]


def require(actor: Actor, permission: Permission) -> None:
    """Refuse, changing nothing, when the actor's role does not carry `permission`."""
    if not allowed(actor, permission):
        raise PermissionDenied(f"{actor.full_name} ({actor.role.label}) may not {permission.value}. "
                               f"Ask a colleague whose role allows it.")
