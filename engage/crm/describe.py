"""Reading a Salesforce DescribeSObjectResult (provider-facts C4) as plain dicts: the one place
that knows its keys. Everything here is pure."""

from __future__ import annotations

from typing import Any

Describe = dict[str, Any]
FieldDescribe = dict[str, Any]

TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "combobox", "encryptedstring"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent", "long"})
BOOLEAN_TYPES = frozenset({"boolean"})
DATE_TYPES = frozenset({"date"})
DATETIME_TYPES = frozenset({"datetime"})

TYPE_LABELS = {
    "string": "text",
    "textarea": "long text",
    "email": "email",
    "phone": "phone",
    "url": "URL",
    "combobox": "combo box",
    "encryptedstring": "encrypted text",
    "picklist": "picklist",
    "multipicklist": "multi-select picklist",
    "int": "number",
    "long": "number",
    "double": "number",
    "percent": "percent",
    "currency": "currency",
    "boolean": "checkbox",
    "date": "date",
    "datetime": "date/time",
    "time": "time",
    "reference": "lookup",
    "id": "record id",
    "address": "address",
    "location": "location",
}


def fields_by_name(describe: Describe) -> dict[str, FieldDescribe]:
    """The object's fields keyed by API name (as Salesforce spells it)."""
    return {f["name"]: f for f in describe.get("fields", [])}


def find_field(describe: Describe, name: str) -> FieldDescribe | None:
    """A field by API name, matched case-insensitively as SOQL does."""
    lowered = (name or "").lower()
    for f in describe.get("fields", []):
        if f["name"].lower() == lowered:
            return f
    return None


def type_label(field: FieldDescribe) -> str:
    return TYPE_LABELS.get(field.get("type", ""), field.get("type", ""))


def a_type_label(field: FieldDescribe) -> str:
    """``a text``, ``an email``, ``a URL``: the type label with its article."""
    label = type_label(field)
    return f"{'an' if label[:1] in 'aeio' else 'a'} {label}"


def active_picklist(field: FieldDescribe) -> list[dict[str, Any]]:
    """The picklist's active entries in picklist order."""
    return [v for v in field.get("picklistValues") or [] if v.get("active", True)]


def picklist_values(field: FieldDescribe) -> list[str]:
    return [v["value"] for v in active_picklist(field)]


def picklist_for_statuses(field: FieldDescribe) -> list[tuple[str, str, bool]]:
    """``(api_value, label, is_default)`` per active entry, the shape
    ``engage.services.statuses.statuses_sync_from_crm`` takes."""
    return [
        (v["value"], v.get("label") or v["value"], bool(v.get("defaultValue")))
        for v in active_picklist(field)
    ]


def relationship_field(describe: Describe, relationship: str) -> FieldDescribe | None:
    """The reference field whose ``relationshipName`` is ``relationship`` (``Account`` on Contact)."""
    lowered = relationship.lower()
    for f in describe.get("fields", []):
        if f.get("type") == "reference" and (f.get("relationshipName") or "").lower() == lowered:
            return f
    return None
