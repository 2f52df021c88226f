"""Composition root: builds the database, the services and (for the GUI) the main window."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from console.models.audit_log import AuditLog
from console.models.clock import Clock, SystemClock
from console.models.context import Actor, ServiceContext
from console.models.db import Database, default_database_url
from console.models.directory import UserDirectory
from console.models.rights import RightsService
from console.models.schema import upgrade
from console.models.staff import StaffService
from console.models.keys import default_store, unlock_box
from console.models.sealing import SecretBox
from console.models.verification import VerificationService

DATABASE_ENV = "SLS_CONSOLE_DATABASE_URL"
log = logging.getLogger("sls_console")


def database_url(cli_value: str | None) -> str:
    return cli_value or os.environ.get(DATABASE_ENV) or default_database_url()


def open_context(url: str, *, clock: Clock | None = None, box: SecretBox | None = None,
                 migrate: bool = True) -> ServiceContext:
    db = Database(url)
    if migrate:
        upgrade(db)
    clock = clock or SystemClock()
    # The key that seals this database: from the environment, the OS keyring or the owner-only key file,
    # checked against the key id the database records (and finishing an interrupted rotation).
    return ServiceContext(db=db, box=box or unlock_box(db, default_store(), clock), clock=clock)


@dataclass
class Services:
    """Every service the views use, built once and handed to each view's constructor."""

    ctx: ServiceContext
    actor: Actor
    directory: UserDirectory
    rights: RightsService
    verification: VerificationService
    staff: StaffService
    audit_log: AuditLog

    @classmethod
    def build(cls, ctx: ServiceContext, actor: Actor) -> "Services":
        return cls(ctx=ctx, actor=actor, directory=UserDirectory(ctx), rights=RightsService(ctx),
                   verification=VerificationService(ctx), staff=StaffService(ctx), audit_log=AuditLog(ctx))
