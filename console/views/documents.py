"""Where save dialogs open: the staff member's documents folder (platformdirs), never the program's folder."""

from __future__ import annotations

from pathlib import Path

import platformdirs


def in_documents(file_name: str) -> str:
    """`file_name` in the user's documents folder, as a save dialog's starting path."""
    return str(Path(platformdirs.user_documents_dir()) / file_name)
