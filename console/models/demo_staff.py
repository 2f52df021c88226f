"""The demo database's staff: one member per role sharing a known password, and how to sign in as them.
Only the demo data (`sls-console demo`, the first run on an empty database) and training use this."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from console.models.entities import Setting, StaffMember
from console.models.enums import StaffRole
from console.models.sealing import SealingError, staff_context
from console.models.staff import TOTP_INTERVAL, StaffEnrollment, StaffService

DEMO_PASSWORD = "demo-password-2026"
DEMO_STAFF = (
    ("admin", "Alex Admin", StaffRole.administrator),
    ("helpdesk", "Harriet Desk", StaffRole.help_desk),
    ("backoffice", "Bob Office", StaffRole.back_office),
    ("auditor", "Ada Auditor", StaffRole.auditor),
    ("compliance", "Carla Compliance", StaffRole.compliance),
)


def create_demo_staff(service: StaffService) -> list[StaffEnrollment]:
    """One staff member per role for a demo database (only when it has no staff yet); all share
    DEMO_PASSWORD, each has a TOTP secret of their own. Returns what to tell the person trying it out."""
    if service.has_staff():
        return []
    first_name, first_full, _ = DEMO_STAFF[0]
    first = service.add_first_administrator(first_name, first_full, DEMO_PASSWORD)
    # The new administrator signs in (its code at the current step) to add the others, then signs out.
    code = pyotp.TOTP(first.totp_secret, interval=TOTP_INTERVAL).at(service.ctx.clock.now())
    actor = service.sign_in(first.username, DEMO_PASSWORD, code)
    made = [first] + [service.add(actor, name, full, role, DEMO_PASSWORD) for name, full, role in DEMO_STAFF[1:]]
    service.sign_out(actor)
    with service.ctx.db.write() as s:
        # The demo admin's code of this step stays usable: the person trying the demo types it next.
        member = s.scalars(select(StaffMember).where(StaffMember.username == first.username)).one()
        member.last_time_step = None
        s.add(Setting(key=DEMO_FLAG, value="1", updated_at=service.ctx.clock.now(), updated_by=first.username))
    return made


# Marks a database whose staff were made by create_demo_staff: its sign-in screen may show their codes.
DEMO_FLAG = "demo_staff"


def demo_sign_in_hint(service: StaffService) -> str:
    """On a demo database, how to sign in right now: the demo password and each demo member's current code
    (the newcomer who missed the printed secrets can still get in). Empty on any other database."""
    ctx = service.ctx
    with ctx.db.read() as s:
        if s.get(Setting, DEMO_FLAG) is None:
            return ""
        names = [name for name, _, _ in DEMO_STAFF]
        members = s.scalars(select(StaffMember).where(StaffMember.username.in_(names),
                                                      StaffMember.active.is_(True))).all()
        codes = []
        for m in sorted(members, key=lambda m: names.index(m.username)):
            if m.sealed_totp_secret is None:
                continue
            try:
                secret = ctx.box.open(m.sealed_totp_secret, staff_context(m.id)).decode()
            except SealingError:
                continue
            codes.append(f"  {m.username:<11} {m.role.label:<14} code now {pyotp.TOTP(secret).at(ctx.clock.now())}")
    if not codes:
        return ""
    return "\n".join([f"Demo database: password for every demo staff member is {DEMO_PASSWORD}.", *codes,
                      "(Codes change every 30 seconds; each code signs in once.)"])


def sign_in_instructions(enrollments: list[StaffEnrollment], password: str = DEMO_PASSWORD) -> str:
    """How to sign in as each demo staff member: the password, and the TOTP secret to add to an authenticator
    app (or to compute a code with pyotp)."""
    lines = [f"Demo staff (password for all: {password}).",
             "Add a TOTP secret to an authenticator app, or get the current code with:",
             "  python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\""]
    for e in enrollments:
        lines.append(f"  {e.username:<11} {e.role.label:<14} TOTP secret {e.totp_secret}")
    return "\n".join(lines)
