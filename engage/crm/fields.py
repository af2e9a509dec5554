"""The Engage side of the field mapping (G3): which Engage fields each CRM object fills, their
kinds, which are required, and which Salesforce field types each kind can take. Also the value
conversions between the two sides. Pure: no database, no network."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from copilot.links import external_url
from engage.crm.describe import (
    BOOLEAN_TYPES,
    DATE_TYPES,
    DATETIME_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldDescribe,
    picklist_values,
)
from engage.models import Account, Contact

LEAD, CONTACT, ACCOUNT = "Lead", "Contact", "Account"
MAPPED_OBJECTS = (LEAD, CONTACT, ACCOUNT)

# Kinds of Engage field, and the Salesforce field types each can be filled from.
TEXT, EMAIL, PHONE, URL, BOOL, STATUS = "text", "email", "phone", "url", "bool", "status"
COMPATIBLE_TYPES: dict[str, frozenset[str]] = {
    TEXT: TEXT_TYPES | {"picklist"},
    EMAIL: frozenset({"email", "string"}),
    PHONE: frozenset({"phone", "string"}),
    URL: frozenset({"url", "string"}),
    BOOL: BOOLEAN_TYPES,
    STATUS: frozenset({"picklist"}),
}
# Said in messages: "Email Opt Out needs a checkbox field".
KIND_WANTS = {
    TEXT: "a text or picklist",
    EMAIL: "an email or text",
    PHONE: "a phone or text",
    URL: "a URL or text",
    BOOL: "a checkbox",
    STATUS: "a picklist",
}

TRUE_WORDS = frozenset({"true", "yes", "1", "on", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "off", "n"})

_validate_email = EmailValidator()


@dataclass(frozen=True)
class EngageField:
    name: str
    label: str
    kind: str
    max_length: int | None  # None for non-text kinds


def _text(model: type, name: str, label: str, kind: str = TEXT) -> EngageField:
    return EngageField(name, label, kind, model._meta.get_field(name).max_length)


# In the order the mapping table lists them.
PERSON_FIELDS: tuple[EngageField, ...] = (
    _text(Contact, "last_name", "Last Name"),
    _text(Contact, "first_name", "First Name"),
    _text(Contact, "title", "Job Title"),
    _text(Contact, "company", "Company"),
    _text(Contact, "email", "Email", EMAIL),
    _text(Contact, "business_phone", "Business Phone", PHONE),
    _text(Contact, "direct_phone", "Direct Phone", PHONE),
    _text(Contact, "mobile_phone", "Mobile Phone", PHONE),
    _text(Contact, "street", "Street"),
    _text(Contact, "city", "City"),
    _text(Contact, "state", "State/Province"),
    _text(Contact, "postal_code", "Zip/Postal Code"),
    _text(Contact, "country", "Country"),
    EngageField("status", "Contact Status", STATUS, None),
    EngageField("email_opt_out", "Email Opt Out", BOOL, None),
)
ACCOUNT_FIELDS: tuple[EngageField, ...] = (
    _text(Account, "name", "Company Name"),
    _text(Account, "domain", "Domain"),
    _text(Account, "website", "Website", URL),
    _text(Account, "phone", "Phone", PHONE),
    _text(Account, "street", "Street"),
    _text(Account, "city", "City"),
    _text(Account, "state", "State/Province"),
    _text(Account, "postal_code", "Zip/Postal Code"),
    _text(Account, "country", "Country"),
)
ENGAGE_FIELDS: dict[str, tuple[EngageField, ...]] = {
    LEAD: PERSON_FIELDS,
    CONTACT: PERSON_FIELDS,
    ACCOUNT: ACCOUNT_FIELDS,
}
REQUIRED_FIELDS: dict[str, frozenset[str]] = {
    LEAD: frozenset({"last_name", "email", "company"}),
    CONTACT: frozenset({"last_name", "email"}),
    ACCOUNT: frozenset({"name"}),
}
# Every Engage field by name; Contact and Account share the address fields, which agree.
_BY_NAME: dict[str, EngageField] = {f.name: f for fields in ENGAGE_FIELDS.values() for f in fields}


def engage_field(name: str, sobject: str | None = None) -> EngageField | None:
    if sobject is not None:
        return next((f for f in ENGAGE_FIELDS.get(sobject, ()) if f.name == name), None)
    return _BY_NAME.get(name)


def is_required(sobject: str, name: str) -> bool:
    return name in REQUIRED_FIELDS.get(sobject, frozenset())


def is_compatible(field: EngageField, crm: FieldDescribe) -> bool:
    return crm.get("type") in COMPATIBLE_TYPES[field.kind]


# --- Values ---------------------------------------------------------------------------------------


def parse_bool(value: Any) -> bool:
    """``True``/``False`` from a JSON boolean or a typed word; ValueError otherwise."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


def parse_decimal(value: Any) -> Decimal:
    """A finite number; ValueError otherwise (so NaN and Infinity never reach a query)."""
    if isinstance(value, bool):
        raise ValueError("a checkbox value is not a number")
    try:
        number = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"not a date written as YYYY-MM-DD: {value!r}") from exc


def check_salesforce_value(value: str, crm: FieldDescribe) -> str | None:
    """Why ``value`` (typed by an admin) cannot go into Salesforce field ``crm``, or None."""
    kind = crm.get("type")
    name = crm["name"]
    if kind == "picklist":
        allowed = picklist_values(crm)
        if value not in allowed:
            shown = ", ".join(allowed[:8]) + (", …" if len(allowed) > 8 else "")
            return f"“{value}” is not an active value of the {name} picklist; use one of: {shown}."
    elif kind in BOOLEAN_TYPES:
        try:
            parse_bool(value)
        except ValueError:
            return f"{name} is a checkbox: type true or false as its default."
    elif kind in NUMBER_TYPES:
        try:
            number = parse_decimal(value)
        except ValueError:
            return f"{name} is a number field: type a number as its default, like 1000."
        if kind == "int" and number != number.to_integral_value():
            return f"{name} holds whole numbers only."
    elif kind in DATE_TYPES or kind in DATETIME_TYPES:
        try:
            parse_date(value)
        except ValueError:
            return f"{name} is a date field: type the default as YYYY-MM-DD."
    elif kind == "email":
        try:
            _validate_email(value)
        except ValidationError:
            return f"{name} holds email addresses: “{value}” is not one."
    length = crm.get("length") or 0
    if (kind in TEXT_TYPES or kind == "picklist") and length and len(value) > length:
        return f"The default is {len(value)} characters long; {name} holds at most {length}."
    return None


def check_engage_value(value: str, field: EngageField) -> str | None:
    """Why ``value`` cannot fill Engage field ``field``, or None."""
    if field.kind == BOOL:
        try:
            parse_bool(value)
        except ValueError:
            return f"{field.label} is yes/no: type true or false as its default."
    elif field.kind == EMAIL:
        try:
            _validate_email(value)
        except ValidationError:
            return f"“{value}” is not an email address."
    if field.max_length and len(value) > field.max_length:
        return f"The default is {len(value)} characters long; Cadence's {field.label} holds at most {field.max_length}."
    return None


def to_engage(raw: Any, field: EngageField) -> Any:
    """A Salesforce value as ``field`` stores it: text stripped and cut to the column's length,
    emails lower-cased, URLs other than http(s) addresses or bare host names dropped, checkboxes as bools, numbers without a trailing ``.0``."""
    if field.kind == BOOL:
        if raw is None or raw == "":
            return False
        try:
            return parse_bool(raw)
        except ValueError:
            return False
    if raw is None:
        return ""
    if isinstance(raw, bool):
        text = "true" if raw else "false"
    elif isinstance(raw, float | int | Decimal):
        number = parse_decimal(raw)
        text = format(number.to_integral_value() if number == number.to_integral_value() else number, "f")
    else:
        text = " ".join(str(raw).split()) if field.kind != TEXT else str(raw).strip()
    if field.kind == EMAIL:
        text = text.lower()
    if field.kind == URL and not external_url(text):
        text = ""  # a javascript: or other non-web "website" is never stored, so never a link
    if field.max_length:
        text = text[: field.max_length]
    return text


def to_salesforce(value: Any, crm: FieldDescribe) -> Any:
    """An Engage (or default) value as Salesforce field ``crm`` takes it in a create call, or
    None when it cannot take it (the caller leaves the field out)."""
    kind = crm.get("type")
    try:
        if kind in BOOLEAN_TYPES:
            return parse_bool(value)
        if kind in NUMBER_TYPES:
            number = parse_decimal(value)
            return int(number) if kind == "int" or number == number.to_integral_value() else float(number)
        if kind in DATE_TYPES or kind in DATETIME_TYPES:
            return parse_date(value).isoformat()
    except ValueError:
        return None
    text = str(value).strip()
    if kind == "picklist" and text not in picklist_values(crm):
        return None
    length = crm.get("length") or 0
    return text[:length] if length else text
