"""The monthly report: the dashboard's figures for one month, who produced it and the audit chain's head.

The file is written beside its destination under a temporary name, the audit entry is committed, and only
then is the file moved into place: no report exists without its record.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from console.models import audit
from console.models.context import Actor, ServiceContext
from console.models.db import retries_conflicts
from console.models.entities import AuditHead
from console.models.errors import InvalidInput
from console.models.firm import firm_name
from console.models.insight import InsightService, Panel, month_bounds
from console.models.permissions import Permission, require

FORMATS = ("pdf", "csv")


@dataclass(frozen=True)
class Report:
    month: str  # YYYY-MM
    first_day: dt.date
    last_day: dt.date
    firm: str
    produced_at: dt.datetime
    produced_by: str  # "Full Name (username, Role)"
    audit_head_hash: str
    audit_entries: int
    panels: tuple[Panel, ...]

    @property
    def title(self) -> str:
        return f"SLS monthly report {self.month}"


@dataclass(frozen=True)
class ReportResult:
    path: str
    format: str
    sha256: str
    audit_entry_id: int


def write_csv(report: Report, path: Path) -> None:
    """One row per figure: panel, series, category, value (money in USD with cents)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("report", report.title))
        w.writerow(("firm", report.firm))
        w.writerow(("period", f"{report.first_day.isoformat()} to {report.last_day.isoformat()}"))
        w.writerow(("produced_by", report.produced_by))
        w.writerow(("produced_at", report.produced_at.isoformat(timespec="seconds")))
        w.writerow(("audit_head_hash", report.audit_head_hash))
        w.writerow(("audit_entries", report.audit_entries))
        w.writerow(())
        w.writerow(("panel", "series", "category", "value", "unit"))
        for panel in report.panels:
            for series in panel.series:
                for category, figure in zip(panel.categories, series.figures, strict=True):
                    value = f"{figure.value / 100:.2f}" if panel.unit == "cents" else figure.value
                    w.writerow((panel.title, series.name, category, value,
                                "USD" if panel.unit == "cents" else "count"))


Renderer = Callable[[Report, Path], None]


@retries_conflicts
class ReportService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.insight = InsightService(ctx)

    def build(self, actor: Actor, month: str) -> Report:
        """The figures of `month` the actor may see; figures of the present (states, devices) are as of now."""
        with self.ctx.db.read() as s:
            require(s, actor, Permission.export_data)
        first, next_month = month_bounds(month)
        now = self.ctx.clock.now()
        if first > now.date():
            raise InvalidInput(f"{month} has not begun yet; choose this month or an earlier one.")
        last = min(next_month - dt.timedelta(days=1), now.date())
        panels = self.insight.panels(actor, first, last)
        with self.ctx.db.read() as s:
            head = s.get(AuditHead, 1)
            head_hash, count = (head.last_hash, head.count) if head else (audit.GENESIS_HASH, 0)
        return Report(f"{first:%Y-%m}", first, last, firm_name(), now,
                      f"{actor.full_name} ({actor.username}, {actor.role.label})", head_hash, count, tuple(panels))

    def produce(self, actor: Actor, month: str, path: str | Path, render_pdf: Renderer | None = None) -> ReportResult:
        """Write the report to `path` (PDF through `render_pdf`, or CSV by the file's extension), recorded first."""
        report_format(path)
        report = self.build(actor, month)
        partial = self.draft(report, path, render_pdf)
        try:
            return self.publish(actor, report, partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def draft(self, report: Report, path: str | Path, render_pdf: Renderer | None = None) -> Path:
        """Write the file under a temporary name beside `path` (a window draws it on its own thread); returns it."""
        path = Path(path)
        fmt = report_format(path)
        writer = write_csv if fmt != "pdf" else render_pdf
        if writer is None:
            raise InvalidInput("A PDF report needs the console's drawing support; write a .csv instead.")
        partial = path.with_name(f".{path.name}.part")
        try:
            writer(report, partial)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise InvalidInput(f"The report could not be written to {path} ({exc.strerror or exc}). "
                               f"Choose a folder you may write to.") from None
        return partial

    def publish(self, actor: Actor, report: Report, partial: Path, path: str | Path) -> ReportResult:
        """Record the drafted file in the audit trail (with its SHA-256), then move it into place."""
        path = Path(path)
        fmt = report_format(path)
        digest = hashlib.sha256(partial.read_bytes()).hexdigest()
        with self.ctx.db.write() as s:
            require(s, actor, Permission.export_data)
            entry = audit.record(s, at=self.ctx.clock.now(), actor=actor.username, action="report.produced",
                                 summary=f"Monthly report {report.month} ({fmt.upper()}) written to {path.name}",
                                 details={"month": report.month, "format": fmt, "file": path.name,
                                          "sha256": digest, "audit_head_hash": report.audit_head_hash,
                                          "panels": [p.key for p in report.panels]})
            entry_id = entry.id
        try:
            os.replace(partial, path)
        except OSError as exc:
            raise InvalidInput(f"The report was recorded (audit entry {entry_id}) but could not be moved to {path} "
                               f"({exc.strerror or exc}).") from None
        return ReportResult(str(path), fmt, digest, entry_id)


def report_format(path: str | Path) -> str:
    """'pdf' or 'csv' from the file's name; anything else is refused before any work is done."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(f"{path.name}: a report is written as .pdf or .csv.")
    return fmt
