"""Alembic migrations; `laurel db upgrade` runs them (see adapters/persistence/migrate.py)."""
