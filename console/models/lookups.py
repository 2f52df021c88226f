"""The rows services act on, found by id or refused with the sentence staff see (the list may be stale)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from console.models.db import is_row_id
from console.models.entities import User
from console.models.errors import NotFound


def existing_user(s: Session, user_id: int) -> User:
    """The user, or NotFound when another desk removed it (or the id could name no row at all)."""
    user = s.get(User, user_id) if is_row_id(user_id) else None
    if user is None:
        raise NotFound(f"User #{user_id} no longer exists; refresh the list.")
    return user
