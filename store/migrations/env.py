"""Alembic environment: migrates the connection the store hands over, or (from the ``alembic``
command, ``alembic -c store/alembic.ini ...``) the database of ``$RM_ADVISOR_DB_URL``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from rm_advisor.store.database import MIGRATION_LOCK, Database
from rm_advisor.store.schema import Base


def run(connection: Connection) -> None:
    # batch mode lets later migrations alter tables on SQLite, which has no ALTER COLUMN
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # two servers starting on a new database must not both create the tables
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    db = Database(migrate=False)
    with db.engine.connect() as conn:
        run(conn)
    db.close()
