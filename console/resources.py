"""Where the files of resources/ (icons, help, style, samples) are, for the views and the command line.

resources/ at the top of the checkout is their only source. The wheel carries a copy inside the package
(console/_resources, mapped in setup.py), so an installed console finds them without the checkout.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _locate() -> Path:
    installed = PACKAGE / "_resources"  # in a wheel install
    return installed if installed.is_dir() else PACKAGE.parent / "resources"  # a checkout or editable install


RESOURCES = _locate()


def resource_path(*parts: str) -> Path:
    """A file under resources/, e.g. resource_path("help", "charges.html")."""
    return RESOURCES.joinpath(*parts)


def icon_path(name: str) -> Path:
    """resources/icons/<name>.svg"""
    return RESOURCES / "icons" / f"{name}.svg"


def app_icon_path() -> Path:
    """The application's own icon (window, task bar, desktop entry)."""
    return RESOURCES / "sls-console.svg"
