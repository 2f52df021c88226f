"""Where the files of resources/ (icons, help, style, samples) are, for the views and the command line."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """A file under resources/, e.g. resource_path("help", "charges.html")."""
    return RESOURCES.joinpath(*parts)


def icon_path(name: str) -> Path:
    """resources/icons/<name>.svg"""
    return RESOURCES / "icons" / f"{name}.svg"
