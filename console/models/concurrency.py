"""Optimistic concurrency: a desk acting on what it showed is refused when another desk changed it since."""

from __future__ import annotations

from typing import Protocol

from console.models.errors import ConcurrentChange


class Versioned(Protocol):
    """An entity carrying the version counter every write bumps."""

    version: int


def require_version(row: Versioned, expected_version: int | None, what: str) -> None:
    """Refuse, changing nothing, when `row` (a versioned entity loaded in the write transaction) is no
    longer at the version the desk displayed. None means the caller has no displayed copy to compare."""
    if expected_version is not None and row.version != expected_version:
        raise ConcurrentChange(
            f"Another desk changed {what} while you were working on it. The view has been refreshed with the "
            f"current state; check it and try again.")
