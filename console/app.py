"""Composition root: builds the database, the services and (for the GUI) the main window."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from console.models.accounts import AccountService
from console.models.audit_log import AuditLog
from console.models.charges import ChargeService
from console.models.clock import Clock, SystemClock
from console.models.context import Actor, ServiceContext
from console.models.db import Database, default_database_url
from console.models.devices import DeviceService
from console.models.directory import UserDirectory
from console.models.enrollment import EnrollmentService
from console.models.exporting import ExportService
from console.models.importing import ImportService
from console.models.insight import InsightService
from console.models.keys import default_store, unlock_box
from console.models.printed_cards import PrintedCardService
from console.models.reporting import ReportService
from console.models.returns import ReturnsService
from console.models.rights import RightsService
from console.models.schema import upgrade
from console.models.sealing import SecretBox
from console.models.sessions import automatic_run
from console.models.settings_service import SettingsService
from console.models.sharing_review import SharingReviewService
from console.models.sms import SmsService
from console.models.staff import StaffService
from console.models.temporary_access import TemporaryAccessService
from console.models.training import TrainingService
from console.models.verification import VerificationService
from console.models.work_list import WorkListService

DATABASE_ENV = "SLS_CONSOLE_DATABASE_URL"
log = logging.getLogger("sls_console")


def database_url(cli_value: str | None) -> str:
    return cli_value or os.environ.get(DATABASE_ENV) or default_database_url()


def open_context(url: str, *, clock: Clock | None = None, box: SecretBox | None = None,
                 migrate: bool = True) -> ServiceContext:
    db = Database(url)
    warn_exposed_files(db)
    if migrate:
        upgrade(db)
    clock = clock or SystemClock()
    # The key that seals this database: from the environment, the OS keyring or the owner-only key file,
    # checked against the key id the database records (and finishing an interrupted rotation).
    return ServiceContext(db=db, box=box or unlock_box(db, default_store(), clock), clock=clock)


def exposed_data_files(db: Database) -> list[str]:
    """Sentences for the database's files (and the console's data folder) that other users may read."""
    from pathlib import Path

    import platformdirs

    from console.models.file_checks import database_files, exposed_files

    name = db.engine.url.database
    database = Path(name) if db.is_sqlite and name not in (None, "", ":memory:") else None
    return exposed_files([*database_files(database), Path(platformdirs.user_data_dir("sls-console", "SLS"))])


def warn_exposed_files(db: Database) -> None:
    """At start-up: say which data files others may read, and the fix: in the log always, and on the terminal
    when a person watches it (a script reading the output gets only the command's own lines)."""
    import sys

    for sentence in exposed_data_files(db):
        log.warning(sentence)
        if sys.stderr is not None and sys.stderr.isatty():
            print(f"Warning: {sentence}", file=sys.stderr)


@dataclass
class Services:
    """Every service the views use, built once and handed to each view's constructor (never the database
    context itself: views reach the database only through these)."""

    actor: Actor
    database_name: str
    clock: Clock
    directory: UserDirectory
    rights: RightsService
    verification: VerificationService
    enrollment: EnrollmentService
    devices: DeviceService
    temporary_access: TemporaryAccessService
    returns: ReturnsService
    charges: ChargeService
    staff: StaffService
    audit_log: AuditLog
    importing: ImportService
    exporting: ExportService
    settings: SettingsService
    sms: SmsService
    printed_cards: PrintedCardService
    sharing_review: SharingReviewService
    insight: InsightService
    work_list: WorkListService
    reports: ReportService
    accounts: AccountService
    training: TrainingService

    @classmethod
    def build(cls, ctx: ServiceContext, actor: Actor) -> Services:
        ctx = ctx.for_desk(actor)  # the desk's reads check its session, as its writes do
        verification = VerificationService(ctx)
        return cls(actor=actor, database_name=ctx.db.display_name, clock=ctx.clock, directory=UserDirectory(ctx),
                   rights=RightsService(ctx),
                   verification=verification, enrollment=EnrollmentService(ctx),
                   devices=DeviceService(ctx, verification), temporary_access=TemporaryAccessService(ctx),
                   returns=ReturnsService(ctx), charges=ChargeService(ctx), staff=StaffService(ctx),
                   audit_log=AuditLog(ctx), importing=ImportService(ctx), exporting=ExportService(ctx),
                   settings=SettingsService(ctx), insight=InsightService(ctx), work_list=WorkListService(ctx),
                   reports=ReportService(ctx), accounts=AccountService(ctx), sms=SmsService(ctx),
                   printed_cards=PrintedCardService(ctx, verification), sharing_review=SharingReviewService(ctx),
                   training=TrainingService(ctx))


def run_startup_tasks(ctx: ServiceContext) -> str:
    """What the console does each time it starts: expire temporary access past its end (a user left without
    access moves to "no active device"), mark mailed devices past their activation window as required at login,
    and charge devices not returned in time. All safe to repeat (nothing is charged twice). Returns a line for
    the log."""
    with automatic_run(ctx.clock) as system:  # the only place the automatic run's actor exists
        expired = TemporaryAccessService(ctx).expire_due(system)
        late = DeviceService(ctx).require_late_activations(system)
        run = ReturnsService(ctx).charge_overdue(system)
    return (f"start-up: {expired} temporary device(s) expired; {late} mailed device(s) now required at login; "
            f"{run.charged} overdue device(s) charged, {run.already_charged} already charged")

