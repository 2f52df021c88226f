"""The users list at scale, checked on small data: windows read by key equal plain ORDER BY/LIMIT/OFFSET,
filters and counts equal plain SQL, derived data (substring index, counts per state) follows every change,
and prefix filters are index searches."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update

from console.models import bulk, demo, directory, user_index
from console.models.directory import SORT_COLUMNS, UserDirectory, UserQuery, plain_window_statement
from console.models.entities import Account, DeviceCount, SecurityDevice, User, UserStateCount, UserWord
from console.models.enums import SlsState
from console.models.settings import Figures
from tests.factories import add_person, add_user

SORTS = sorted(SORT_COLUMNS)


@pytest.fixture
def people(ctx):
    """About 150 demo users: many shared names, states and device counts, so ties in every sort."""
    demo.generate(ctx, Figures(), 150, seed=7)
    return ctx


def _plain(ctx, query: UserQuery, offset: int = 0, limit: int = 10**9) -> list[tuple]:
    dialect = ctx.db.engine.dialect.name
    with ctx.db.read() as s:
        return [tuple(r)[:7] for r in s.execute(plain_window_statement(query, offset, limit, dialect))]


def _ours(d: UserDirectory, query: UserQuery, offset: int, limit: int) -> list[tuple]:
    return [(r.id, r.username, r.full_name, r.account_number, r.role, r.sls_state, r.active_devices)
            for r in d.window(query, offset, limit)]


def _sample_texts(ctx) -> list[str]:
    with ctx.db.read() as s:
        username, name_key, number = s.execute(
            select(User.username, User.name_key, Account.number).join(Account, Account.id == User.account_id)
            .order_by(User.id).limit(1).offset(40)).one()
    return [username[:3], name_key.split()[0][:2], number[:4].lower(), name_key.split()[-1][1:4],
            name_key.split()[-1][:4], number[1:5]]


@pytest.mark.parametrize("skip_direct", [4, 1000], ids=["jumps-by-index", "offset-skips"])
def test_window_equals_plain_offset_query_at_every_offset_and_sort(people, monkeypatch, skip_direct):
    """Every window, read in any order (scrolling down, up, random jumps), is exactly the plain query's rows."""
    monkeypatch.setattr(directory, "_SKIP_DIRECT", skip_direct)
    rng = random.Random(1)
    for sort in SORTS:
        for descending in (False, True):
            query = UserQuery(sort=sort, descending=descending)
            expected = _plain(people, query)
            assert len(expected) >= 150
            d = UserDirectory(people)
            n = len(expected)
            offsets = list(range(0, n + 3, 7)) + list(range(n - 1, -1, -5)) + rng.sample(range(n), 40)
            for offset in offsets:
                limit = rng.choice((1, 7, 20))
                assert _ours(d, query, offset, limit) == expected[offset:offset + limit], (sort, descending,
                                                                                          offset, limit)


def test_last_rows_first_then_scroll_up_equals_plain_query(people, monkeypatch):
    """Jumping straight to the end (as the list's End key does) and scrolling up gives the plain rows."""
    monkeypatch.setattr(directory, "_SKIP_DIRECT", 4)
    for sort in SORTS:
        query = UserQuery(sort=sort, descending=True, state=SlsState.enrolled)
        expected = _plain(people, query)
        d = UserDirectory(people)
        n = d.count(query)
        assert n == len(expected)
        for offset in range(n - 10, -1, -10):
            assert _ours(d, query, offset, 10) == expected[offset:offset + 10]


def test_filters_and_counts_equal_plain_sql(people):
    """Prefix and substring filters, with and without a state, list and count exactly what plain SQL finds."""
    d = UserDirectory(people)
    with people.db.read() as s:
        all_users = s.execute(select(User.id, User.username, User.name_key, User.sls_state, Account.number)
                              .join(Account, Account.id == User.account_id)).all()
    for t in _sample_texts(people) + ["", "zzzz", 'a"b']:
        for contains in (False, True):
            for state in (None, *SlsState):
                query = UserQuery(text=t.upper(), state=state, contains=contains, sort="full_name")

                def matches(u, t: str = t, contains: bool = contains, state: SlsState | None = state) -> bool:
                    if not t:
                        hit = True
                    elif contains and len(t) >= 3:
                        hit = t in u.username or t in u.name_key
                    else:
                        digits = t.removeprefix("u")
                        hit = (u.username.startswith(t) or u.name_key.startswith(t)
                               or (len(t) >= 2 and (" " + t) in u.name_key)
                               or (bool(re.fullmatch(r"u?\d+", t)) and u.number.lower().startswith("u" + digits)))
                    return hit and (state is None or u.sls_state is state)

                expected_ids = {u.id for u in all_users if matches(u)}
                assert {r[0] for r in _plain(people, query)} == expected_ids, (t, contains, state)
                assert {r.id for r in d.window(query, 0, 10_000)} == expected_ids
                assert d.count(query) == len(expected_ids)
            counts = d.counts_by_state(UserQuery(text=t, contains=contains))
            for state in SlsState:
                query = UserQuery(text=t, contains=contains, state=state)
                assert counts[state] == len(_plain(people, query))


def test_substring_index_and_state_counts_follow_inserts_renames_and_deletes(ctx, world):
    """The trigger-kept substring index and counts per state change with the users table, in the same commit."""
    d = UserDirectory(ctx)
    found = lambda t: {r.username for r in d.window(UserQuery(text=t, contains=True), 0, 50)}  # noqa: E731
    assert found("smit") == {"jsmit001", "jsmit123"}
    before = d.counts_by_state()
    with ctx.db.write() as s:
        s.execute(update(User).where(User.username == "jsmit123")
                  .values(full_name="John Smythe", name_key="john smythe", sls_state=SlsState.opted_out))
    assert found("smyth") == {"jsmit123"}
    assert found("ohn smi") == set()
    after = d.counts_by_state()
    assert after[SlsState.enrolled] == before[SlsState.enrolled] - 1
    assert after[SlsState.opted_out] == before[SlsState.opted_out] + 1
    with ctx.db.write() as s:
        s.execute(delete(User).where(User.username == "aarch001"))
    assert found("arch") == set()
    assert d.counts_by_state()[SlsState.enrolled] == before[SlsState.enrolled] - 2
    with ctx.db.read() as s:
        plain = dict(s.execute(select(User.sls_state, func.count()).group_by(User.sls_state)).all())
    assert {k: v for k, v in d.counts_by_state().items() if v} == plain


def test_windows_follow_changes_made_by_another_desk(people):
    """Known positions are dropped when users are added or change state, so windows stay equal to plain SQL."""
    d = UserDirectory(people)
    query = UserQuery(sort="username")
    n = d.count(query)
    _ours(d, query, n - 5, 5)
    _ours(d, query, 60, 10)
    with people.db.write() as s:
        victim = s.scalars(select(User).order_by(User.username).limit(1).offset(30)).one()
        victim.sls_state = SlsState.pending
        s.execute(update(User).where(User.id == victim.id).values(username="aaaa" + victim.username))
    demo.generate(people, Figures(), 5, seed=99)  # another desk adds users (with their audit entries)
    expected = _plain(people, query)
    assert _ours(d, query, 60, 10) == expected[60:70]
    assert _ours(d, query, len(expected) - 5, 5) == expected[-5:]


def test_interrupted_bulk_load_is_repaired_before_the_list_reads(ctx, world):
    """A bulk load that died with the upkeep suspended leaves stale derived data; the directory rebuilds it."""
    with ctx.db.write() as s:
        user_index.suspend(s.connection())
        s.execute(update(User).where(User.username == "bbake001").values(name_key="robert baker"))
    with ctx.db.read() as s:
        assert not user_index.is_current(s.connection())
    d = UserDirectory(ctx)
    assert {r.username for r in d.window(UserQuery(text="bert", contains=True), 0, 10)} == {"bbake001"}
    with ctx.db.read() as s:
        assert user_index.is_current(s.connection())


def test_a_user_a_desk_adds_during_a_load_that_indexed_its_own_names_is_found_after_it(ctx, world):
    """A load that put its users in the substring index batch by batch catches up on users added meanwhile
    by a desk (no trigger indexed them) instead of rebuilding the whole index."""
    if not ctx.db.is_sqlite:
        pytest.skip("the substring index of SQLite")
    with user_index.suspended(ctx.db, names_indexed=True):
        with ctx.db.write() as s:
            account = s.scalars(select(Account)).first()
            add_user(s, ctx, account, add_person(s, "Quentin Zebulon"), "qzebu001")
    d = UserDirectory(ctx)
    assert [r.username for r in d.window(UserQuery(text="ebulo", contains=True), 0, 10)] == ["qzebu001"]
    with ctx.db.read() as s:
        s.execute(text("INSERT INTO users_fts(users_fts) VALUES ('integrity-check')"))


def test_a_load_that_fails_rebuilds_the_substring_index_whatever_it_indexed(ctx, world, monkeypatch):
    """Only a load that ended well is trusted to have indexed its users: after a failure the index is rebuilt."""
    if not ctx.db.is_sqlite:
        pytest.skip("the substring index of SQLite")
    rebuilt = []
    real = user_index._add_missing_names
    monkeypatch.setattr(user_index, "_add_missing_names", lambda conn: rebuilt.append(1) or real(conn))
    with pytest.raises(RuntimeError), user_index.suspended(ctx.db, names_indexed=True):
        with ctx.db.write() as s:
            account = s.scalars(select(Account)).first()
            add_user(s, ctx, account, add_person(s, "Quentin Zebulon"), "qzebu001")
        raise RuntimeError("the load failed")
    assert rebuilt == []
    d = UserDirectory(ctx)
    assert [r.username for r in d.window(UserQuery(text="ebulo", contains=True), 0, 10)] == ["qzebu001"]


def test_the_indexes_a_sqlite_load_keeps_are_declared_ones():
    """A kept index's name that no table declares any more would silently be dropped and rebuilt."""
    declared = {index.name for table in user_index.loaded_tables() for index in table.indexes}
    assert user_index.SQLITE_KEPT_DURING_LOAD <= declared


def test_trigger_definitions_match_migration(db):
    """The triggers a bulk load restores are the ones migration 0003 created (no silent drift)."""
    if not db.is_sqlite:
        pytest.skip("SQLite triggers")
    norm = lambda sql: re.sub(r"\s+", " ", sql).strip()  # noqa: E731
    with db.engine.connect() as conn:
        present = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                            "AND tbl_name = 'users'").all())
    assert {k: norm(v) for k, v in present.items()} == {k: norm(v) for k, v in user_index.SQLITE_TRIGGERS.items()}


def test_demo_load_leaves_counts_and_substring_index_consistent(people):
    """After a bulk demo load the counts table equals a plain GROUP BY and every user is findable by substring."""
    with people.db.read() as s:
        plain = dict(s.execute(select(User.sls_state, func.count()).group_by(User.sls_state)).all())
        kept = dict(s.execute(select(UserStateCount.sls_state, UserStateCount.users)).all())
        assert kept == plain
        # The device counts and the name words were filled once after the load, their triggers off meanwhile.
        by_kind = select(SecurityDevice.kind, SecurityDevice.state, SecurityDevice.locked, func.count())
        plain_devices = {tuple(r[:3]): r[3] for r in s.execute(by_kind.group_by(
            SecurityDevice.kind, SecurityDevice.state, SecurityDevice.locked))}
        kept_devices = {(r.kind, r.state, r.locked): r.devices for r in s.scalars(select(DeviceCount))
                        if r.devices}
        assert kept_devices == plain_devices
        assert s.scalar(select(func.count(func.distinct(UserWord.user_id)))) == s.scalar(select(func.count(User.id)))
        if people.db.is_sqlite:
            assert s.scalar(text("SELECT count(*) FROM users_fts WHERE users_fts MATCH '\"a\"' OR 1")) is not None
            s.execute(text("INSERT INTO users_fts(users_fts) VALUES ('integrity-check')"))
        # The load dropped the secondary indexes and built them again at the end.
        assert bulk.missing_indexes(s.connection(), user_index.loaded_tables()) == []


def test_a_load_interrupted_with_its_indexes_dropped_is_repaired_before_the_list_reads(ctx, world):
    """A load that died after dropping the secondary indexes (both databases) would leave every search a scan;
    the directory builds the missing indexes when it starts."""
    declared = {index.name for table in user_index.loaded_tables() for index in table.indexes}
    assert "ix_users_state_username" in declared
    dropped = declared - user_index.SQLITE_KEPT_DURING_LOAD if ctx.db.is_sqlite else declared
    with ctx.db.write() as s:
        user_index.suspend(s.connection())
    with ctx.db.read() as s:
        assert {i.name for i in bulk.missing_indexes(s.connection(), user_index.loaded_tables())} == dropped
        assert not user_index.is_current(s.connection())
    d = UserDirectory(ctx)
    assert [r.username for r in d.window(UserQuery(text="bbake"), 0, 10)] == ["bbake001"]
    with ctx.db.read() as s:
        assert bulk.missing_indexes(s.connection(), user_index.loaded_tables()) == []
        assert user_index.is_current(s.connection())


def test_sqlite_builds_a_loads_indexes_apart_the_users_last_and_leaves_the_connections_as_they_were(ctx, world):
    """After a load on SQLite each missing index is built in a transaction of its own while a thread copies the
    write-ahead log back: every index is there and the log is copied into the database file. The users table's
    indexes come last, so a build that stops part-way still reads as stale and is repaired."""
    if not ctx.db.is_sqlite:
        pytest.skip("the write-ahead log of SQLite")
    built: list[str] = []
    real = bulk.create_indexes_apart
    bulk_calls: list[list[str]] = []

    def recording(engine, indexes):
        bulk_calls.append([index.name for index in indexes])
        real(engine, indexes)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk, "create_indexes_apart", recording)
        with user_index.suspended(ctx.db):
            pass
    (names,) = bulk_calls
    users = {index.name for index in User.__table__.indexes}
    assert set(names[-len(users):]) == users and users.isdisjoint(names[:-len(users)])
    with ctx.db.read() as s:
        conn = s.connection()
        assert bulk.missing_indexes(conn, user_index.loaded_tables()) == []
        assert user_index.is_current(conn)
    raw = ctx.db.engine.raw_connection()
    try:
        busy, frames, copied = raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        raw.close()
    assert busy == 0 and frames == copied

    # Stopped after some of the indexes: the users table's are missing, so the list repairs the rest.
    with ctx.db.write() as s:
        user_index.suspend(s.connection())

    def failing(engine, indexes):
        real(engine, indexes[:3])
        built.extend(index.name for index in indexes[:3])
        raise RuntimeError("stopped part-way")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk, "create_indexes_apart", failing)
        with pytest.raises(RuntimeError):
            user_index.repair_if_needed(ctx.db)
    with ctx.db.read() as s:
        missing = {index.name for index in bulk.missing_indexes(s.connection(), user_index.loaded_tables())}
        assert len(built) == 3 and missing.isdisjoint(built) and users <= missing
        assert not user_index.is_current(s.connection())
    d = UserDirectory(ctx)
    assert [r.username for r in d.window(UserQuery(text="bbake"), 0, 10)] == ["bbake001"]
    with ctx.db.read() as s:
        assert bulk.missing_indexes(s.connection(), user_index.loaded_tables()) == []


def test_indexes_built_apart_leave_the_connection_as_it_was_and_an_index_already_there(tmp_path):
    """The connection that built them goes back to the pool with its own settings (checkpoints at commit,
    sorter threads, cache), and an index another desk built meanwhile is left as it is."""
    from sqlalchemy import Column, Index, Integer, MetaData, Table, create_engine
    from sqlalchemy.pool import StaticPool

    engine = create_engine(f"sqlite:///{tmp_path / 'apart.sqlite3'}", poolclass=StaticPool)
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("a", Integer),
                  Column("b", Integer))
    first, second = Index("ix_t_a", table.c.a), Index("ix_t_b", table.c.b)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode = WAL")
        table.create(conn)
        conn.exec_driver_sql("WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 5000) "
                             "INSERT INTO t (a, b) SELECT v, -v FROM n")
        second.drop(conn)  # created with the table, as the first is
    names = ("wal_autocheckpoint", "threads", "cache_size")
    with engine.connect() as conn:
        before = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names}
    bulk.create_indexes_apart(engine, [first, second])
    with engine.connect() as conn:
        assert {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names} == before
        assert {name for (name,) in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 't'")} == {"ix_t_a", "ix_t_b"}
        assert conn.exec_driver_sql("SELECT count(*) FROM t INDEXED BY ix_t_b WHERE b < -4990").scalar() == 10
    engine.dispose()


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_indexes_are_built_when_the_thread_copying_the_log_back_fails(tmp_path, monkeypatch):
    """The checkpoint thread is a help, not a step: if its connection fails, the builds go on and the pages stay
    in the log for the next commit's own checkpoint."""
    import sqlite3

    from sqlalchemy import Column, Index, Integer, MetaData, Table, create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'apart.sqlite3'}")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("a", Integer))
    index = Index("ix_t_a", table.c.a)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode = WAL")
        table.create(conn)
        index.drop(conn)
        conn.exec_driver_sql("INSERT INTO t (a) VALUES (1), (2), (3)")
    broken = sqlite3.connect(":memory:", check_same_thread=False)
    broken.close()  # every statement on it fails
    monkeypatch.setattr(bulk.sqlite3, "connect", lambda *args, **kwargs: broken)
    bulk.create_indexes_apart(engine, [index])
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t INDEXED BY ix_t_a WHERE a > 1").scalar() == 2
    engine.dispose()


def _plan(db, stmt) -> list[str]:
    with db.engine.connect() as conn:
        compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
        return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]


@pytest.mark.parametrize("text_", ["smi", "jane s", "u1234", "1234", "s"])
def test_prefix_filters_are_index_searches_not_scans(db, text_):
    """Default filters (username prefix, any word of the name, account number with or without its U) SEARCH
    indexes (words of the name through the trigram table); no plan step scans the users table."""
    if not db.is_sqlite:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    query = UserQuery(text=text_)
    plans = [_plan(db, plain_window_statement(query, 0, 50)),
             _plan(db, directory.filtered(select(func.count()).select_from(User), query))]
    for plan in plans:
        users_steps = [p for p in plan if re.search(r"\busers\b", p)]
        assert users_steps and all(p.startswith("SEARCH") for p in users_steps), plan


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_is_served_by_an_index(people, sort):
    """Windows in any sort and direction, with or without a state filter, from the start, an end or a known
    position, read an index in order (no sort of all users) and seek to the position (SEARCH)."""
    if not people.db.is_sqlite:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    from sqlalchemy import event

    executed: list[tuple[str, tuple]] = []
    listener = lambda conn, cursor, statement, params, context, many: executed.append((statement, params))  # noqa
    for descending, state in ((False, None), (True, None), (False, SlsState.pending), (True, SlsState.enrolled)):
        d = UserDirectory(people)
        query = UserQuery(sort=sort, descending=descending, state=state)
        event.listen(people.db.engine, "before_cursor_execute", listener)
        try:
            n = d.count(query)
            d.window(query, 0, 20)
            d.window(query, 20, 20)  # from a known position
            d.window(query, max(n - 20, 0), 20)  # from the end
            d.window(query, max(n - 60, 0), 20)  # backward from a known position
        finally:
            event.remove(people.db.engine, "before_cursor_execute", listener)
    seeks = 0
    with people.db.engine.connect() as conn:
        for statement, params in executed:
            if "ORDER BY" not in statement or "user_restrictions" in statement:  # (that one: a window's rows)
                continue
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)]
            assert not any("TEMP B-TREE" in p for p in plan), (statement, plan)
            seeks += any(p.startswith("SEARCH") for p in plan)
    assert seeks >= 8


def test_offset_of_a_user_is_its_row_in_the_plain_query(people):
    """offset_of() gives the row at which the plain query lists a user, in every sort; None when filtered out."""
    d = UserDirectory(people)
    for sort in SORTS:
        for descending in (False, True):
            query = UserQuery(sort=sort, descending=descending, state=SlsState.enrolled)
            expected = _plain(people, query)
            for row in (0, 7, len(expected) // 2, len(expected) - 1):
                assert d.offset_of(query, expected[row][0]) == row
    with people.db.read() as s:
        opted_out = s.scalar(select(User.id).where(User.sls_state == SlsState.opted_out).limit(1))
    assert d.offset_of(UserQuery(state=SlsState.enrolled), opted_out) is None


def test_audit_verify_over_plain_rows_still_names_a_changed_entry(people):
    """verify() streams plain rows in keyset batches; a changed entry is still found and named."""
    from console.models import audit
    from console.models.entities import AuditEntry

    with people.db.read() as s:
        good = audit.verify(s, batch=7)
    assert good.ok and good.count > 100
    with people.db.write() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 60).values(summary="rewritten"))
    with people.db.read() as s:
        bad = audit.verify(s, batch=7)
    assert not bad.ok and bad.bad_entry_id == 60 and "entry 60 was changed" in bad.problem


def test_demo_load_failing_in_the_writer_process_is_reported_and_leaves_the_list_consistent(ctx, monkeypatch):
    """A batch the writer cannot store stops the load with a message; the derived data is rebuilt anyway."""
    monkeypatch.setattr(demo, "BATCH_USERS", 40)
    original = demo._Batch.write
    with ctx.db.read() as s:
        first_id = (s.scalar(select(func.max(User.id))) or 0) + 1

    def failing_write(self, session):  # each batch is stored by a process of its own: the second one fails
        users = next(rows for table, rows in self.tables if table.name == "users")
        if users[0]["id"] > first_id:
            raise ValueError("disk full (simulated)")
        original(self, session)

    monkeypatch.setattr(demo._Batch, "write", failing_write)
    with pytest.raises(RuntimeError, match="Storing demo data failed: ValueError: disk full"):
        demo.generate(ctx, Figures(), 200, seed=4, parallel=True)
    with ctx.db.read() as s:
        assert user_index.is_current(s.connection())
        stored = s.scalar(select(func.count()).select_from(User))
    assert 40 <= stored < 200  # the first batch stayed, the failed one changed nothing
    assert sum(UserDirectory(ctx).counts_by_state().values()) == stored


def test_demo_load_in_a_writer_process_stores_every_batch_and_a_sound_audit_chain(ctx, monkeypatch):
    """The parallel demo load (writer process) stores every batch; the audit chain verifies afterwards."""
    from console.models import audit

    monkeypatch.setattr(demo, "BATCH_USERS", 40)
    summary = demo.generate(ctx, Figures(), 120, seed=3, parallel=True)
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(User)) == summary.users
        result = audit.verify(s)
    assert result.ok, result.problem
    assert result.count == summary.audit_entries
    assert sum(UserDirectory(ctx).counts_by_state().values()) == summary.users


def test_demo_seeds_open_and_check_where_the_database_keeps_them(ctx, monkeypatch):
    """The bulk load keeps each IB Key and DSC+ seed as the services would: sealed with the master key on SQLite,
    in the server's vault on PostgreSQL (written set-based with each batch). Either way the seed reads back
    and the console's code check accepts its code; unknown card values are stored in their finished form."""
    import pyotp

    from console.models import vault
    from console.models.enums import DeviceKind
    from tests.seeds import stored_seed

    monkeypatch.setattr(demo, "BATCH_USERS", 40)
    demo.generate(ctx, Figures(), 120, seed=5, parallel=True)
    with ctx.db.read() as s:
        seeded = list(s.scalars(select(SecurityDevice).where(
            SecurityDevice.kind.in_([DeviceKind.ib_key, DeviceKind.dsc_plus]))))
        seeded_ids = [d.id for d in seeded]
        cards = list(s.scalars(select(SecurityDevice).where(SecurityDevice.kind == DeviceKind.code_card)))
        assert len(seeded) > 50
        assert all(vault.is_server_sealed(d.sealed_secret) == vault.on_server(s) for d in seeded)
        for card in cards:
            assert vault.slot_count(s, card, vault.CARD_SLOT_BYTES) == Figures().code_card_size
    for device_id in seeded_ids[:: max(1, len(seeded_ids) // 10)]:
        seed = stored_seed(ctx, device_id)
        with ctx.db.read() as s:
            found = vault.otp_match(s, ctx.box, s.get(SecurityDevice, device_id), pyotp.HOTP(seed).at(7), 5, 9, 6)
        assert found == 7


def test_a_superseded_read_can_be_interrupted_from_another_thread(ctx, world):
    """interrupt_reads() stops the statement a thread's read is running; a thread with no read is untouched."""
    import threading

    if not ctx.db.is_sqlite:
        pytest.skip("psycopg's cancel is exercised by the server, not here")
    d = UserDirectory(ctx)
    started, outcome = threading.Event(), {}

    def endless_read():
        try:
            with d._reading() as s:
                started.set()
                s.execute(text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                               "SELECT count(*) FROM c")).all()
        except Exception as exc:  # the interrupted statement
            outcome["error"] = exc

    reader = threading.Thread(target=endless_read, daemon=True)
    reader.start()
    assert started.wait(5)
    assert not d.interrupt_reads(threading.get_ident())  # this thread reads nothing
    for _ in range(100):  # an interrupt sent before the statement starts is lost: send until it stops
        d.interrupt_reads(reader.ident)
        reader.join(0.05)
        if not reader.is_alive():
            break
    assert not reader.is_alive()
    assert "interrupt" in str(outcome["error"]).lower()
    assert d.count(UserQuery()) == 4  # the directory reads on as before


def _find_texts(ctx) -> list[str]:
    """A surname's prefix and whole surname, a first name, a username stem, an account number with and without
    its U: Find's default search through each of its index ranges."""
    with ctx.db.read() as s:
        username, name_key, number = s.execute(
            select(User.username, User.name_key, Account.number).join(Account, Account.id == User.account_id)
            .order_by(User.id).limit(1).offset(40)).one()
    surname = name_key.split()[-1]
    return [surname[:3], surname, name_key.split()[0], username[:4], number[:3].lower(), number[1:4]]


def test_find_windows_by_username_equal_the_plain_query_at_every_offset(people, monkeypatch):
    """Find's default search, read from user_words and the other index ranges in username order, returns
    exactly the plain query's rows and count, scrolling down, up and jumping, in both directions."""
    monkeypatch.setattr(directory, "_SKIP_DIRECT", 4)
    rng = random.Random(3)
    for t in _find_texts(people):
        for descending in (False, True):
            query = UserQuery(text=t, descending=descending)
            assert directory._found_by_name(query) is not None
            expected = _plain(people, query)
            assert expected, t
            d = UserDirectory(people)
            n = len(expected)
            assert d.count(query) == n
            offsets = list(range(0, n + 2, 3)) + list(range(n - 1, -1, -4)) + rng.sample(range(n), min(n, 10))
            for offset in offsets:
                limit = rng.choice((1, 3, 20))
                assert _ours(d, query, offset, limit) == expected[offset:offset + limit], (t, descending, offset)
            assert sum(d.counts_by_state(query).values()) == n


def test_find_follows_renames_and_removals_through_the_word_triggers(people):
    """user_words is kept by the database on every insert, rename and delete (both databases)."""
    from console.models.entities import UserWord

    d = UserDirectory(people)
    with people.db.write() as s:
        user = s.scalars(select(User).order_by(User.id).limit(1).offset(10)).one()
        user.full_name, user.name_key = "Ada Quimby-Lovelace  Byron", "ada quimby-lovelace  byron"
        user.username = "zzada001"
        s.flush()
        uid = user.id
    assert [r.id for r in d.window(UserQuery(text="quimby"), 0, 5)] == [uid]
    assert [r.username for r in d.window(UserQuery(text="byr"), 0, 5)] == ["zzada001"]
    with people.db.read() as s:
        assert sorted(s.scalars(select(UserWord.word).where(UserWord.user_id == uid))) == [
            "ada", "byron", "quimby-lovelace"]
        assert set(s.scalars(select(UserWord.username).where(UserWord.user_id == uid))) == {"zzada001"}
    with people.db.write() as s:
        s.execute(text("DELETE FROM user_restrictions WHERE user_id = :u"), {"u": uid})
        s.execute(text("DELETE FROM opt_out_acknowledgements WHERE user_id = :u"), {"u": uid})
        s.execute(text("DELETE FROM device_holdings WHERE user_id = :u"), {"u": uid})
        s.execute(text("UPDATE accounts SET rights_holder_id = NULL WHERE rights_holder_id = :u"), {"u": uid})
        s.execute(delete(User).where(User.id == uid))
    d.invalidate()
    assert d.window(UserQuery(text="quimby"), 0, 5) == []
    with people.db.read() as s:
        assert s.scalar(select(func.count()).select_from(UserWord).where(UserWord.user_id == uid)) == 0
        # Every user's words, as the load's refill makes them, equal what the triggers kept.
        words = {(w, u, i) for w, u, i in s.execute(select(UserWord.word, UserWord.username, UserWord.user_id))}
        users = s.execute(select(User.id, User.username, User.name_key)).all()
    assert words == {(w, u.username, u.id) for u in users for w in u.name_key.split()}


def _statements_of_find(ctx, texts: list[str]) -> list[tuple[str, Any]]:
    from sqlalchemy import event

    executed: list[tuple[str, Any]] = []
    listener = lambda conn, cursor, statement, params, context, many: executed.append((statement, params))  # noqa
    event.listen(ctx.db.engine, "before_cursor_execute", listener)
    try:
        for t in texts:
            d = UserDirectory(ctx)
            for descending in (False, True):
                query = UserQuery(text=t, descending=descending)
                n = d.count(query)
                d.window(query, 0, 20)
                d.window(query, 20, 20)  # from a known position
                d.window(query, max(n - 20, 0), 20)  # from the end
            d.counts_by_state(UserQuery(text=t))
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", listener)
    return [(st, p) for st, p in executed if "user_words" in st]


def test_find_by_a_word_reads_index_ranges_only(people):
    """Find's default search (a surname, a first name, an account number) never scans users or user_words:
    on SQLite every step is a SEARCH and the username order is a merge of the ranges, each sorted only up to
    the window's LIMIT; on PostgreSQL (sequential scans disabled, as the table is small here) each table is
    read through an index."""
    statements = _statements_of_find(people, _find_texts(people) + ["tanaka", "smi"])
    assert len(statements) >= 20
    windows = accounts = 0
    with people.db.engine.connect() as conn:
        if people.db.is_sqlite:
            for statement, params in statements:
                plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)]
                steps = [p for p in plan if re.search(r"\b(users|user_words|user_account_numbers)\b", p)]
                assert steps and all(p.startswith("SEARCH") for p in steps), (statement, plan)
                if "user_account_numbers" in statement:
                    accounts += 1
                    assert any(re.match(r"SEARCH user_account_numbers USING PRIMARY KEY \(number>\? AND number<\?",
                                        p) for p in plan), plan
                assert any(re.match(r"SEARCH user_words USING PRIMARY KEY \(word>\? AND word<\?", p)
                           for p in plan), plan
                if "LIMIT" in statement:
                    windows += 1
                    assert plan[0] == "MERGE (UNION)", plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            for statement, params in statements:
                plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", params))
                assert "Seq Scan" not in plan, (statement, plan)
                assert re.search(r"(Index (Only )?Scan using|Bitmap Index Scan on) user_words_pkey", plan), plan
                if "user_account_numbers" in statement:
                    accounts += 1
                    assert re.search(r"Index (Only )?Scan using user_account_numbers_pkey", plan), plan
                windows += "LIMIT" in statement
    assert windows >= 12 and accounts >= 8  # the account-number texts read their own key's range


def test_demo_entries_chained_ahead_are_chained_again_when_another_entry_came_first(ctx, world, clock):
    """The demo builder chains each batch's entries ahead of the writer; if another desk appended an entry in
    between, the writer chains them again after it, so the trail still verifies (and the ahead-chained ones
    are used as they are when nothing came between)."""
    from console.models import audit
    from console.models.entities import AuditEntry, AuditHead

    def entries(n: int) -> list[dict]:
        return [{"at": clock.now(), "actor": "demo", "action": "account.opened", "summary": f"demo {i}"}
                for i in range(n)]

    with ctx.db.read() as s:
        head = s.get(AuditHead, 1)
        after = (head.last_id, head.last_hash) if head else (0, audit.GENESIS_HASH)
    first = audit.link(entries(3), *after)
    with ctx.db.write() as s:
        rows = audit.chain_rows(s, entries(3), first)
        assert rows is first.rows
        s.execute(AuditEntry.__table__.insert(), rows)
    stale = audit.link(entries(2), *after)  # chained after the old head, not after `first`
    with ctx.db.write() as s:
        rows = audit.chain_rows(s, entries(2), stale)
        assert rows is not stale.rows and rows[0]["prev_hash"] == first.last_hash
        s.execute(AuditEntry.__table__.insert(), rows)
    with ctx.db.read() as s:
        result = audit.verify(s)
    assert result.ok, result.problem


def test_first_rows_are_the_count_and_the_first_window_read_in_one_transaction(people, monkeypatch):
    """What a new search shows first (its count and first window) is one read, equal to the two calls."""
    d = UserDirectory(people)
    d.count(UserQuery())  # the first read checks the derived tables once
    opened = []
    real_read = people.db.read
    monkeypatch.setattr(people.db, "read", lambda: opened.append(1) or real_read())
    for text_ in [*_sample_texts(people), ""]:
        query = UserQuery(text=text_)
        d.invalidate()
        opened.clear()
        total, rows = d.first_rows(query, 20)
        assert len(opened) == 1
        assert total == len(_plain(people, query))
        assert [(r.id, r.username) for r in rows] == [row[:2] for row in _plain(people, query, 0, 20)]
    with pytest.raises(ValueError):
        d.first_rows(UserQuery(sort="password"), 20)


def test_the_freshness_signature_is_the_audit_head_and_the_users_per_state(people):
    """One statement tells whether the data moved: the audit head's last entry and the kept users per state."""
    from console.models.entities import AuditHead

    with people.db.read() as s:
        head, *per_state = s.execute(directory._FRESHNESS).one()
        assert head == s.scalar(select(AuditHead.last_id).where(AuditHead.id == 1))
        kept = dict(s.execute(select(UserStateCount.sls_state, UserStateCount.users)).all())
    assert dict(zip(SlsState, per_state, strict=True)) == {state: kept.get(state) for state in SlsState}


def test_a_read_can_be_interrupted_from_its_session_check_on(ctx, world, monkeypatch):
    """A superseded read is interruptible as soon as it holds its connection: while its session check runs,
    interrupt_reads() finds it (before, a search interrupted then ran its whole count)."""
    import threading

    from console.models.context import ServiceContext
    from console.models.enums import StaffRole
    from tests.sessions import signed_in

    d = UserDirectory(ctx.for_desk(signed_in(ctx, "desk01", "Desk One", StaffRole.help_desk)))
    checking, release = threading.Event(), threading.Event()
    real_check = ServiceContext.check_reader

    def slow_check(self, s):
        checking.set()
        release.wait(5)
        real_check(self, s)

    monkeypatch.setattr(ServiceContext, "check_reader", slow_check)
    outcome: dict[str, object] = {}

    def read() -> None:
        try:
            outcome["count"] = d.count(UserQuery())
        except Exception as exc:  # an interrupt that reached the next statement
            outcome["error"] = exc

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert checking.wait(5)
    try:
        assert d.interrupt_reads(reader.ident)
    finally:
        release.set()
        reader.join(5)
    assert not reader.is_alive() and outcome


def test_find_follows_account_moves_renumbering_and_removals_through_the_account_number_triggers(people):
    """user_account_numbers is kept by the database on every insert, username change, move to another account,
    renumbered account and delete (both databases), and equals the users joined to their accounts."""
    from console.models.entities import UserAccountNumber

    def kept(s) -> set[tuple]:
        return set(s.execute(select(UserAccountNumber.number, UserAccountNumber.username,
                                    UserAccountNumber.user_id)).all())

    def plain(s) -> set[tuple]:
        return set(s.execute(select(Account.number, User.username, User.id)
                             .join(Account, Account.id == User.account_id)).all())

    with people.db.read() as s:
        assert kept(s) == plain(s) and len(kept(s)) == s.scalar(select(func.count(User.id)))
    d = UserDirectory(people)
    with people.db.write() as s:
        user, other = s.scalars(select(User).order_by(User.id).limit(2).offset(10)).all()
        assert user.account_id != other.account_id
        user.username, user.account_id = "zzmoved1", other.account_id
        s.flush()
        uid, number = user.id, s.scalar(select(Account.number).where(Account.id == other.account_id))
    assert uid in {r.id for r in d.window(UserQuery(text=number), 0, 50)}
    with people.db.write() as s:
        s.execute(update(Account).where(Account.number == number).values(number="U0000042"))
    d.invalidate()
    assert d.window(UserQuery(text=number), 0, 50) == []
    assert "zzmoved1" in {r.username for r in d.window(UserQuery(text="u0000042"), 0, 50)}
    with people.db.write() as s:
        s.execute(text("DELETE FROM user_restrictions WHERE user_id = :u"), {"u": uid})
        s.execute(text("DELETE FROM opt_out_acknowledgements WHERE user_id = :u"), {"u": uid})
        s.execute(text("DELETE FROM device_holdings WHERE user_id = :u"), {"u": uid})
        s.execute(text("UPDATE accounts SET rights_holder_id = NULL WHERE rights_holder_id = :u"), {"u": uid})
        s.execute(delete(User).where(User.id == uid))
    demo.generate(people, Figures(), 5, seed=98)  # new users through the load (triggers off, one refill)
    with people.db.read() as s:
        assert kept(s) == plain(s)
        assert s.scalar(select(func.count()).select_from(UserAccountNumber)
                        .where(UserAccountNumber.user_id == uid)) == 0


def test_account_number_triggers_and_migration_agree(db):
    """The users triggers a bulk load restores are the migration's; the accounts trigger stays in place."""
    import importlib

    if not db.is_sqlite:
        pytest.skip("SQLite triggers")
    migration = importlib.import_module("console.migrations.versions.0016_user_account_numbers")
    norm = lambda sql: re.sub(r"\s+", " ", sql).strip()  # noqa: E731
    ours = {norm(v) for k, v in user_index.SQLITE_TRIGGERS.items() if k.startswith("user_account_numbers")}
    theirs = {norm(v) for v in migration.SQLITE_TRIGGERS}
    assert ours < theirs and len(theirs - ours) == 1
    with db.engine.connect() as conn:
        present = {norm(sql) for (sql,) in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'user_account_numbers%'")}
    assert present == theirs


def test_a_demo_writer_stores_none_as_null_and_bools_as_integers_as_the_driver_did(tmp_path, monkeypatch):
    """A writer process registers adapters for None and bools (bulk.load_faster): stored values must be
    exactly what the driver stored without them: NULL, and 1 or 0."""
    import sqlite3

    from sqlalchemy import create_engine

    monkeypatch.setattr(sqlite3, "adapters", dict(sqlite3.adapters))  # process-wide: restored after the test
    engine = create_engine(f"sqlite:///{tmp_path / 'adapters.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (a, b, c, d)")
        conn.exec_driver_sql("INSERT INTO t VALUES (?, ?, ?, ?)", (None, True, False, b"\x00x"))
        plain = conn.exec_driver_sql("SELECT typeof(a), a, typeof(b), b, typeof(c), c, d FROM t").all()
        conn.exec_driver_sql("DELETE FROM t")
    bulk.load_faster(engine)
    engine.dispose()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (?, ?, ?, ?)", (None, True, False, b"\x00x"))
        adapted = conn.exec_driver_sql("SELECT typeof(a), a, typeof(b), b, typeof(c), c, d FROM t").all()
    assert plain == adapted == [("null", None, "integer", 1, "integer", 0, b"\x00x")]
    engine.dispose()


def test_a_new_sqlite_database_has_16_kb_pages_and_an_older_one_keeps_its_own(tmp_path, box, clock):
    """New databases are made with 16 KB pages (a million users' load handles a quarter of the pages); a
    database made before, with 4 KB pages, is opened, upgraded and written as it is."""
    import sqlite3

    from console.models.context import ServiceContext
    from console.models.db import SQLITE_PAGE_SIZE, Database
    from console.models.schema import upgrade

    new = Database(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    upgrade(new)
    with new.read() as s:
        assert s.connection().exec_driver_sql("PRAGMA page_size").scalar() == SQLITE_PAGE_SIZE == 16384
    new.dispose()
    older_path = tmp_path / "older.sqlite3"
    with sqlite3.connect(older_path) as raw:
        raw.execute("PRAGMA page_size = 4096")
        raw.execute("PRAGMA journal_mode = WAL")
    older = Database(f"sqlite:///{older_path}")
    upgrade(older)
    demo.generate(ServiceContext(db=older, box=box, clock=clock), Figures(), 30, seed=3)
    with older.read() as s:
        conn = s.connection()
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("SELECT count(*) FROM users").scalar() >= 30
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    older.dispose()
