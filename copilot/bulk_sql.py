"""Raw-SQL multi-row writes, faster than the ORM's bulk methods: the one bulk writer of Cadence
(copilot's ingestion and Engage's contact import and CRM sync use it).

At a page of 500 messages, or an import of 100,000 contacts, model instances and Django's bulk
compilers cost more than the database does: ``bulk_create`` splits a page into dozens of
statements on SQLite (999 parameters per query) and sets no ids with ``ignore_conflicts``, and
``bulk_update`` builds a ``CASE`` over the whole batch for every field, which the database
evaluates row by row. So rows go as plain values ({attname: value}; a column a row does not give
takes the model default, exactly as ``Model(...)`` would):

- ``insert_rows``: ``COPY FROM STDIN`` on PostgreSQL, an ``executemany`` of one ``INSERT``
  elsewhere (sqlite3 loops in C). Unique-constraint clashes raise Django's ``IntegrityError``.
- ``upsert_rows``: idempotent ``INSERT … ON CONFLICT`` — the same SQL on SQLite (3.24+) and
  PostgreSQL — keyed on the model's unique constraint, so a page delivered twice, or two workers
  writing the same activity, change nothing. PostgreSQL gets one
  ``INSERT … SELECT FROM unnest(<one array per column>)``, SQLite an ``executemany``.
- ``update_rows``: one ``executemany`` per set of changed columns; ``update_rows_by_copy`` (PostgreSQL
  only, for large batches): COPY into a temporary table and one set-based ``UPDATE … FROM`` it.
- ``delete_ids``: ``DELETE … WHERE id IN (…)`` without Django's collector.

Values are converted only where the database needs it (datetimes, and JSON on SQLite): the rest
are plain strings, numbers and booleans already. Identifiers come from the model's metadata;
every value is a parameter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models


def _db():
    return connections[DEFAULT_DB_ALIAS]


def _q(name: str) -> str:
    return _db().ops.quote_name(name)


def _fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def model_defaults(model: type[models.Model]) -> dict[str, Any]:
    """attname -> the model default, the base of a new row's values."""
    return {f.attname: f.get_default() for f in _fields(model)}


def _converter(field: models.Field, db) -> Callable[[Any], Any] | None:
    if isinstance(field, models.JSONField):
        return None if db.vendor == "postgresql" else (lambda value: field.get_db_prep_save(value, db))
    if isinstance(field, models.DateField):
        return lambda value: field.get_db_prep_save(value, db)
    return None


def insert_rows(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert rows given as {attname: value} with every column present (see ``model_defaults``).
    Unique-constraint clashes raise Django's ``IntegrityError``."""
    if not rows:
        return
    db = _db()
    fields = _fields(model)
    attnames = [f.attname for f in fields]
    table, columns = _q(model._meta.db_table), ", ".join(_q(f.column) for f in fields)
    with db.cursor() as cursor, db.wrap_database_errors:
        if db.vendor == "postgresql":
            json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
            # Reference: https://www.psycopg.org/psycopg3/docs/basic/copy.html
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    values = [row[a] for a in attnames]
                    for i in json_at:
                        values[i] = _column(fields[i], [values[i]])[0]
                    copy.write_row(values)
            return
        converters = [(i, c) for i, c in enumerate(_converter(f, db) for f in fields) if c is not None]
        params = []
        for row in rows:
            values = [row[a] for a in attnames]
            for i, convert in converters:
                values[i] = convert(values[i])
            params.append(values)
        placeholders = ", ".join(["%s"] * len(fields))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", params)  # noqa: S608


def upsert_rows(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """Insert ``rows`` ({attname: value}; missing columns take the model default). A row whose
    ``conflict`` columns match an existing row updates only the ``update`` columns (none: the
    existing row is kept as it is). Of rows sharing a key, the first is written — the last when
    updating — as one row after another would."""
    unique: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[a] for a in conflict)
        if update or key not in unique:
            unique[key] = row
    if not unique:
        return
    db = _db()
    fields = _fields(model)
    by_attname = {f.attname: f for f in fields}
    defaults = {f.attname: f.get_default() for f in fields}
    converters = [_converter(f, db) for f in fields]
    params = []
    for row in unique.values():
        values = [row[f.attname] if f.attname in row else defaults[f.attname] for f in fields]
        for i, convert in enumerate(converters):
            if convert is not None:
                values[i] = convert(values[i])
        params.append(values)

    table = _q(model._meta.db_table)
    columns = ", ".join(_q(f.column) for f in fields)
    target = ", ".join(_q(by_attname[a].column) for a in conflict)
    if update:
        sets = ", ".join(f"{_q(by_attname[a].column)} = EXCLUDED.{_q(by_attname[a].column)}" for a in update)
        action = f"DO UPDATE SET {sets}"
    else:
        action = "DO NOTHING"
    # Identifiers come from the model's metadata; every value is a parameter.
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            # One array parameter per column: a 5,000-row page is one short statement, where a
            # VALUES list would make the driver parse tens of thousands of placeholders.
            casts = ", ".join(f"%s::{_array_type(f, db)}" for f in fields)
            sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({casts}) ON CONFLICT ({target}) {action}"  # noqa: S608
            cursor.execute(sql, [_column(f, [values[i] for values in params]) for i, f in enumerate(fields)])
        else:
            one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
            sql = f"INSERT INTO {table} ({columns}) VALUES {one_row} ON CONFLICT ({target}) {action}"  # noqa: S608
            cursor.executemany(sql, params)


def _array_type(field: models.Field, db) -> str:
    if isinstance(field, models.JSONField):
        return "text[]::jsonb[]"
    return f"{field.db_type(db)}[]"


def _column(field: models.Field, values: list[Any]) -> list[Any]:
    if isinstance(field, models.JSONField):
        return [None if v is None else json.dumps(v, cls=field.encoder) for v in values]
    return values


def update_rows(
    model: type[models.Model],
    changes: Sequence[tuple[int, dict[str, Any]]],
    *,
    scope: dict[str, Any] | None = None,
) -> None:
    """Set {attname: value} on rows by id: one ``executemany`` per set of changed columns. Only
    rows that also match ``scope`` ({attname: value}, e.g. the organisation) change."""
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
    for pk, values in changes:
        if values:
            groups.setdefault(tuple(sorted(values)), []).append((pk, values))
    if not groups:
        return
    db = _db()
    by_attname = {f.attname: f for f in _fields(model)}
    scope = scope or {}
    where = " AND ".join([f"{_q('id')} = %s", *(f"{_q(by_attname[a].column)} = %s" for a in scope)])
    table = _q(model._meta.db_table)
    with db.cursor() as cursor:
        for attnames, group in groups.items():
            fields = [by_attname[a] for a in attnames]
            sets = ", ".join(f"{_q(f.column)} = %s" for f in fields)
            sql = f"UPDATE {table} SET {sets} WHERE {where}"  # noqa: S608 (identifiers from the model)
            cursor.executemany(
                sql,
                [
                    [f.get_db_prep_save(values[f.attname], db) for f in fields] + [pk, *scope.values()]
                    for pk, values in group
                ],
            )


def update_rows_by_copy(
    model: type[models.Model],
    changes: Sequence[tuple[int, dict[str, Any]]],
    *,
    scope: dict[str, Any] | None = None,
) -> None:
    """PostgreSQL: ``update_rows`` for large batches. The changes go to a temporary table by COPY,
    then one set-based UPDATE; a NULL there means "keep the row's value" (so no change may set a
    column to None)."""
    if not changes:
        return
    db = _db()
    by_attname = {f.attname: f for f in _fields(model)}
    attnames = sorted({a for _, values in changes for a in values})
    fields = [by_attname[a] for a in attnames]
    scope = scope or {}
    table, temp = _q(model._meta.db_table), _q(f"{model._meta.db_table}_changes")
    definitions = ", ".join(f"{_q(f.column)} {f.db_type(db)}" for f in fields)
    assignments = ", ".join(f"{_q(f.column)} = COALESCE(t.{_q(f.column)}, c.{_q(f.column)})" for f in fields)
    where = " AND ".join(["c.id = t.id", *(f"c.{_q(by_attname[a].column)} = %s" for a in scope)])
    with db.cursor() as cursor, db.wrap_database_errors:
        cursor.execute(f"CREATE TEMPORARY TABLE {temp} (id bigint PRIMARY KEY, {definitions})")
        with cursor.cursor.copy(f"COPY {temp} FROM STDIN") as copy:
            for pk, values in changes:
                copy.write_row([pk, *(values.get(a) for a in attnames)])
        cursor.execute(
            f"UPDATE {table} AS c SET {assignments} FROM {temp} AS t WHERE {where}",  # noqa: S608
            list(scope.values()),
        )
        cursor.execute(f"DROP TABLE {temp}")


def delete_ids(model: type[models.Model], ids: Sequence[int]) -> None:
    """``DELETE … WHERE id IN (…)`` in one statement, without Django's collector (which reads the
    rows and deletes 100 at a time): for rows whose dependants the caller has deleted already."""
    ids = list(ids)
    if not ids:
        return
    table = _q(model._meta.db_table)
    with _db().cursor() as cursor:
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {table} WHERE {_q('id')} IN ({placeholders})", chunk)  # noqa: S608
