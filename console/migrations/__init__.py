"""Alembic migrations: every schema change, one revision each."""
