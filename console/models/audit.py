"""The audit trail: append-only entries, each chained to the one before by a SHA-256 hash."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import activity_counts, staff_states
from console.models.entities import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64


def canonical_bytes(entry_id: int, at: dt.datetime, actor: str, action: str, account_id: int | None,
                    user_id: int | None, device_id: int | None, summary: str, details: str,
                    prev_hash: str) -> bytes:
    """Every field of an entry, in a fixed order and encoding, so the hash covers all of it."""
    at_utc = at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    fields = [entry_id, at_utc, actor, action, account_id, user_id, device_id, summary, details, prev_hash]
    return _CANONICAL.encode(fields).encode("utf-8")


# Same output as json.dumps(fields, ensure_ascii=False, separators=(",", ":")), without building an encoder
# per call (a third of the cost of hashing a million entries in a bulk load or a verify).
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def entry_hash_of(e: AuditEntry | Any) -> str:
    return hashlib.sha256(canonical_bytes(e.id, e.at, e.actor, e.action, e.account_id, e.user_id,
                                          e.device_id, e.summary, e.details, e.prev_hash)).hexdigest()


def _head(session: Session) -> AuditHead:
    # FOR UPDATE serialises writers on PostgreSQL; on SQLite the write transaction is already IMMEDIATE.
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_id=0, last_hash=GENESIS_HASH, count=0)
        session.add(head)
        session.flush()
    return head


def record(session: Session, *, at: dt.datetime, actor: str, action: str, summary: str,
           account_id: int | None = None, user_id: int | None = None, device_id: int | None = None,
           details: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction: it commits or rolls back with the change it records."""
    session.flush()  # ids of new rows the entry refers to
    changed_staff = staff_states.take_pending(session)
    if changed_staff:  # staff rows changed in this transaction: their new states go under the chain
        details = {**(details or {}), staff_states.DETAILS_KEY: changed_staff}
    head = _head(session)
    entry = AuditEntry(
        id=head.last_id + 1, at=at, actor=actor, action=action, account_id=account_id, user_id=user_id,
        device_id=device_id, summary=summary,
        details=json.dumps(details or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           default=str),
        prev_hash=head.last_hash,
    )
    entry.entry_hash = entry_hash_of(entry)
    session.add(entry)
    head.last_id = entry.id
    head.last_hash = entry.entry_hash
    head.count = head.count + 1
    activity_counts.add(session, [activity_counts.key_of(at, actor, action, details)])
    session.flush()
    session.info.setdefault("audit_ids", []).append(entry.id)  # the change watcher skips this desk's own
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head_hash: str
    problem: str | None = None
    bad_entry_id: int | None = None
    staff_member: str | None = None  # a staff row that differs from its last audited state


_ENTRY_COLUMNS = (AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.account_id,
                  AuditEntry.user_id, AuditEntry.device_id, AuditEntry.summary, AuditEntry.details,
                  AuditEntry.prev_hash, AuditEntry.entry_hash)


def _entries(session: Session, batch: int) -> Iterator[Any]:
    # Keyset batches of plain rows (no ORM identity map): constant memory over millions of entries, and
    # about three times the rate of loading AuditEntry objects.
    last = 0
    while True:
        rows = session.execute(select(*_ENTRY_COLUMNS).where(AuditEntry.id > last)
                               .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the chain; name the first entry that was changed, removed or inserted."""
    prev_hash = GENESIS_HASH
    expected_id = 1
    count = 0
    head = session.get(AuditHead, 1)
    head_count = head.count if head else 0
    head_hash = head.last_hash if head else GENESIS_HASH
    recorded: dict[str, tuple[str, int]] = {}  # staff username -> (last audited state, its entry)
    for e in _entries(session, batch):
        if e.id > head_count and e.id == expected_id:
            return VerifyResult(False, count, prev_hash,
                                f"entry {e.id} was inserted after the recorded head of the chain", e.id)
        if e.id != expected_id:
            if e.id > expected_id:
                return VerifyResult(False, count, prev_hash,
                                    f"entry {expected_id} was removed (the chain jumps to entry {e.id})",
                                    expected_id)
            return VerifyResult(False, count, prev_hash, f"entry {e.id} was inserted out of order", e.id)
        if entry_hash_of(e) != e.entry_hash:
            return VerifyResult(False, count, prev_hash, f"entry {e.id} was changed (its hash does not match "
                                                         f"its contents)", e.id)
        if e.prev_hash != prev_hash:
            # Each entry's own hash checks out, so someone recomputed one: the entry before the broken link
            # was changed (or slipped in) with a forged hash, or this entry's link itself was rewritten.
            if e.id == 1:
                return VerifyResult(False, count, prev_hash, "entry 1 was changed (it does not start the chain)", 1)
            return VerifyResult(False, count, prev_hash,
                                f"entry {e.id - 1} was changed or inserted with a recomputed hash, or entry "
                                f"{e.id}'s link was rewritten (entry {e.id} no longer links to entry {e.id - 1})",
                                e.id - 1)
        if _STATE_MARK in e.details:  # read only from an entry whose hash and link hold
            _note_staff_states(recorded, e.details, e.id)
        prev_hash = e.entry_hash
        expected_id += 1
        count += 1
    if count > head_count:
        return VerifyResult(False, count, prev_hash,
                            f"entry {head_count + 1} was inserted after the recorded head of the chain",
                            head_count + 1)
    if count < head_count:
        return VerifyResult(False, count, prev_hash,
                            f"entry {count + 1} was removed (the chain head records {head_count} entries)",
                            count + 1)
    if head_hash != prev_hash:
        return VerifyResult(False, count, prev_hash, f"entry {count} does not match the recorded chain head",
                            count)
    return _staff_rows(session, recorded, count, prev_hash)


_STATE_MARK = f'"{staff_states.DETAILS_KEY}"'


def _note_staff_states(recorded: dict[str, tuple[str, int]], details: str, entry_id: int) -> None:
    parsed = json.loads(details)
    states = parsed.get(staff_states.DETAILS_KEY) if isinstance(parsed, dict) else None
    if isinstance(states, dict):
        for username, digest in states.items():
            recorded[username] = (digest, entry_id)


def _staff_rows(session: Session, recorded: dict[str, tuple[str, int]], count: int, head: str) -> VerifyResult:
    """Each staff row as the chain last recorded it; the first that differs, is missing or unknown is named."""
    current = staff_states.all_states(session)
    for username, digest in current.items():
        if username not in recorded:
            return VerifyResult(False, count, head, f"staff member {username} is not in the audit trail: the row "
                                                    f"was added outside the console", staff_member=username)
        audited, entry_id = recorded[username]
        if digest != audited:
            return VerifyResult(False, count, head,
                                f"staff member {username} was changed outside the console: the row (role, active, "
                                f"password, second factor or lock) differs from its state at entry {entry_id}",
                                entry_id, username)
    for username, (_digest, entry_id) in recorded.items():
        if username not in current:
            return VerifyResult(False, count, head, f"staff member {username} was removed outside the console "
                                                    f"(last recorded at entry {entry_id})", entry_id, username)
    return VerifyResult(True, count, head)


@dataclass
class Linked:
    """Entries numbered and hash-chained after a given head, ahead of their transaction (bulk loads)."""

    after_id: int
    after_hash: str
    rows: list[dict[str, Any]]
    last_id: int
    last_hash: str
    day_counts: dict[activity_counts.Key, int]  # the entries counted as activity_counts.key_of() counts them


def link(rows: list[dict[str, Any]], after_id: int, after_hash: str) -> Linked:
    """Number and hash entries as the ones following (after_id, after_hash). Each row needs at (an aware time,
    or SQLite's stored text of one), actor, action, summary and may carry account_id, user_id, device_id,
    details (dict).

    The same hashes as canonical_bytes() gives, with the per-entry work cut down for millions of entries:
    UTC times formatted in one call, each distinct details value encoded once, and the canonical text
    written directly where every field is a plain string, integer or None (a quarter of the encoder's cost)."""
    last_id, last_hash = after_id, after_hash
    out = []
    encode, sha256, utc, quote = _CANONICAL.encode, hashlib.sha256, dt.UTC, json.encoder.encode_basestring
    details_text: dict[tuple[tuple[str, Any], ...], str] = {}
    quoted: dict[str, str] = {}  # actors, actions and details texts repeat: each quoted once
    counted: collections.Counter[tuple[str, str, str, str]] = collections.Counter()
    for row in rows:
        last_id += 1
        details = row.get("details")
        if not details:
            text = "{}"
        else:
            try:
                key = tuple(details.items())
                text = details_text.get(key) or details_text.setdefault(key, _details_json(details))
            except TypeError:  # an unhashable value (a list, a dict): encoded each time
                text = _details_json(details)
        at = row["at"]
        if at.__class__ is str:  # SQLite's stored text of a UTC time (a bulk builder's rows)
            at_text = f"{at[:10]}T{at[11:]}"
        else:
            at_text = (at if at.tzinfo is utc else at.astimezone(utc)).isoformat(timespec="microseconds")[:26]
        account_id, user_id, device_id = row.get("account_id"), row.get("user_id"), row.get("device_id")
        actor, action, summary = row["actor"], row["action"], row["summary"]
        counted[at_text[:10], action, actor, activity_counts.path_of(action, details) if
                action == activity_counts.ENROLLED else ""] += 1
        if ((account_id is None or account_id.__class__ is int) and (user_id is None or user_id.__class__ is int)
                and (device_id is None or device_id.__class__ is int) and actor.__class__ is str
                and action.__class__ is str and summary.__class__ is str and last_id.__class__ is int):
            canonical = (f'[{last_id},"{at_text}",{quoted.get(actor) or quoted.setdefault(actor, quote(actor))},'
                         f'{quoted.get(action) or quoted.setdefault(action, quote(action))},'
                         f'{"null" if account_id is None else account_id},{"null" if user_id is None else user_id},'
                         f'{"null" if device_id is None else device_id},{quote(summary)},'
                         f'{quoted.get(text) or quoted.setdefault(text, quote(text))},"{last_hash}"]')
        else:
            canonical = encode([last_id, at_text, actor, action, account_id, user_id, device_id, summary, text,
                                last_hash])
        entry_hash = sha256(canonical.encode("utf-8")).hexdigest()
        out.append({"id": last_id, "at": at, "actor": actor, "action": action, "summary": summary,
                    "account_id": account_id, "user_id": user_id, "device_id": device_id, "details": text,
                    "prev_hash": last_hash, "entry_hash": entry_hash})
        last_hash = entry_hash
    day_counts: collections.Counter[activity_counts.Key] = collections.Counter()
    for (day, action, actor, path), n in counted.items():
        day_counts[dt.date.fromisoformat(day), action[:64], actor[:64], path] += n
    return Linked(after_id, after_hash, out, last_id, last_hash, dict(day_counts))


def _details_json(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def chain_rows(session: Session, rows: list[dict[str, Any]], linked: Linked | None = None) -> list[dict[str, Any]]:
    """Number and hash many new entries at once (bulk loads); updates the head in the caller's transaction.

    `linked`: the same rows chained beforehand (by a builder in another process), used when they follow the
    head as it is now; if another entry was appended meanwhile they are chained again here.
    """
    head = _head(session)
    if linked is None or (linked.after_id, linked.after_hash) != (head.last_id, head.last_hash):
        linked = link(rows, head.last_id, head.last_hash)
    head.last_id, head.last_hash, head.count = linked.last_id, linked.last_hash, head.count + len(linked.rows)
    activity_counts.add_counted(session, linked.day_counts)
    return linked.rows
