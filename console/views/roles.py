"""Showing only what the signed-in staff member's role allows: forbidden actions disabled and hidden.

The model layer refuses them anyway (permissions.require); this keeps the window honest about it.
Tag an action with `requires(action, Permission.X, ...)` where it is built (any one of the permissions
allows it), or list its objectName in ACTION_PERMISSIONS; then call `apply_role(window, actor)`.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from console.models.context import Actor
from console.models.permissions import Permission, allowed

P = Permission
# Actions of the main window (and of other screens, by objectName) and the permissions that allow them.
ACTION_PERMISSIONS: dict[str, tuple[Permission, ...]] = {
    "changeSecuritySettings": (P.assist_enrollment, P.manage_devices),
    "optIn": (P.assist_enrollment,),
    "optOut": (P.assist_enrollment,),
    "issueTemporaryPasscode": (P.issue_temporary_access,),
    "issueOnlineCard": (P.issue_temporary_access,),
    "unlockDevice": (P.unlock_device,),
    "assignDevice": (P.manage_devices,),
    "shareDevice": (P.manage_devices,),
    "replaceDevice": (P.manage_devices,),
    "reportDevice": (P.manage_devices,),
    "receiveStock": (P.manage_stock,),
    "shipDevice": (P.manage_stock,),
    "receiveReturn": (P.receive_returns,),
    "waiveCharge": (P.waive_charges,),
    "runOverdue": (P.run_overdue,),
    "importData": (P.import_data,),
    "exportData": (P.export_data,),
    "exportAuditCsv": (P.export_data,),
    "verifyAudit": (P.verify_audit,),
    "editSettings": (P.change_settings,),
    "manageStaff": (P.manage_staff,),
    "rotateKey": (P.rotate_key,),
}
TAG = "slsPermissions"


def requires(action: QAction, *permissions: Permission) -> QAction:
    """Tag `action` with the permissions that allow it (any one suffices)."""
    action.setProperty(TAG, ",".join(p.name for p in permissions))
    return action


def permissions_for(action: QAction) -> tuple[Permission, ...] | None:
    tagged = action.property(TAG)
    if tagged:
        return tuple(Permission[name] for name in str(tagged).split(","))
    return ACTION_PERMISSIONS.get(action.objectName())


def action_allowed(actor: Actor, action: QAction) -> bool:
    needed = permissions_for(action)
    return needed is None or any(allowed(actor, p) for p in needed)


def _keep_disabled(action: QAction) -> None:
    # Screens re-enable actions as the selection changes; a forbidden one switches itself straight back off.
    def on_changed() -> None:
        if action.isEnabled():
            action.setEnabled(False)
    action.changed.connect(on_changed)


def apply_role(window: QWidget, actor: Actor) -> list[QAction]:
    """Disable and hide every action under `window` that `actor`'s role does not allow; returns them."""
    forbidden = []
    for action in window.findChildren(QAction):
        if action_allowed(actor, action):
            continue
        needed = permissions_for(action) or ()
        action.setEnabled(False)
        action.setVisible(False)
        action.setStatusTip(f"Your role ({actor.role.label}) may not {needed[0].value}.")
        _keep_disabled(action)
        forbidden.append(action)
    return forbidden
