"""Small, explicit worlds for tests: an account, its primary user, a secondary, their devices."""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass

from console.models import vault
from console.models.context import ServiceContext
from console.models.entities import Account, DeviceHolding, Person, Reserve, SecurityDevice, User, UserRestriction
from console.models.enums import OPT_OUT_RESTRICTIONS, AccountKind, DeviceKind, DeviceState, SlsState, UserRole


def add_person(s, name: str, **identity) -> Person:
    p = Person(full_name=name, date_of_birth=identity.pop("date_of_birth", dt.date(1980, 5, 17)),
               citizenship="US", country_of_residence="US", id_document_type="passport",
               id_document_number=identity.pop("id_document_number", f"P{abs(hash(name)) % 10**8:08d}"),
               ssn=identity.pop("ssn", None), **identity)
    s.add(p)
    s.flush()
    return p


def add_account(s, ctx: ServiceContext, number: str, kind: AccountKind = AccountKind.individual,
                title: str = "Test account", equity_cents: int = 100_000_00) -> Account:
    a = Account(number=number, kind=kind, title=title, created_at=ctx.clock.now(), equity_cents=equity_cents)
    s.add(a)
    s.flush()
    return a


def add_user(s, ctx: ServiceContext, account: Account, person: Person, username: str,
             role: UserRole = UserRole.primary, state: SlsState = SlsState.opted_out) -> User:
    u = User(username=username, full_name=person.full_name, name_key=person.full_name.lower(), account=account,
             person=person, role=role, sls_state=state, active_devices=0, created_at=ctx.clock.now())
    s.add(u)
    s.flush()
    if state is SlsState.opted_out:
        for r in OPT_OUT_RESTRICTIONS:
            s.add(UserRestriction(user=u, restriction=r, imposed_at=ctx.clock.now()))
    return u


def add_device(s, ctx: ServiceContext, user: User | None, kind: DeviceKind = DeviceKind.ib_key,
               state: DeviceState = DeviceState.active, seed: str | None = None, serial: str | None = None,
               preferred: bool = True) -> tuple[SecurityDevice, str | None]:
    """A device (optionally held by `user`); returns it with its plain seed for computing codes in tests."""
    d = SecurityDevice(kind=kind, state=state, serial=serial, account_id=user.account_id if user else None,
                       issued_at=ctx.clock.now(),
                       activated_at=ctx.clock.now() if state is DeviceState.active else None)
    s.add(d)
    s.flush()
    if kind in (DeviceKind.ib_key, DeviceKind.dsc_plus):
        seed = seed or base64.b32encode(os.urandom(20)).decode()
        vault.store_seed(s, ctx.box, d, seed)
    if user is not None:
        s.add(DeviceHolding(user=user, device=d, preferred=preferred, since=ctx.clock.now()))
        if state is DeviceState.active:
            user.active_devices += 1
        if kind.is_hardware:  # a card out with a client is held against a reserve equal to its fee
            from console.models.returns import fee_for
            from console.models.settings import load_figures

            s.add(Reserve(account_id=user.account_id, device_id=d.id, amount_cents=fee_for(kind, load_figures(s)),
                          held_at=ctx.clock.now()))
    s.flush()
    return d, seed


@dataclass
class World:
    """One individual account U1234567: Jane Smith (jsmit001, primary, opted out) and
    John Smith (jsmit123, secondary, enrolled with an IB Key); an organization U7654321 whose named
    rights holder is its secondary user."""

    account_id: int
    primary_id: int
    secondary_id: int
    secondary_device_id: int
    secondary_seed: str
    org_account_id: int
    org_primary_id: int
    org_holder_id: int


def build_world(ctx: ServiceContext) -> World:
    with ctx.db.write() as s:
        acct = add_account(s, ctx, "U1234567", title="Jane Smith")
        jane = add_person(s, "Jane Smith")
        john = add_person(s, "John Smith")
        primary = add_user(s, ctx, acct, jane, "jsmit001", UserRole.primary, SlsState.opted_out)
        secondary = add_user(s, ctx, acct, john, "jsmit123", UserRole.secondary, SlsState.enrolled)
        device, seed = add_device(s, ctx, secondary, DeviceKind.ib_key)
        org = add_account(s, ctx, "U7654321", AccountKind.organization, "Acme Capital LLC")
        alice = add_person(s, "Alice Archer")
        bob = add_person(s, "Bob Baker")
        org_primary = add_user(s, ctx, org, alice, "aarch001", UserRole.primary, SlsState.enrolled)
        add_device(s, ctx, org_primary, DeviceKind.ib_key)
        org_holder = add_user(s, ctx, org, bob, "bbake001", UserRole.secondary, SlsState.opted_out)
        org.rights_holder_id = org_holder.id
        s.flush()
        return World(acct.id, primary.id, secondary.id, device.id, seed, org.id, org_primary.id, org_holder.id)


def add_same_person_username(ctx: ServiceContext, user_id: int, username: str, account_number: str,
                             kinds: tuple[DeviceKind, ...] = (DeviceKind.ib_key,)) -> dict:
    """Another username of the person behind `user_id`, in a new account, enrolled with devices of `kinds`
    (first preferred); a card's "seed" is its dict of printed values. Its person row is a separate entity with
    the same identification data, as happens when one person opens a second account.
    Returns {"user_id", "account_id", "devices": [(id, kind, seed)]}."""
    with ctx.db.write() as s:
        person = s.get(User, user_id).person
        acct = add_account(s, ctx, account_number, title=f"{person.full_name} (second account)")
        twin = add_person(s, person.full_name, date_of_birth=person.date_of_birth,
                          id_document_number=person.id_document_number, ssn=person.ssn)
        other = add_user(s, ctx, acct, twin, username, UserRole.primary, SlsState.enrolled)
        devices = []
        for i, kind in enumerate(kinds):
            d, seed = add_device(s, ctx, other, kind, serial=f"{kind.name.upper()}-{username}-{i}",
                                 preferred=i == 0)
            if kind in (DeviceKind.code_card, DeviceKind.online_code_card):
                from console.models.cards import new_card_values, store_card

                seed = new_card_values(100)  # the printed values, for answering challenges in tests
                store_card(s, ctx.box, d, seed)
            devices.append((d.id, kind, seed))
        return {"user_id": other.id, "account_id": acct.id, "devices": devices}


def user_snapshot(ctx: ServiceContext, user_id: int) -> tuple:
    """Everything an opt-in or opt-out may change about a user: state, holdings (with device state), restrictions
    in force, active-device count. Equal snapshots mean "left as it was"."""
    from sqlalchemy import select

    with ctx.db.read() as s:
        u = s.get(User, user_id)
        holdings = sorted((h.device_id, h.preferred, h.device.state.name)
                          for h in s.scalars(select(DeviceHolding).where(DeviceHolding.user_id == user_id)))
        restrictions = sorted(r.restriction.name for r in s.scalars(
            select(UserRestriction).where(UserRestriction.user_id == user_id, UserRestriction.lifted_at.is_(None))))
        return u.sls_state, holdings, restrictions, u.active_devices
