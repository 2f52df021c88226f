"""The users-list benchmark says truly where its database came from: the build it timed, or an existing database
it reused and did not build (no build time is claimed for it)."""

from __future__ import annotations

import shutil

from benchmarks.users_list import database_line, ensure_database


def test_a_database_built_by_the_benchmark_and_one_it_only_reused_are_described_truly(tmp_path):
    built = tmp_path / "built.sqlite3"
    info = ensure_database(built, 60)
    line = database_line(info, built, cpus=2, load=(1.5, 1.0, 0.5))
    assert not info["reused"] and f"({info['users']:,} users" in line
    assert f"demo build {info['build_seconds']} s on " in line and " (CPU " in line and "s writing, load" in line
    assert line.endswith("; measured on 2 CPUs at load average 1.5, 1.0, 0.5)")
    again = database_line(ensure_database(built, 60), built)
    assert "reused the database this script built earlier: demo build" in again

    other = tmp_path / "other.sqlite3"  # as `sls-console demo` leaves one: the file without this script's record
    shutil.copy(built, other)
    info = ensure_database(other, 60)
    line = database_line(info, other, cpus=2, load=(1.5, 1.0, 0.5))
    assert info["reused"] and info["users"] >= 60
    assert (f"reused an existing database of {info['users']:,} users, not built by this script; measured on 2 CPUs"
            in line)
    assert "?" not in line and "None" not in line and "demo build" not in line
