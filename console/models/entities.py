"""SQLAlchemy 2.x typed entities: accounts, persons, users, devices, holdings, charges, audit, staff."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from console.models.enums import (
    AccountKind,
    ChargeKind,
    ChargeStatus,
    DeviceKind,
    DeviceState,
    Restriction,
    ReturnReason,
    SharingRequestState,
    SlsState,
    StaffRole,
    UserRole,
)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(dt.UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _enum(cls: type[enum.Enum], name: str, length: int = 40) -> Enum:
    # Stored by name, as a plain string column (no native ENUM type), so adding a member needs no DDL.
    return Enum(cls, name=name, native_enum=False, create_constraint=False, length=length,
                values_callable=lambda e: [m.name for m in e])


class Base(DeclarativeBase):
    pass


def table_of(entity: type[Base]) -> Table:
    """The Table an entity maps (SQLAlchemy types `__table__` as any FromClause)."""
    table = entity.__table__
    assert isinstance(table, Table)
    return table


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[AccountKind] = mapped_column(_enum(AccountKind, "account_kind"))
    title: Mapped[str] = mapped_column(String(200))
    # Organization accounts may name a holder of the security rights other than the primary user.
    rights_holder_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, name="fk_accounts_rights_holder"), index=True)
    equity_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # Set when the account is closed (accounts.py): its users' holdings ended, unreturned devices charged.
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    users: Mapped[list[User]] = relationship(back_populates="account", foreign_keys="User.account_id")
    rights_holder: Mapped[User | None] = relationship(foreign_keys=[rights_holder_id], post_update=True)

    __mapper_args__ = {"version_id_col": version}


class Person(Base):
    """The natural person behind one or more usernames, with the data that identifies them."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    citizenship: Mapped[str | None] = mapped_column(String(2))
    country_of_residence: Mapped[str | None] = mapped_column(String(2))
    id_document_type: Mapped[str | None] = mapped_column(String(32))
    id_document_number: Mapped[str | None] = mapped_column(String(64))
    ssn: Mapped[str | None] = mapped_column(String(16))

    users: Mapped[list[User]] = relationship(back_populates="person")

    def same_identity_as(self, other: Person) -> bool:
        """Two entities are one person when their identification data match (docs/domain-facts.md, sharing rule 1)."""
        if self.id == other.id:
            return True
        if self.ssn and self.ssn == other.ssn:
            return True
        keys = ("date_of_birth", "citizenship", "country_of_residence", "id_document_type", "id_document_number")
        mine = tuple(getattr(self, k) for k in keys)
        return all(v is not None for v in mine) and mine == tuple(getattr(other, k) for k in keys)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # Lower-cased copy of full_name so name-prefix filters are index range scans.
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    role: Mapped[UserRole] = mapped_column(_enum(UserRole, "user_role"), index=True)
    sls_state: Mapped[SlsState] = mapped_column(_enum(SlsState, "sls_state"), index=True)
    # Kept by the services whenever a holding or a device state changes; lets the list sort by it.
    active_devices: Mapped[int] = mapped_column(Integer, default=0, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    account: Mapped[Account] = relationship(back_populates="users", foreign_keys=[account_id])
    person: Mapped[Person] = relationship(back_populates="users")
    holdings: Mapped[list[DeviceHolding]] = relationship(back_populates="user", cascade="all, delete-orphan")
    restrictions: Mapped[list[UserRestriction]] = relationship(back_populates="user", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_users_state_username", "sls_state", "username"),
        # The list filtered by state, sorted by any column, reads one of these in order (migration 0003).
        Index("ix_users_state_name", "sls_state", "name_key"),
        Index("ix_users_state_role", "sls_state", "role"),
        Index("ix_users_state_devices", "sls_state", "active_devices"),
        # With the id on PostgreSQL (migration 0014), Find's account-number range reads no users rows.
        Index("ix_users_account_username", "account_id", "username", postgresql_include=["id"]),
    )


class UserWord(Base):
    """Each word of a user's name with the username, kept by database triggers (migration 0012): Find reads the
    users whose name has a word starting with the text from this key alone, already in username order."""

    __tablename__ = "user_words"

    word: Mapped[str] = mapped_column(String(200), primary_key=True)
    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)

    __table_args__ = {"sqlite_with_rowid": False}


class UserAccountNumber(Base):
    """Each user with its account's number and the username, kept by database triggers (migration 0016): Find
    reads the users of the accounts whose number starts with the text from this key alone, already in username
    order, instead of looking up each account's users."""

    __tablename__ = "user_account_numbers"

    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)

    __table_args__ = {"sqlite_with_rowid": False}


class UserStateCount(Base):
    """Users per SLS state, kept by database triggers (migration 0003): the list's counts without a scan.

    Substring search uses the users_fts table (SQLite FTS5 trigram) or pg_trgm indexes, also from 0003.
    """

    __tablename__ = "user_state_counts"

    sls_state: Mapped[SlsState] = mapped_column(_enum(SlsState, "sls_state"), primary_key=True)
    users: Mapped[int] = mapped_column(BigInteger)


class UserRestriction(Base):
    """A restriction imposed on a user; lifted_at set when it no longer applies (history kept)."""

    __tablename__ = "user_restrictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    restriction: Mapped[Restriction] = mapped_column(_enum(Restriction, "restriction"))
    imposed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(back_populates="restrictions")


class OptOutAcknowledgement(Base):
    """The client's written acknowledgement of the opt-out risks, with who recorded it and when."""

    __tablename__ = "opt_out_acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    acknowledged_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))
    statement: Mapped[str] = mapped_column(Text)


class SecurityDevice(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DeviceKind] = mapped_column(_enum(DeviceKind, "device_kind"), index=True)
    serial: Mapped[str | None] = mapped_column(String(64), unique=True)
    state: Mapped[DeviceState] = mapped_column(_enum(DeviceState, "device_state"), index=True)
    # The seed (IB Key, DSC+) and the hashes of a card's values or a passcode: never in clear, kept and checked
    # only through console/models/vault.py. Deferred: on PostgreSQL the desks' role may not read them.
    sealed_secret: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    secret_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Last accepted TOTP time step: a code at or before it is a replay.
    last_time_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The account the device (and its reserve, fee, return) is booked to.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), index=True)
    received_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    activation_due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # A mailed device not activated within its window is required at login from then on (set by the start-up
    # run); activating it afterwards is allowed and audited as late.
    required_at_login_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    # Temporary passcode: full access until this time, then portal-only until expires_at.
    full_access_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    return_due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    returned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # Stored by name in the VARCHAR(64) it always had (migration 0004 converted the free text of before).
    return_reason: Mapped[ReturnReason | None] = mapped_column(_enum(ReturnReason, "return_reason", length=64))
    # SMS: the number codes are texted to (international form, +digits).
    phone: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)

    holdings: Mapped[list[DeviceHolding]] = relationship(back_populates="device", cascade="all, delete-orphan")
    account: Mapped[Account | None] = relationship()
    replaces: Mapped[SecurityDevice | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}


class DeviceHolding(Base):
    """A user holding a device. Several users may hold one device (sharing); one user several (M2FS)."""

    __tablename__ = "device_holdings"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    since: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(back_populates="holdings")
    device: Mapped[SecurityDevice] = relationship(back_populates="holdings")

    __table_args__ = (UniqueConstraint("user_id", "device_id", name="uq_holding_user_device"),)


class Challenge(Base):
    """A challenge the console showed for one device: card positions or a DSC+ number. Answered once."""

    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # PostgreSQL: a texted code's hash, kept by the vault where the desks' role cannot read it (migration 0015).
    secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)


class SharingRequest(Base):
    """A share proven with the owner's device that waits for a compliance reviewer's decision."""

    __tablename__ = "sharing_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    state: Mapped[SharingRequestState] = mapped_column(_enum(SharingRequestState, "sharing_request_state"),
                                                       index=True)
    # Why it waits (e.g. "different entities with matching identification data").
    why_review: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    requested_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    user: Mapped[User] = relationship()
    device: Mapped[SecurityDevice] = relationship()

    __mapper_args__ = {"version_id_col": version}


class Charge(Base):
    __tablename__ = "charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), index=True)
    kind: Mapped[ChargeKind] = mapped_column(_enum(ChargeKind, "charge_kind"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[ChargeStatus] = mapped_column(_enum(ChargeStatus, "charge_status"), index=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    waived_reason: Mapped[str | None] = mapped_column(Text)
    waived_by: Mapped[str | None] = mapped_column(String(64))
    waived_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    account: Mapped[Account] = relationship()
    device: Mapped[SecurityDevice | None] = relationship()

    __mapper_args__ = {"version_id_col": version}
    # One "not returned" charge per device at most: the overdue run can be repeated safely.
    __table_args__ = (Index("uq_charge_device_kind", "device_id", "kind", unique=True),)


class Reserve(Base):
    """An amount held on the account while a hardware device is out (equal to its replacement fee)."""

    __tablename__ = "reserves"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    held_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """Append-only, hash-chained record of every security change."""

    __tablename__ = "audit_entries"

    # Sequence number assigned under the chain-head lock: gap-free, so a deleted entry shows.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    device_id: Mapped[int | None] = mapped_column(Integer, index=True)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """Single row holding the chain's head; locked by each writer so two desks never fork the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class StaffMember(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole, "staff_role"))
    password_hash: Mapped[str] = mapped_column(String(200))
    sealed_totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    last_time_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_signins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class StaffSession(Base):
    """One sign-in: the console holds the random token, the database only its SHA-256. Every service call
    checks it (not ended, not idle too long) together with the staff member's current row."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(40))


class Setting(Base):
    """A figure from docs/domain-facts.md that the firm may change (validity days, fees, limits)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class AuditDayCount(Base):
    """Audit entries per UTC day, action, staff member and opt-in path: the dashboard's history without a scan.

    Kept by audit.record and audit.chain_rows in the transaction that writes the entries (see activity_counts).
    """

    __tablename__ = "audit_day_counts"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    action: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), primary_key=True)
    # How a user enrolled (ib_key, card, shared, dsc_plus, other); '' for every other action.
    path: Mapped[str] = mapped_column(String(16), primary_key=True, default="")
    entries: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_audit_day_counts_actor_day", "actor", "day"),)


class DeviceCount(Base):
    """Devices per kind, state and lock, kept by database triggers (migration 0010) like user_state_counts."""

    __tablename__ = "device_counts"

    kind: Mapped[DeviceKind] = mapped_column(_enum(DeviceKind, "device_kind"), primary_key=True)
    state: Mapped[DeviceState] = mapped_column(_enum(DeviceState, "device_state"), primary_key=True)
    locked: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    devices: Mapped[int] = mapped_column(BigInteger)


# Indexes the dashboard and work list read (migration 0010): charges by month, temporary access in force (kind,
# state, end), shipped cards by deadline (with the shipping date: no table read), returns by due date, and locked
# devices (a partial index: only the few locked rows).
Index("ix_charges_created_at", Charge.created_at)
Index("ix_charges_waived_at", Charge.waived_at)
Index("ix_devices_kind_state_expires", SecurityDevice.kind, SecurityDevice.state, SecurityDevice.expires_at)
Index("ix_devices_state_activation_due", SecurityDevice.state, SecurityDevice.activation_due_at,
      SecurityDevice.shipped_at)
Index("ix_devices_state_return_due", SecurityDevice.state, SecurityDevice.return_due_at)
Index("ix_devices_locked", SecurityDevice.id, sqlite_where=text("locked = 1"), postgresql_where=text("locked"))
