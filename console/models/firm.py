"""The firm's name as clients see it: on printed cards and as the issuer in the IB Key app."""

from __future__ import annotations

import os

FIRM_NAME_ENV = "SLS_FIRM_NAME"
DEFAULT_FIRM_NAME = "Example Brokerage"


def firm_name() -> str:
    return os.environ.get(FIRM_NAME_ENV, "").strip() or DEFAULT_FIRM_NAME
