"""Trigram indexes for the contacts search on PostgreSQL.

The list's search is ``icontains`` on four columns, which Django writes as
``UPPER(col::text) LIKE UPPER('%term%')``; a GIN trigram index on exactly that expression lets
PostgreSQL answer it without reading every contact. ``pg_trgm`` ships with PostgreSQL but creating
an extension needs the right privilege: when it is refused the indexes are skipped (the search
still works, only slower) and the migration says so. Other databases are left alone.
"""

from django.db import DatabaseError, migrations, transaction

COLUMNS = ("first_name", "last_name", "email", "company")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        print(f"\n  pg_trgm unavailable ({exc.__class__.__name__}): contact search runs without its indexes.")
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS contact_{column}_trgm ON engage_contact "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS contact_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("engage", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
