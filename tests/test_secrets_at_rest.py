"""A copy of the database file gives an attacker no seed, card value, passcode or staff secret."""

import base64
import binascii
import glob

import pytest

from console.models import cards
from console.models.enums import DeviceKind, DeviceState, StaffRole
from console.models.key_rotation import KeyRotation
from console.models.keys import FileKeyStore
from tests.conftest import TEST_KEY
from tests.factories import add_device

PASSCODES = ("K7Q2M9XP", "ZT4RW8HN", "Q9V3C6LJ")
STAFF_PASSWORD = "correct horse battery"
CARD_SIZE = 20


def forms(secret: str) -> list[bytes]:
    """The ways a secret could leak into the file: as text (any case, UTF-16), decoded, hex."""
    out = [secret.encode(), secret.lower().encode(), secret.encode("utf-16-le")]
    try:
        raw = base64.b32decode(secret)
        out += [raw, binascii.hexlify(raw), base64.b64encode(raw)]
    except (binascii.Error, ValueError):
        pass
    return out


def file_bytes(db) -> bytes:
    db.dispose()  # checkpoint and close: the WAL, if any is left, is read too
    path = db.engine.url.database
    return b"".join(open(p, "rb").read() for p in sorted(glob.glob(path + "*")))


def test_database_file_holds_no_secret(ctx, db, world, staff_service, tmp_path, admin):
    """Search the raw bytes of the SQLite file (and its WAL) for every seed, card value, passcode and staff
    secret the test created, before and after a key rotation: none is found."""
    if not db.is_sqlite:
        pytest.skip("reads the SQLite file; PostgreSQL keeps its files on the server")
    seeds = [world.secondary_seed]
    with ctx.db.write() as s:
        for n in range(3):
            _, seed = add_device(s, ctx, None, DeviceKind.dsc_plus, DeviceState.in_stock, serial=f"DSC-{n:04d}")
            seeds.append(seed)
            _, seed = add_device(s, ctx, None, DeviceKind.ib_key, DeviceState.pending)
            seeds.append(seed)
        for p in PASSCODES:
            d, _ = add_device(s, ctx, None, DeviceKind.temporary_passcode, DeviceState.active)
            d.secret_salt = ctx.box.new_salt()
            d.secret_hash = ctx.box.lookup_hash(d.secret_salt, p)
    staff = [staff_service.add(admin, "alex", "Alex Admin", StaffRole.administrator, STAFF_PASSWORD)]
    secrets = ([f for seed in seeds for f in forms(seed)] + [f for p in PASSCODES for f in forms(p)]
               + [f for e in staff for f in forms(e.totp_secret)] + forms(STAFF_PASSWORD)
               + [TEST_KEY, base64.urlsafe_b64encode(TEST_KEY)])
    assert [x for x in secrets if x in file_bytes(db)] == []

    store = FileKeyStore(tmp_path / "master.key")
    store._write(store.path, [TEST_KEY])
    KeyRotation(ctx).rotate(admin, store)
    [new_key] = store.load()
    secrets += [new_key, base64.urlsafe_b64encode(new_key)]
    assert [x for x in secrets if x in file_bytes(db)] == []

    # Card values are only 3 characters, so the search must not be drowned by chance: keep values that
    # do not occur in the file already (e.g. "234" inside an account number), and add the card last so
    # that only its own few hundred hash bytes are new (a chance match is then about 1 in 1000).
    baseline = file_bytes(db)
    values = {}
    for position, value in cards.new_card_values(CARD_SIZE).items():
        while value.encode() in baseline or value in values.values():
            value = cards.new_card_values(1)[1]
        values[position] = value
    with ctx.db.write() as s:
        card, _ = add_device(s, ctx, None, DeviceKind.code_card, DeviceState.in_stock, serial="CARD-0001")
        card.secret_salt = ctx.box.new_salt()
        card.secret_hash = cards.card_hashes(ctx.box, card.secret_salt, values)
    final = file_bytes(db)
    assert [x for x in secrets if x in final] == []
    # A stored card would show all its values; a chance match shows one or two of 100 three-character values
    # in new random bytes (hashes, WAL checksums). So: no two neighbouring values together in any plain form,
    # and at most a few single values, by chance.
    ordered = [values[p] for p in sorted(values)]
    pairs = [(a + sep + b).encode(enc) for a, b in zip(ordered, ordered[1:], strict=False)
             for sep in ("", " ", ",", ";", "\t", '","') for enc in ("utf-8", "utf-16-le")]
    assert [x for x in pairs if x in final] == []
    singles = [v for v in ordered if v.encode() in final or v.encode("utf-16-le") in final]
    assert len(singles) < 5, singles
