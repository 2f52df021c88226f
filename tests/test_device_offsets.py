"""Finding a device's row in the Devices window's list by query (its offset among the devices the filter lists,
newest first) instead of reading the rows in turn: equal to the plain query's position, None when not listed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from console.models import demo, device_list
from console.models.devices import DeviceQuery, DeviceService
from console.models.entities import SecurityDevice
from console.models.enums import DeviceKind, DeviceState
from console.models.settings import Figures

QUERIES = (DeviceQuery(), DeviceQuery(kind=DeviceKind.dsc_plus), DeviceQuery(state=DeviceState.active),
           DeviceQuery(kind=DeviceKind.dsc_plus, state=DeviceState.in_stock), DeviceQuery(serial_prefix="DSC0"),
           DeviceQuery(overdue=True))


@pytest.fixture
def devices(ctx):
    demo.generate(ctx, Figures(), 300, seed=7)
    return DeviceService(ctx)


@pytest.mark.parametrize("query", QUERIES, ids=repr)
def test_offset_of_a_device_is_its_row_in_the_list(devices, query):
    listed = [row.id for row in devices.window(query, 0, 10**6)]
    assert len(listed) == devices.count(query)
    for row, device_id in list(enumerate(listed))[:: max(len(listed) // 25, 1)]:
        assert devices.offset_of(query, device_id) == row
    with devices.ctx.db.read() as s:
        every = set(s.scalars(select(SecurityDevice.id)))
    for device_id in sorted(every - set(listed))[:25]:
        assert devices.offset_of(query, device_id) is None
    assert devices.offset_of(query, 0) is None and devices.offset_of(query, 2**70) is None


def test_offset_of_is_two_index_searches_on_sqlite(db, devices):
    """The lookup and the count read the primary key's range: no step scans the devices table row by row."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    statements = []

    class Recording:
        def __init__(self, session):
            self.session = session

        def scalar(self, stmt):
            statements.append(stmt)
            return self.session.scalar(stmt)

    query = DeviceQuery(kind=DeviceKind.dsc_plus)
    oldest = devices.window(query, devices.count(query) - 1, 1)[0].id
    with devices.ctx.db.read() as s:
        assert device_list.offset_of(Recording(s), query, oldest, devices.ctx.clock.now()) == devices.count(query) - 1
    assert len(statements) == 2
    with db.engine.connect() as conn:
        for stmt in statements:
            compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
            steps = [p for p in plan if "devices" in p]
            assert steps and all(p.startswith("SEARCH") for p in steps), plan
