"""Optimistic concurrency: a desk acting on what it showed is refused when another desk changed it since."""

from __future__ import annotations

from console.models.errors import ConcurrentChange


def require_version(row, expected_version: int | None, what: str) -> None:
    """Refuse, changing nothing, when `row` (a versioned entity loaded in the write transaction) is no
    longer at the version the desk displayed. None means the caller has no displayed copy to compare."""
    if expected_version is not None and row.version != expected_version:
        raise ConcurrentChange(
            f"Another desk changed {what} while you were working on it. The view has been refreshed with the "
            f"current state; check it and try again.")
