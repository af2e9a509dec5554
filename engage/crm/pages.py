"""What the Admin Portal › CRM pages show: the rows of the mapping table (CRM field choices,
compatible first, with an example value) and the conditions of the rule builder (operators and
the value input that fit the field). Pure: describes and rows in, template context out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engage.crm.describe import (
    Describe,
    FieldDescribe,
    active_picklist,
    find_field,
    picklist_values,
    relationship_field,
    type_label,
)
from engage.crm.fields import ENGAGE_FIELDS, engage_field, is_compatible, is_required
from engage.crm.mapping import MappingRow, resolve_crm_field
from engage.crm.soql_rules import COMBINATORS, family, operator, operators_for, rule_fields

OBJECT_LABELS = {"Lead": "Leads", "Contact": "Contacts", "Account": "Accounts"}


def crm_field_options(
    engage_name: str, sobject: str, describe: Describe, related: Mapping[str, Describe] | None = None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The CRM field select of one mapping row: (compatible fields, other fields), each
    ``(value, label)`` sorted by label. Relationship paths (``Account.Name`` on Contact) are
    offered with the compatible text fields."""
    field = engage_field(engage_name, sobject)
    compatible: list[tuple[str, str]] = []
    other: list[tuple[str, str]] = []
    for crm in describe.get("fields", []):
        if crm.get("type") in ("address", "location", "id"):
            continue
        option = (crm["name"], f"{crm.get('label') or crm['name']} ({crm['name']}, {type_label(crm)})")
        (compatible if field is not None and is_compatible(field, crm) else other).append(option)
    account = relationship_field(describe, "Account") if sobject == "Contact" else None
    if account is not None and field is not None and field.kind == "text":
        account_name = _account_name(related)
        compatible.append(
            (f"{account['relationshipName']}.Name", f"Account › {account_name} (Account.Name, read-only)")
        )
    key = lambda option: option[1].lower()  # noqa: E731
    return sorted(compatible, key=key), sorted(other, key=key)


def _account_name(related: Mapping[str, Describe] | None) -> str:
    for crm in (related or {}).get("Account", {}).get("fields", []):
        if crm["name"] == "Name":
            return crm.get("label") or "Name"
    return "Account Name"


def example_for(crm: FieldDescribe | None, sample: Mapping[str, Any] | None, crm_field: str) -> str:
    """A short example of the field's values: from the sample record, else the picklist."""
    if sample and crm_field:
        value: Any = sample
        for part in crm_field.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value not in (None, "") and not isinstance(value, Mapping):
            text = str(value).replace("\n", " ")
            return text[:40] + ("…" if len(text) > 40 else "")
    if crm is not None and crm.get("type") == "picklist":
        values = picklist_values(crm)
        if values:
            return values[0]
    return ""


def mapping_table(
    sobject: str,
    rows: list[MappingRow],
    describe: Describe | None,
    related: dict[str, Describe],
    sample: dict[str, Any] | None,
    errors: dict[int | str, list[str]],
) -> list[dict[str, Any]]:
    used = {r.engage_field for r in rows}
    table = []
    for index, row in enumerate(rows):
        field = engage_field(row.engage_field, sobject)
        crm = resolve_crm_field(describe, row.crm_field, related)[0] if describe and row.crm_field else None
        compatible, other = crm_field_options(row.engage_field, sobject, describe or {}, related)
        known = {value for value, _ in compatible + other}
        table.append(
            {
                "index": index,
                "row": row,
                "field": field,
                "required": bool(field) and is_required(sobject, row.engage_field),
                "engage_choices": [
                    (f.name, f.label)
                    for f in ENGAGE_FIELDS[sobject]
                    if f.name == row.engage_field or f.name not in used
                ],
                "compatible": compatible,
                "other": other,
                # Keep a value the describe does not know (a typo, a deleted field) selected.
                "unknown_value": row.crm_field if row.crm_field and row.crm_field not in known else "",
                "example": example_for(crm, sample, row.crm_field) if crm else "",
                "errors": errors.get(index, []),
            }
        )
    return table


# --- Rule builder ---------------------------------------------------------------------------------

VALUE_WIDGETS = {"text": "text", "number": "number", "date": "date", "datetime": "date", "record_id": "text"}


def condition_row(
    index: int, condition: dict[str, Any], describe: Describe, error: str = ""
) -> dict[str, Any]:
    """What the builder shows for one condition: its field, the operators of that field's type,
    and the value input that fits the operator."""
    field = find_field(describe, condition.get("field") or "")
    ops = operators_for(field) if field else []
    op = operator(condition.get("operator") or "")
    if op is None or op.key not in {o.key for o in ops}:
        op = ops[0] if ops else None
    value = condition.get("value", "")
    widget = "none"
    if field is not None and op is not None and op.takes_value:
        fam = family(field)
        if fam == "picklist":
            widget = "multi" if op.takes_list else "choice"
        else:
            widget = VALUE_WIDGETS.get(fam or "", "text")
    values = value if isinstance(value, list) else ([value] if value not in (None, "") else [])
    return {
        "index": index,
        "field": field,
        "field_name": field["name"] if field else (condition.get("field") or ""),
        "operators": ops,
        "operator": op.key if op else "",
        "widget": widget,
        "value": values[0] if values and widget != "multi" else "",
        "values": values,
        "picklist": [(v["value"], v.get("label") or v["value"]) for v in active_picklist(field or {})],
        "error": error,
    }


def rules_context(
    sobject: str,
    describe: Describe | None,
    combinator: str,
    conditions: list[dict[str, Any]],
    errors: dict[int, str],
) -> dict[str, Any]:
    return {
        "sobject": sobject,
        "object_label": OBJECT_LABELS[sobject],
        "describe": describe,
        "fields": rule_fields(describe) if describe else [],
        "combinator": combinator if combinator in COMBINATORS else "AND",
        "rows": [condition_row(i, c, describe, errors.get(i, "")) for i, c in enumerate(conditions)]
        if describe
        else [],
    }
