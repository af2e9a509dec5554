"""Field values: how stored values are read (incl. server-computed fields), written and shown.

Stored form: text types as ``str``, booleans as ``bool`` (absent = false), numbers as ``int`` /
``float``, dates as ``"YYYY-MM-DD"``, datetimes as whole epoch seconds. Computed fields (``Name``,
compound addresses, ``Task.IsClosed`` …) are never stored: they are derived when read, so bulk
generated records stay small.
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/compound_fields_address.htm

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from integrations.sandbox.salesforce import ids
from integrations.sandbox.salesforce.errors import SalesforceError
from integrations.sandbox.salesforce.schema import (
    CLOSED_TASK_STATUSES,
    NUMBER_TYPES,
    TEXT_TYPES,
    Field,
    ObjectDef,
)
from integrations.sandbox.salesforce.store import iso

if TYPE_CHECKING:
    from integrations.sandbox.salesforce.store import Record, SalesforceStore

Getter = Callable[["Record"], Any]
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.\d+)?\s*(Z|[+\- ]\d{2}:?\d{2})?", re.IGNORECASE
)


def parse_datetime(text: str) -> int | None:
    """Epoch seconds of an ISO-8601 datetime as clients send them (``Z``, ``+0000``, ``+00:00``);
    a space where the offset's ``+`` should be is an unencoded ``+`` in a query string."""
    match = _DATETIME.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    day, clock, zone = match.groups()
    zone = (zone or "Z").upper().replace(" ", "+")
    if zone != "Z" and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = dt.datetime.fromisoformat(f"{day}T{clock}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        return None
    return int(parsed.timestamp())


def _full_name(store: SalesforceStore, record: Record) -> str | None:
    parts = [record.get("FirstName"), record.get("LastName")]
    return " ".join(p for p in parts if p) or None


def _address(prefix: str) -> Callable[[SalesforceStore, Record], Any]:
    keys = (("street", "Street"), ("city", "City"), ("state", "State"),
            ("postalCode", "PostalCode"), ("country", "Country"))  # fmt: skip

    def compound(store: SalesforceStore, record: Record) -> dict[str, Any] | None:
        parts = {key: record.get(f"{prefix}{name}") for key, name in keys}
        if not any(parts.values()):
            return None
        return {"city": parts["city"], "country": parts["country"], "geocodeAccuracy": None,
                "latitude": None, "longitude": None, "postalCode": parts["postalCode"],
                "state": parts["state"], "street": parts["street"]}  # fmt: skip

    return compound


def _task_account(store: SalesforceStore, record: Record) -> str | None:
    what, who = record.get("WhatId"), record.get("WhoId")
    if what and what.startswith("001"):
        return what
    if who and who.startswith("003"):
        contact = store.records["Contact"].get(who)
        return contact.get("AccountId") if contact else None
    return None


DERIVED: dict[tuple[str, str], Callable[[SalesforceStore, Record], Any]] = {
    ("Lead", "Name"): _full_name,
    ("Contact", "Name"): _full_name,
    ("User", "Name"): _full_name,
    ("Lead", "Address"): _address(""),
    ("Contact", "MailingAddress"): _address("Mailing"),
    ("Account", "BillingAddress"): _address("Billing"),
    ("Organization", "Address"): _address(""),
    ("Task", "IsClosed"): lambda store, r: r.get("Status") in CLOSED_TASK_STATUSES,
    ("Task", "IsHighPriority"): lambda store, r: r.get("Priority") == "High",
    ("Task", "AccountId"): _task_account,
}


def getter(store: SalesforceStore, obj: ObjectDef, field: Field) -> Getter:
    """Reads the stored (or derived) value of ``field``, for filters, sorting and output."""
    name = field.name
    derived = DERIVED.get((obj.name, name))
    if derived is not None:
        return lambda record: derived(store, record)
    if field.type == "boolean":
        return lambda record: record.get(name, False)
    return lambda record: record.get(name)


def output(field: Field) -> Callable[[Any], Any]:
    """Stored value -> JSON value (datetimes in Salesforce's ``….000+0000`` form)."""
    if field.type == "datetime":
        return lambda value: None if value is None else iso(value)
    return lambda value: value


def record_json(store: SalesforceStore, obj: ObjectDef, record: Record, version: str) -> dict[str, Any]:
    """A record as ``GET sobjects/<Type>/<Id>`` answers it: attributes, then every field."""
    body: dict[str, Any] = {"attributes": attributes(obj.name, record["Id"], version)}
    for field in obj.fields:
        body[field.name] = output(field)(getter(store, obj, field)(record))
    return body


def attributes(sobject: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def coerce(store: SalesforceStore, obj: ObjectDef, field: Field, raw: Any) -> Any:
    """A JSON value from a request body, checked and converted to the stored form."""
    if raw is None or (raw == "" and field.type in TEXT_TYPES | {"date", "datetime"}):
        return False if field.type == "boolean" else None
    kind = field.type
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise _parse_error("boolean", raw)
    if kind in NUMBER_TYPES:
        return _number(field, raw)
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(raw)[:10]).isoformat()
        except ValueError:
            raise _parse_error("date", raw) from None
    if kind == "datetime":
        seconds = parse_datetime(str(raw))
        if seconds is None:
            raise _parse_error("datetime", raw)
        return seconds
    if isinstance(raw, bool | list | dict):
        raise _parse_error("String", raw)
    value = str(raw)
    if kind == "reference":
        return _reference(store, field, value)
    if field.length and len(value) > field.length:
        raise SalesforceError(
            400, "STRING_TOO_LONG",
            f"{field.label}: data value too large: {value} (max length={field.length})", [field.name],
        )  # fmt: skip
    if kind == "email" and not EMAIL.fullmatch(value):
        raise SalesforceError(
            400, "INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {value}", [field.name]
        )
    if field.restricted_picklist and value not in {v.value for v in field.picklist}:
        raise SalesforceError(
            400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{field.label}: bad value for restricted picklist field: {value}", [field.name],
        )  # fmt: skip
    return value


def _number(field: Field, raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise _parse_error(field.type, raw)
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise _parse_error(field.type, raw) from None
    if field.type == "int":
        if not number.is_integer():
            raise _parse_error("int", raw)
        return int(number)
    return number


def _reference(store: SalesforceStore, field: Field, value: str) -> str:
    full = ids.normalize(value)
    if full is None:
        raise SalesforceError(
            400, "MALFORMED_ID", f"{field.label}: id value of incorrect type: {value}", [field.name]
        )
    found = store.find(full)
    if found is not None and found[0].name not in field.reference_to:
        raise SalesforceError(
            400, "FIELD_INTEGRITY_EXCEPTION",
            f"{field.label}: id value of incorrect type: {value}", [field.name],
        )  # fmt: skip
    if found is None or found[1].get("IsDeleted"):
        raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [field.name])
    return full


def _parse_error(kind: str, raw: Any) -> SalesforceError:
    token = "VALUE_STRING" if isinstance(raw, str) else "VALUE_NUMBER_INT"
    if isinstance(raw, bool):
        token = "VALUE_TRUE" if raw else "VALUE_FALSE"
    elif isinstance(raw, float):
        token = "VALUE_NUMBER_FLOAT"
    elif isinstance(raw, list | dict):
        token = "START_ARRAY" if isinstance(raw, list) else "START_OBJECT"
    return SalesforceError(
        400, "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {token} value {raw} or request may be missing "
        "a required field at [line:1, column:1]",
    )  # fmt: skip
