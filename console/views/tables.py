"""The console's list tables: whole-row single selection, fixed row heights, widths that follow the font."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QTableWidget

# Column widths are given in pixels at this average character width, and scaled to the real font.
REFERENCE_CHAR_WIDTH = 7


def list_table(model: QAbstractItemModel, name: str, accessible_name: str) -> QTableView:
    t = QTableView()
    t.setObjectName(name)
    t.setAccessibleName(accessible_name)
    t.setModel(model)
    t.setTabKeyNavigation(False)  # whole rows are chosen with the arrows; Tab goes on to the next part of the window
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.setAlternatingRowColors(True)
    t.verticalHeader().setVisible(False)
    # Fixed row heights: sizing rows to their contents reads every row of the model (docs/platform-notes.md).
    t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 8)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def set_column_widths(table: QTableView, widths: tuple[int, ...]) -> None:
    """Widths meant for a 7-pixel average character, scaled so columns still fit at 125% or 150%."""
    scale = table.fontMetrics().averageCharWidth() / REFERENCE_CHAR_WIDTH
    for i, width in enumerate(widths):
        table.setColumnWidth(i, round(width * max(scale, 1.0)))


def item_table(columns: tuple[str, ...], name: str, accessible_name: str) -> QTableWidget:
    """A short read-only list of a few rows (staff, a client's devices, requests): whole-row single selection,
    columns as wide as their contents, the last one taking the rest."""
    t = QTableWidget(0, len(columns))
    t.setObjectName(name)
    t.setAccessibleName(accessible_name)
    t.setHorizontalHeaderLabels(list(columns))
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setTabKeyNavigation(False)  # as list_table: Tab leaves the list
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t
