"""Field mapping between Engage and Salesforce (G3): the defaults per CRM object, the checks of
"Verify and save" against the object's live describe, and the two directions of values:
``apply_mapping`` (a Salesforce record → Engage values) and ``outbound_values`` (an Engage
contact or account → the fields of a Salesforce create). Pure: rows and describes in, dicts out.

A row is anything with ``engage_field``, ``crm_field``, ``default_value`` and ``direction``
attributes (``MappingRow`` or the ``FieldMapping`` model) or a dict with those keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from copilot import phones
from engage.crm.describe import Describe, FieldDescribe, a_type_label, find_field, relationship_field
from engage.crm.fields import (
    ACCOUNT,
    BOOL,
    CONTACT,
    ENGAGE_FIELDS,
    KIND_WANTS,
    LEAD,
    PHONE,
    STATUS,
    EngageField,
    check_engage_value,
    check_salesforce_value,
    engage_field,
    is_compatible,
    is_required,
    to_engage,
    to_salesforce,
)

TO_ENGAGE, BOTH = "to_engage", "both"
DIRECTIONS = (TO_ENGAGE, BOTH)
SUMMARY = "__all__"  # the key of errors that belong to no row


@dataclass(frozen=True)
class MappingRow:
    engage_field: str
    crm_field: str = ""  # "" = do not read/write
    default_value: str = ""
    direction: str = TO_ENGAGE


def as_row(row: Any) -> MappingRow:
    if isinstance(row, MappingRow):
        return row
    get = row.get if isinstance(row, Mapping) else lambda key, default="": getattr(row, key, default)
    return MappingRow(
        engage_field=(get("engage_field", "") or "").strip(),
        crm_field=(get("crm_field", "") or "").strip(),
        default_value=(get("default_value", "") or "").strip(),
        direction=get("direction", TO_ENGAGE) or TO_ENGAGE,
    )


def _defaults(pairs: list[tuple[str, str]], *, both: Iterable[str] = ()) -> tuple[MappingRow, ...]:
    return tuple(
        MappingRow(engage_field=e, crm_field=c, direction=BOTH if e in both else TO_ENGAGE) for e, c in pairs
    )


# Engage writes back to Salesforce only Email Opt Out and Lead Status (G9): those two rows are
# bi-directional by default, every other row reads from Salesforce.
DEFAULT_MAPPINGS: dict[str, tuple[MappingRow, ...]] = {
    LEAD: _defaults(
        [
            ("last_name", "LastName"),
            ("first_name", "FirstName"),
            ("title", "Title"),
            ("company", "Company"),
            ("email", "Email"),
            ("business_phone", "Phone"),
            ("direct_phone", ""),
            ("mobile_phone", "MobilePhone"),
            ("street", "Street"),
            ("city", "City"),
            ("state", "State"),
            ("postal_code", "PostalCode"),
            ("country", "Country"),
            ("status", "Status"),
            ("email_opt_out", "HasOptedOutOfEmail"),
        ],
        both={"status", "email_opt_out"},
    ),
    CONTACT: _defaults(
        [
            ("last_name", "LastName"),
            ("first_name", "FirstName"),
            ("title", "Title"),
            ("company", "Account.Name"),  # read through the Contact's Account, never written
            ("email", "Email"),
            ("business_phone", "Phone"),
            ("direct_phone", ""),
            ("mobile_phone", "MobilePhone"),
            ("street", "MailingStreet"),
            ("city", "MailingCity"),
            ("state", "MailingState"),
            ("postal_code", "MailingPostalCode"),
            ("country", "MailingCountry"),
            ("status", ""),  # Contacts have no status picklist of their own
            ("email_opt_out", "HasOptedOutOfEmail"),
        ],
        both={"email_opt_out"},
    ),
    ACCOUNT: _defaults(
        [
            ("name", "Name"),
            ("domain", ""),
            ("website", "Website"),
            ("phone", "Phone"),
            ("street", "BillingStreet"),
            ("city", "BillingCity"),
            ("state", "BillingState"),
            ("postal_code", "BillingPostalCode"),
            ("country", "BillingCountry"),
        ]
    ),
}


# --- Resolving a CRM field (plain or through a relationship) --------------------------------------


def resolve_crm_field(
    describe: Describe, crm_field: str, related: Mapping[str, Describe] | None = None
) -> tuple[FieldDescribe | None, str | None]:
    """The describe of ``crm_field`` on the object, or why there is none. ``Account.Name`` is
    checked on both sides: ``Account`` must be a relationship of the object (a reference field's
    ``relationshipName``) and ``Name`` a field of an object it can point to, whose describes
    ``related`` holds (by object name). Nothing unchecked is accepted: the field goes into SOQL."""
    sobject = describe.get("name", "the object")
    if "." not in crm_field:
        field = find_field(describe, crm_field)
        if field is None:
            return None, f"Salesforce has no field {crm_field} on {sobject}."
        return field, None
    parts = crm_field.split(".")
    if len(parts) != 2 or not all(parts):
        return None, f"{crm_field}: read through one relationship at most, like Account.Name."
    relationship, target = parts
    reference = relationship_field(describe, relationship)
    if reference is None:
        return None, f"Salesforce has no relationship {relationship} on {sobject}."
    targets = list(reference.get("referenceTo") or [])
    describes = [(related or {}).get(name) for name in targets]
    if not targets or any(other is None for other in describes):
        return None, (
            f"{crm_field}: Cadence could not read the fields of {' or '.join(targets) or 'the related object'} "
            "from Salesforce to check it. Try again in a moment."
        )
    # A polymorphic relationship (a Lead's Owner: a User or a queue) reads a field any of its
    # objects has; Salesforce answers null for records of the others. The name that reaches SOQL
    # is the describe's own, never the typed text.
    field = next((found for other in describes if (found := find_field(other, target)) is not None), None)
    if field is None:
        return None, f"Salesforce has no field {target} on {' or '.join(targets)} (through {relationship})."
    return {**field, "name": f"{reference['relationshipName']}.{field['name']}", "updateable": False}, None


# --- Verify -----------------------------------------------------------------------------------------


def validate_mapping(
    rows: Iterable[Any], describe: Describe, *, related: Mapping[str, Describe] | None = None
) -> dict[int | str, list[str]]:
    """Every problem of the mapping, keyed by row index (``SUMMARY`` for a required Engage field
    that has no row at all). Empty when the mapping can be saved. ``describe`` is the live
    DescribeSObjectResult of the object; ``related`` optional describes of objects reached
    through relationships (``{"Account": …}`` to check ``Account.Name`` on Contact)."""
    sobject = describe.get("name", "")
    errors: dict[int | str, list[str]] = {}
    seen_engage: dict[str, int] = {}
    seen_crm: dict[str, int] = {}
    rows = [as_row(r) for r in rows]

    def add(key: int | str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    for index, row in enumerate(rows):
        field = engage_field(row.engage_field, sobject)
        if field is None:
            add(index, f"Cadence has no field “{row.engage_field}” for {sobject}s; pick one from the list.")
            continue
        if row.engage_field in seen_engage:
            add(
                index,
                f"{field.label} is already in row {seen_engage[row.engage_field] + 1}; keep one row per Cadence field.",
            )
            continue
        seen_engage[row.engage_field] = index
        if row.direction not in DIRECTIONS:
            add(index, "Choose a sync direction.")
        if not row.crm_field:
            for message in _unmapped_problems(sobject, row, field):
                add(index, message)
            continue
        crm, problem = resolve_crm_field(describe, row.crm_field, related)
        if crm is None:
            add(index, problem or f"Salesforce has no field {row.crm_field} on {sobject}.")
            continue
        key = crm["name"].lower()
        if key in seen_crm:
            other = engage_field(rows[seen_crm[key]].engage_field, sobject)
            add(
                index,
                f"{crm['name']} is already mapped to {other.label if other else 'another field'}; map each Salesforce field once.",
            )
        else:
            seen_crm[key] = index
        for message in _pair_problems(row, field, crm):
            add(index, message)

    for field in ENGAGE_FIELDS.get(sobject, ()):
        if is_required(sobject, field.name) and field.name not in seen_engage:
            add(SUMMARY, f"{field.label} is required: add a row that maps it to a Salesforce field.")
    return errors


def _unmapped_problems(sobject: str, row: MappingRow, field: EngageField) -> list[str]:
    """What is wrong with a row that names no Salesforce field."""
    problems = []
    if is_required(sobject, row.engage_field):
        problems.append(f"{field.label} is required: map it to a Salesforce field.")
    if row.default_value:
        problems.append(
            "A default only fills in when the Salesforce field is empty: pick a field or clear the default."
        )
    return problems


def _pair_problems(row: MappingRow, field: EngageField, crm: FieldDescribe) -> list[str]:
    """What is wrong with mapping ``field`` to Salesforce's ``crm`` this way: the types, the
    direction (a read-only field cannot be written back), the default value."""
    if not is_compatible(field, crm):
        return [
            f"{field.label} needs {KIND_WANTS[field.kind]} field; {crm['name']} is {a_type_label(crm)} field."
        ]
    problems = []
    if row.direction == BOTH and not crm.get("updateable"):
        problems.append(
            f"{crm['name']} is read-only in Salesforce, so it cannot be bi-directional; choose Salesforce → Cadence."
        )
    if row.default_value:
        for message in (
            check_salesforce_value(row.default_value, crm) if "." not in crm["name"] else None,
            check_engage_value(row.default_value, field),
        ):
            if message:
                problems.append(message)
    return problems


def status_picklist_field(rows: Iterable[Any], describe: Describe) -> FieldDescribe | None:
    """The picklist the mapping takes Contact Status from (Lead Status by default), if any."""
    for row in map(as_row, rows):
        if row.engage_field == "status" and row.crm_field and "." not in row.crm_field:
            field = find_field(describe, row.crm_field)
            if field is not None and field.get("type") == "picklist":
                return field
    return None


# --- Values both ways -------------------------------------------------------------------------------


def _read(record: Mapping[str, Any], path: str) -> Any:
    """``record[path]``, following ``Account.Name`` into the nested relationship (None when the
    relationship is empty). Salesforce spells keys as in the describe; the lookup here tolerates
    another case, as SOQL does."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        if part in value:
            value = value[part]
        else:
            value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    return value


def apply_mapping(
    record: Mapping[str, Any],
    rows: Iterable[Any],
    *,
    phone_region: str | None = None,
    dropped_phones: list[str] | None = None,
) -> dict[str, Any]:
    """Engage values from one Salesforce record (a query row, relationships nested as Salesforce
    returns them): ``{engage_field: value}`` for every row with a CRM field. An empty Salesforce
    value takes the row's default (else empties the Engage field). ``status`` comes back as the
    picklist's API value, for the caller to match against ``ContactStatus.crm_value``.

    Phones are kept in E.164 (``copilot.phones``), a number without a country code read in the
    record's mapped country, else ``phone_region``. A value that is not a number (or a national
    number with neither) cannot be refused here: its field is left empty, so it is never shown
    as a link, and its name is added to ``dropped_phones`` for the caller to count. The text
    stays in Salesforce, which the contact links to."""
    values: dict[str, Any] = {}
    for row in map(as_row, rows):
        field = engage_field(row.engage_field)
        if field is None or not row.crm_field:
            continue
        raw = _read(record, row.crm_field)
        if (raw is None or raw == "") and row.default_value:
            raw = row.default_value
        values[field.name] = to_engage(raw, field)
    region = phones.region_for(values.get("country")) or phone_region
    for name, value in values.items():
        field = engage_field(name)
        if field is None or field.kind != PHONE or not value:
            continue
        number = phones.normalise_or_none(value, region=region)
        values[name] = number or ""
        if number is None and dropped_phones is not None:
            dropped_phones.append(name)
    return values


def _engage_value(obj: Any, name: str) -> Any:
    if name == "status":
        status = getattr(obj, "status", None)
        return (status.crm_value or status.name) if status is not None else ""
    return getattr(obj, name, "")


def outbound_values(obj: Any, rows: Iterable[Any], describe: Describe) -> dict[str, Any]:
    """The fields of a Salesforce create for an Engage contact (Lead or Contact) or account: every
    mapped, createable field whatever the row's direction (creating is not syncing), the row's
    default where Engage has no value, values Salesforce would refuse (not in the picklist, not
    a number) left out. Fields read through a relationship are never written."""
    out: dict[str, Any] = {}
    for row in map(as_row, rows):
        if not row.crm_field or "." in row.crm_field or engage_field(row.engage_field) is None:
            continue
        crm = find_field(describe, row.crm_field)
        if crm is None or not crm.get("createable"):
            continue
        value = _engage_value(obj, row.engage_field)
        field_kind = engage_field(row.engage_field).kind  # type: ignore[union-attr]
        if (value is None or value == "") and row.default_value:
            value = row.default_value
        if value is None or (value == "" and field_kind != BOOL):
            continue
        converted = to_salesforce(value, crm)
        if converted is None and row.default_value and value != row.default_value:
            converted = to_salesforce(row.default_value, crm)
        if converted is not None and converted != "":
            out[crm["name"]] = converted
    return out


def mapped_crm_fields(rows: Iterable[Any]) -> list[str]:
    """The Salesforce fields (and relationship paths) a query must select to apply the mapping."""
    seen: dict[str, str] = {}
    for row in map(as_row, rows):
        if row.crm_field:
            seen.setdefault(row.crm_field.lower(), row.crm_field)
    return list(seen.values())


__all__ = [
    "ACCOUNT",
    "BOTH",
    "CONTACT",
    "DEFAULT_MAPPINGS",
    "LEAD",
    "STATUS",
    "SUMMARY",
    "TO_ENGAGE",
    "MappingRow",
    "apply_mapping",
    "as_row",
    "mapped_crm_fields",
    "outbound_values",
    "resolve_crm_field",
    "status_picklist_field",
    "validate_mapping",
]
