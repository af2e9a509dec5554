"""Writing many contacts at once (the import, the CRM sync's pages), through the one raw-SQL bulk
writer (``copilot.bulk_sql``): ``COPY FROM STDIN`` on PostgreSQL, an ``executemany`` of one
``INSERT`` elsewhere; updates on PostgreSQL by COPY into a temporary table and one
``UPDATE ... FROM`` it, elsewhere as one ``executemany`` per set of changed columns. Every write
is scoped to the contacts' organisation. Values are the model's attnames; fields a row does not
give get the model's default, exactly as ``Contact(...)`` would.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from copilot.bulk_sql import insert_rows, model_defaults, update_rows, update_rows_by_copy
from engage.models import Contact, ImportedContact


def contact_defaults() -> dict[str, Any]:
    """attname -> the model default, the base of every new contact's values."""
    return model_defaults(Contact)


def existing_contacts(organization_id: int, emails: list[str]) -> list[tuple[str, int, int]]:
    """(email, id, status id) of the organisation's contacts with these emails. On PostgreSQL
    one array parameter: 2,000 separate ``IN`` parameters cost more to build than to run."""
    if connection.vendor != "postgresql":
        contacts = Contact.objects.filter(organization_id=organization_id, email__in=emails)
        return list(contacts.values_list("email", "pk", "status_id"))
    table = connection.ops.quote_name(Contact._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT email, id, status_id FROM {table} WHERE organization_id = %s AND email = ANY(%s)",  # noqa: S608
            [organization_id, emails],
        )
        return cursor.fetchall()


def insert_contacts(rows: list[dict[str, Any]]) -> None:
    """Insert contacts given as {attname: value} with every column present (see
    ``contact_defaults``). Unique-constraint clashes raise Django's ``IntegrityError``."""
    insert_rows(Contact, rows)


def update_contacts(organization_id: int, changes: list[tuple[int, dict[str, Any]]]) -> None:
    """Set {attname: value} on each contact id; only the columns each row names are written
    (none of the values is ever None: an import never empties a field)."""
    if connection.vendor == "postgresql":
        update_rows_by_copy(Contact, changes, scope={"organization_id": organization_id})
    else:
        update_rows(Contact, changes, scope={"organization_id": organization_id})


def record_imported(organization_id: int, import_id: int, emails: list[str]) -> None:
    """Note the organisation's contacts with these emails as the import's (``ImportedContact``),
    in one ``INSERT … SELECT``: the ids of the contacts just inserted are not known otherwise.
    A contact noted already (a chunk done again after a take-over) is kept as it is."""
    if not emails:
        return
    links = ImportedContact._meta
    columns = ", ".join(
        connection.ops.quote_name(links.get_field(name).column)
        for name in ("organization", "contact_import", "contact")
    )
    table = connection.ops.quote_name(links.db_table)
    contacts = connection.ops.quote_name(Contact._meta.db_table)
    conflict = ", ".join(
        connection.ops.quote_name(links.get_field(name).column) for name in ("contact_import", "contact")
    )
    if connection.vendor == "postgresql":
        match, params = "email = ANY(%s)", [emails]
    else:
        match, params = f"email IN ({', '.join(['%s'] * len(emails))})", list(emails)
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT organization_id, %s, id FROM {contacts} "  # noqa: S608
        f"WHERE organization_id = %s AND {match} ON CONFLICT ({conflict}) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [import_id, organization_id, *params])
