"""What each staff role may do, enforced by the services (the GUI only hides what is refused here)."""

from __future__ import annotations

import enum

from sqlalchemy.orm import Session

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
    prove_possession = "ask a client to prove possession of a device (challenges)"
    manage_sms = "issue and end SMS as a temporary device"
    review_sharing = "approve or reject sharing requests that wait for compliance"
    add_demo_data = "add demo data to a database that has staff"


P = Permission
ROLE_PERMISSIONS: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.help_desk: frozenset({P.view, P.assist_enrollment, P.issue_temporary_access, P.unlock_device,
                                    P.manage_devices, P.manage_sms, P.prove_possession}),
    StaffRole.back_office: frozenset({P.view, P.manage_devices, P.manage_stock, P.receive_returns,
                                      P.waive_charges, P.run_overdue, P.import_data, P.export_data,
                                      P.unlock_device, P.close_accounts, P.prove_possession}),
    StaffRole.auditor: frozenset({P.view, P.export_data, P.verify_audit}),
    StaffRole.compliance: frozenset({P.view, P.review_sharing}),
    StaffRole.administrator: frozenset(Permission),
}


# The automatic start-up run (sessions.automatic_run) may do these and nothing else.
AUTOMATIC_RUN_PERMISSIONS = frozenset({P.run_overdue, P.issue_temporary_access})


def allowed(actor: Actor, permission: Permission) -> bool:
    """What the actor's role allowed at sign-in: for showing or hiding actions. Services call require()."""
    return permission in ROLE_PERMISSIONS[actor.role]


def require(s: Session, actor: Actor, permission: Permission) -> None:
    """Refuse, changing nothing, unless `actor` is a valid open session (re-read in the service's own
    transaction `s`) of an active, unlocked staff member whose current role carries `permission`."""
    from console.models.sessions import check_session

    if not isinstance(s, Session):
        raise TypeError("require(s, actor, permission) runs inside the service's transaction: pass its session")
    member = check_session(s, actor)
    if member is None:  # the automatic start-up run
        if permission not in AUTOMATIC_RUN_PERMISSIONS:
            raise PermissionDenied(f"The automatic run may not {permission.value}.")
        return
    if permission not in ROLE_PERMISSIONS[member.role]:
        raise PermissionDenied(f"{member.full_name} ({member.role.label}) may not {permission.value}. "
                               f"Ask a colleague whose role allows it.")


def current_role(s: Session, actor: Actor) -> StaffRole:
    """The role the actor's staff row holds now (after the same session check as require())."""
    from console.models.sessions import check_session

    member = check_session(s, actor)
    return StaffRole.administrator if member is None else member.role
