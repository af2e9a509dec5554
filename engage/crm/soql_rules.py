"""Sync rules (G4): conditions on a Salesforce object's fields, combined with AND or OR, compiled
into a SOQL WHERE clause. Pure.

The compiled clause is safe by construction: field names come only from the describe (so a
name is an identifier Salesforce gave us, never user text), operators only from the table
below, and every value is parsed and re-rendered as a literal of the field's type: strings
quoted with SOQL's escapes (``\\`` ``\\'`` and, inside LIKE, ``\\%`` ``\\_``), numbers as
Decimals, dates as ``YYYY-MM-DD``, booleans as ``true``/``false``, picklist values checked
against the picklist. Nothing a user types can change the shape of the query.

Reference: SOQL and SOSL Reference, "Quoted String Escape Sequences" and "Comparison
Operators" (developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from engage.crm.describe import (
    BOOLEAN_TYPES,
    DATE_TYPES,
    DATETIME_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    Describe,
    FieldDescribe,
    find_field,
    picklist_values,
)
from engage.crm.fields import parse_date, parse_decimal

AND, OR = "AND", "OR"
COMBINATORS = (AND, OR)
MAX_CONDITIONS = 25
MAX_VALUE_LENGTH = 255
MAX_LIST_VALUES = 100
RECORD_ID_RE = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")


@dataclass(frozen=True)
class Operator:
    key: str
    label: str
    takes_value: bool = True
    takes_list: bool = False


_OPS = {
    op.key: op
    for op in (
        Operator("equals", "equals"),
        Operator("not_equals", "does not equal"),
        Operator("contains", "contains"),
        Operator("not_contains", "does not contain"),
        Operator("starts_with", "starts with"),
        Operator("in_list", "is any of", takes_list=True),
        Operator("lt", "is less than"),
        Operator("lte", "is at most"),
        Operator("gt", "is greater than"),
        Operator("gte", "is at least"),
        Operator("on", "is on"),
        Operator("before", "is before"),
        Operator("after", "is after"),
        Operator("is_true", "is checked", takes_value=False),
        Operator("is_false", "is not checked", takes_value=False),
        Operator("is_empty", "is empty", takes_value=False),
        Operator("is_not_empty", "is not empty", takes_value=False),
    )
}

TEXT, PICKLIST, NUMBER, BOOLEAN, DATE, DATETIME, RECORD_ID = (
    "text",
    "picklist",
    "number",
    "boolean",
    "date",
    "datetime",
    "record_id",
)
OPERATORS_BY_FAMILY: dict[str, tuple[str, ...]] = {
    TEXT: ("equals", "not_equals", "contains", "not_contains", "starts_with", "is_empty", "is_not_empty"),
    PICKLIST: ("equals", "not_equals", "in_list", "is_empty", "is_not_empty"),
    NUMBER: ("equals", "not_equals", "lt", "lte", "gt", "gte", "is_empty", "is_not_empty"),
    BOOLEAN: ("is_true", "is_false"),
    DATE: ("on", "before", "after", "is_empty", "is_not_empty"),
    DATETIME: ("on", "before", "after", "is_empty", "is_not_empty"),
    RECORD_ID: ("equals", "not_equals", "is_empty", "is_not_empty"),
}
_COMPARE = {"equals": "=", "not_equals": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def family(field: FieldDescribe) -> str | None:
    """Which operator family a field's type belongs to; None when rules cannot use it."""
    kind = field.get("type")
    if kind == "picklist":
        return PICKLIST
    if kind in TEXT_TYPES:
        return TEXT
    if kind in ("id", "reference"):
        return RECORD_ID
    if kind in NUMBER_TYPES:
        return NUMBER
    if kind in BOOLEAN_TYPES:
        return BOOLEAN
    if kind in DATE_TYPES:
        return DATE
    if kind in DATETIME_TYPES:
        return DATETIME
    return None


def operator(key: str) -> Operator | None:
    return _OPS.get(key)


def operators_for(field: FieldDescribe) -> list[Operator]:
    fam = family(field)
    return [_OPS[k] for k in OPERATORS_BY_FAMILY.get(fam or "", ())]


def rule_fields(describe: Describe) -> list[FieldDescribe]:
    """Fields a rule may use: filterable in SOQL and of a type with operators, by label."""
    return sorted(
        (f for f in describe.get("fields", []) if f.get("filterable") and family(f) is not None),
        key=lambda f: ((f.get("label") or f["name"]).lower(), f["name"]),
    )


# --- Literals ---------------------------------------------------------------------------------------


def soql_string(value: str, *, like: bool = False) -> str:
    """``value`` as a quoted SOQL string literal. Backslash first, so the escapes added after it
    are not themselves escaped again; inside LIKE, ``%`` and ``_`` are escaped to stay literal."""
    out = value.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')
    out = (
        out.replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
        .replace("\b", "\\b")
        .replace("\f", "\\f")
    )
    if like:
        out = out.replace("%", "\\%").replace("_", "\\_")
    return f"'{out}'"


def soql_number(value: Any) -> str:
    number = parse_decimal(value)
    # Fixed-point, never exponent form (``1E+6`` is not SOQL).
    return format(number, "f")


def soql_datetime(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


# --- Conditions -------------------------------------------------------------------------------------


class RuleError(ValueError):
    """One condition cannot be compiled; the message says why in the admin's words."""


def _clean_text(value: Any, label: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RuleError(f"Type a value for {label}.")
    if isinstance(value, list | tuple):
        raise RuleError(f"{label} takes one value.")
    text = str(value).strip()
    if len(text) > MAX_VALUE_LENGTH:
        raise RuleError(f"Keep the value for {label} to {MAX_VALUE_LENGTH} characters or fewer.")
    if "\x00" in text:
        raise RuleError(f"The value for {label} has a character Salesforce cannot search for.")
    return text


def _list_values(value: Any) -> list[str]:
    if isinstance(value, str):
        items = value.splitlines()
    elif isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = []
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


def compile_condition(condition: Mapping[str, Any], describe: Describe) -> str:
    """One condition as SOQL, or RuleError."""
    field, fam = _condition_field(condition, describe)
    ident = field["name"]  # Salesforce's spelling, from the describe, never the user's text
    label = field.get("label") or ident
    key = str(condition.get("operator") or "")
    if key not in OPERATORS_BY_FAMILY[fam]:
        raise RuleError(f"Choose how to compare {label}.")
    if key in _NO_VALUE:
        return f"{ident} {_NO_VALUE[key]}"
    return _COMPILERS[fam](ident, label, key, condition.get("value"), field)


def _condition_field(condition: Mapping[str, Any], describe: Describe) -> tuple[FieldDescribe, str]:
    """The condition's field from the describe and its family; RuleError when there is none or
    Salesforce cannot filter by it."""
    name = str(condition.get("field") or "").strip()
    if not name:
        raise RuleError("Choose a field.")
    field = find_field(describe, name)
    sobject = describe.get("name", "the object")
    if field is None:
        raise RuleError(f"Salesforce has no field {name} on {sobject}.")
    fam = family(field)
    if not field.get("filterable") or fam is None:
        raise RuleError(f"Salesforce cannot filter {sobject}s by {field['name']}.")
    return field, fam


# Operators that take no value, and the SOQL they become after the field's name.
_NO_VALUE = {"is_empty": "= null", "is_not_empty": "!= null", "is_true": "= true", "is_false": "= false"}


def _picklist_soql(ident: str, label: str, key: str, value: Any, field: FieldDescribe) -> str:
    allowed = picklist_values(field)
    if key == "in_list":
        chosen = _list_values(value)
        if not chosen:
            raise RuleError(f"Pick at least one value of {label}.")
        if len(chosen) > MAX_LIST_VALUES:
            raise RuleError(f"Pick at most {MAX_LIST_VALUES} values of {label}.")
        unknown = [v for v in chosen if v not in allowed]
        if unknown:
            raise RuleError(f"“{unknown[0]}” is not a value of {label}.")
        return f"{ident} IN ({', '.join(soql_string(v) for v in chosen)})"
    text = _clean_text(value, label)
    if text not in allowed:
        raise RuleError(f"“{text}” is not a value of {label}.")
    return f"{ident} {_COMPARE[key]} {soql_string(text)}"


def _text_soql(ident: str, label: str, key: str, value: Any, field: FieldDescribe) -> str:
    text = _clean_text(value, label)
    pattern = soql_string(text, like=True)[1:-1]  # escaped, unquoted: goes inside '...%'
    if key == "contains":
        return f"{ident} LIKE '%{pattern}%'"
    if key == "not_contains":
        return f"(NOT {ident} LIKE '%{pattern}%')"
    if key == "starts_with":
        return f"{ident} LIKE '{pattern}%'"
    return f"{ident} {_COMPARE[key]} {soql_string(text)}"


def _record_id_soql(ident: str, label: str, key: str, value: Any, field: FieldDescribe) -> str:
    text = _clean_text(value, label)
    if not RECORD_ID_RE.fullmatch(text):
        raise RuleError(f"{label} compares with a Salesforce record id (15 or 18 letters and digits).")
    return f"{ident} {_COMPARE[key]} '{text}'"


def _number_soql(ident: str, label: str, key: str, value: Any, field: FieldDescribe) -> str:
    text = _clean_text(value, label)
    try:
        literal = soql_number(text)
    except ValueError as exc:
        raise RuleError(f"{label} compares with a number, like 1000000.") from exc
    return f"{ident} {_COMPARE[key]} {literal}"


def _day(value: Any, label: str) -> dt.date:
    text = _clean_text(value, label)
    try:
        return parse_date(text)
    except ValueError as exc:
        raise RuleError(f"{label} compares with a date written as YYYY-MM-DD.") from exc


def _date_soql(ident: str, label: str, key: str, value: Any, field: FieldDescribe) -> str:
    return f"{ident} {dict(on='=', before='<', after='>')[key]} {_day(value, label).isoformat()}"


def _datetime_soql(ident: str, label: str, key: str, value: Any, field: FieldDescribe) -> str:
    """The value is a day; date/times compare in UTC (SOQL's literals)."""
    day = _day(value, label)
    start, end = soql_datetime(day), soql_datetime(day + dt.timedelta(days=1))
    if key == "on":
        return f"({ident} >= {start} AND {ident} < {end})"
    if key == "before":
        return f"{ident} < {start}"
    return f"{ident} >= {end}"


_COMPILERS = {
    PICKLIST: _picklist_soql,
    TEXT: _text_soql,
    RECORD_ID: _record_id_soql,
    NUMBER: _number_soql,
    DATE: _date_soql,
    DATETIME: _datetime_soql,
}


def check_conditions(conditions: Iterable[Mapping[str, Any]], describe: Describe) -> dict[int, str]:
    """Per condition index, why it cannot be compiled (empty when all can)."""
    errors: dict[int, str] = {}
    for index, condition in enumerate(conditions):
        try:
            compile_condition(condition, describe)
        except RuleError as exc:
            errors[index] = str(exc)
    return errors


def compile_where(conditions: Iterable[Mapping[str, Any]], combinator: str, describe: Describe) -> str:
    """The SOQL WHERE expression (without ``WHERE``) of a rule, e.g.
    ``(Title LIKE '%Sales%' OR AnnualRevenue > 1000000)``; ``""`` for a rule without conditions
    (every record). ValidationError, each message naming its condition, when any is invalid."""
    conditions = list(conditions)
    if combinator not in COMBINATORS:
        raise ValidationError("Combine the conditions with AND or OR.")
    if len(conditions) > MAX_CONDITIONS:
        raise ValidationError(f"A rule has at most {MAX_CONDITIONS} conditions.")
    parts: list[str] = []
    problems: list[str] = []
    for index, condition in enumerate(conditions, start=1):
        try:
            parts.append(compile_condition(condition, describe))
        except RuleError as exc:
            problems.append(f"Condition {index}: {exc}")
    if problems:
        raise ValidationError(problems)
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return "(" + f" {combinator} ".join(parts) + ")"
