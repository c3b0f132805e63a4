"""Alembic environment and revisions for the kpibot schema."""
