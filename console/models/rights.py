"""Security rights: who may change the security settings of an account's users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models.arguments import checked_arguments
from console.models.context import ServiceContext
from console.models.db import retries_conflicts
from console.models.entities import Account, User
from console.models.enums import AccountKind, UserRole
from console.models.errors import RightsError, RuleViolation
from console.models.lookups import existing_user


def rights_holder(session: Session, account: Account) -> User | None:
    """The named holder of an organization account, otherwise the account's primary user."""
    if account.kind is AccountKind.organization and account.rights_holder_id is not None:
        return session.get(User, account.rights_holder_id)
    return session.scalars(select(User).where(User.account_id == account.id, User.role == UserRole.primary)
                           .order_by(User.id).limit(1)).first()


def holds_rights(session: Session, user: User) -> bool:
    holder = rights_holder(session, user.account)
    return holder is not None and holder.id == user.id


def require_open(user: User) -> None:
    """Nothing changes any more for a user of a closed account."""
    if user.account.closed_at is not None:
        raise RuleViolation(f"Account {user.account.number} was closed on {user.account.closed_at:%Y-%m-%d}; the "
                            f"security settings of {user.username} can no longer change.")


def require_rights(session: Session, user: User) -> None:
    """Stop, naming the holder, when `user` may not change security settings (or its account is closed).
    Changes nothing."""
    require_open(user)
    holder = rights_holder(session, user.account)
    if holder is None or holder.id != user.id:
        raise RightsError(user.username, user.account.number,
                          holder.full_name if holder else None, holder.username if holder else None)


def name_rights_holder(session: Session, account: Account, user: User) -> None:
    """Only an organization account may give its security rights to a user other than the primary."""
    if user.account_id != account.id:
        raise RuleViolation(f"{user.username} is not a user of {account.number}; only one of its own users "
                            f"can hold its security rights.")
    if account.kind is not AccountKind.organization and user.role is not UserRole.primary:
        raise RuleViolation(f"{account.number} is an {account.kind.value} account: its security rights stay "
                            f"with its primary user.")
    account.rights_holder_id = user.id


@checked_arguments
@retries_conflicts
class RightsService:
    """The gate in front of every security-settings change."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def check(self, user_id: int) -> None:
        """Raise RightsError naming the holder when `user_id` may not change security settings."""

        with self.ctx.read() as s:
            user = existing_user(s, user_id)
            require_rights(s, user)
