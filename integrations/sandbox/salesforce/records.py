"""Record writes as Salesforce performs them: permissions, field checks, required fields, the
validation rule, the duplicate rule, then the save with its system fields.

The REST routes, sObject Collections and the control helpers all write through here, so a record
added by a test ages, indexes and logs its deletion exactly like one created through the API.
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.order_of_execution.meta/order_of_execution/apex_triggers_order_of_execution.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm#duplicate_management

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from integrations.sandbox.salesforce import ids
from integrations.sandbox.salesforce.errors import SalesforceError, not_found
from integrations.sandbox.salesforce.schema import CLOSED_TASK_STATUSES, ObjectDef
from integrations.sandbox.salesforce.store import DeletedEntry, Record, SalesforceStore
from integrations.sandbox.salesforce.values import attributes, coerce

US_COUNTRIES = frozenset({"us", "usa", "united states"})
STATE_CODE = re.compile(r"[A-Za-z]{2}")
STATE_RULE_MESSAGE = "State must be a two-letter code for US addresses."
DUPLICATE_MESSAGE = "You're creating a duplicate record. We recommend you use an existing record instead."
MATCH_RULES = {"Lead": "Standard_Lead_Match_Rule_v1_0", "Contact": "Standard_Contact_Match_Rule_v1_1"}
# Fields the server owns; only the control helpers (``system=True``) may set them, to build history.
SYSTEM_FIELDS = frozenset(
    {"CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"}
)


def lookup(store: SalesforceStore, obj: ObjectDef, raw_id: str, *, deleted_ok: bool = False) -> Record:
    """The live record ``raw_id`` names, or the error Salesforce gives for that id."""
    full = ids.normalize(raw_id)
    if full is None or full[:3] != obj.key_prefix:
        raise SalesforceError(
            400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw_id}", ["Id"]
        )
    record = store.records[obj.name].get(full)
    if record is None:
        raise not_found()
    if record.get("IsDeleted") and not deleted_ok:
        raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
    return record


def create(
    store: SalesforceStore,
    obj: ObjectDef,
    body: Any,
    *,
    user_id: str,
    allow_duplicates: bool = False,
    system: bool = False,
    version: str = "59.0",
) -> str:
    """Insert one record and return its id. ``system`` is the control helpers' back door: no
    permission, validation or duplicate checks, and system fields may be given."""
    if not system and (not obj.writable or "c" not in store.permissions(user_id, obj.name)):
        raise SalesforceError(
            400, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", f"entity type cannot be inserted: {obj.label}"
        )
    changes = _fields(store, obj, body, creating=True, system=system)
    record: Record = {}
    for field in obj.fields:
        default = field.default
        if default is not None and field.name not in changes and not field.calculated:
            record[field.name] = default
    if obj.field("OwnerId"):
        record["OwnerId"] = user_id
    record.update(changes)
    if not system:
        _check_required(obj, record)
        _check_rules(store, obj, record, record_id=None, allow_duplicates=allow_duplicates, version=version)
    now = store.clock.now()
    record_id = store.new_id(obj.key_prefix)
    record["Id"] = record_id
    for name, value in (("CreatedDate", now), ("CreatedById", user_id), ("LastModifiedDate", now),
                        ("LastModifiedById", user_id), ("SystemModstamp", now)):  # fmt: skip
        record.setdefault(name, value)
    _task_completion(obj, record, now)
    _remember(store, obj.name, record_id, None)
    store.records[obj.name][record_id] = {k: v for k, v in record.items() if v is not None}
    if obj.name in MATCH_RULES:
        store.index_email(record_id, None, record.get("Email"))
    return record_id


def update(
    store: SalesforceStore,
    obj: ObjectDef,
    raw_id: str,
    body: Any,
    *,
    user_id: str,
    allow_duplicates: bool = False,
    system: bool = False,
    version: str = "59.0",
) -> None:
    record = lookup(store, obj, raw_id)
    if not system and (not obj.writable or "u" not in store.permissions(user_id, obj.name)):
        raise SalesforceError(
            400, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", f"entity type cannot be updated: {obj.label}"
        )
    if not system and record.get("IsConverted"):
        # A converted lead is frozen; Salesforce refuses any edit of it.
        raise SalesforceError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    if isinstance(body, Mapping):
        body = {
            k: v for k, v in body.items() if not (k.lower() == "id" and ids.normalize(str(v)) == record["Id"])
        }
    changes = _fields(store, obj, body, creating=False, system=system)
    merged = {**record, **changes}
    if not system:
        _check_required(obj, merged)
        email_changed = (merged.get("Email") or "").lower() != (record.get("Email") or "").lower()
        _check_rules(
            store, obj, merged, record_id=record["Id"],
            allow_duplicates=allow_duplicates or not email_changed, version=version,
        )  # fmt: skip
    now = store.clock.now()
    if obj.name in MATCH_RULES:
        store.index_email(record["Id"], record.get("Email"), merged.get("Email"))
    stamps = {"LastModifiedDate": now, "LastModifiedById": user_id, "SystemModstamp": now}
    merged.update({k: v for k, v in stamps.items() if k not in changes})
    _task_completion(obj, merged, now, previous=record)
    _remember(store, obj.name, record["Id"], record)
    record.clear()
    record.update({k: v for k, v in merged.items() if v is not None})


def delete(
    store: SalesforceStore, obj: ObjectDef, raw_id: str, *, user_id: str, system: bool = False
) -> None:
    """Move the record to the recycle bin: ``IsDeleted``, a new ``SystemModstamp``, a log entry.
    Deleting an account deletes its contacts too, as Salesforce does."""
    record = lookup(store, obj, raw_id)
    if not system and (not obj.deletable or "d" not in store.permissions(user_id, obj.name)):
        raise SalesforceError(
            400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"
        )
    now = store.clock.now()
    _remember(store, obj.name, record["Id"], record)
    record.update(IsDeleted=True, SystemModstamp=now)
    store.delete_log.append(DeletedEntry(sobject=obj.name, id=record["Id"], deleted_at=now))
    if obj.name in MATCH_RULES:
        store.index_email(record["Id"], record.get("Email"), None)
    if obj.name == "Account":
        contacts = store.records["Contact"]
        for contact in [c for c in contacts.values() if c.get("AccountId") == record["Id"]]:
            if not contact.get("IsDeleted"):
                delete(store, _contact(), contact["Id"], user_id=user_id, system=True)


def rollback(store: SalesforceStore) -> None:
    """Undo every write journaled since ``store.journal`` was set (all-or-none batches)."""
    for sobject, record_id, before in reversed(store.journal or []):
        table = store.records[sobject]
        current = table.get(record_id)
        if current is not None and sobject in MATCH_RULES and not current.get("IsDeleted"):
            store.index_email(record_id, current.get("Email"), None)
        if before is None:
            table.pop(record_id, None)
            continue
        if current is None:
            table[record_id] = current = {}
        current.clear()
        current.update(before)
        if sobject in MATCH_RULES and not before.get("IsDeleted"):
            store.index_email(record_id, None, before.get("Email"))
    store.journal = None


def _remember(store: SalesforceStore, sobject: str, record_id: str, before: Record | None) -> None:
    if store.journal is not None:
        store.journal.append((sobject, record_id, None if before is None else dict(before)))


def _contact() -> ObjectDef:
    from integrations.sandbox.salesforce.schema import CONTACT

    return CONTACT


def _fields(store: SalesforceStore, obj: ObjectDef, body: Any, *, creating: bool, system: bool) -> Record:
    if not isinstance(body, Mapping):
        raise SalesforceError(
            400, "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {obj.name} from START_ARRAY value [line:1, column:1]",
        )  # fmt: skip
    changes: Record = {}
    not_writable: list[str] = []
    for key, raw in body.items():
        if key == "attributes":
            continue
        field = obj.field(key)
        if field is None:
            raise SalesforceError(
                400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
            )
        writable = field.createable if creating else field.updateable
        if not writable and not (system and (field.name in SYSTEM_FIELDS or field.name == "IsDeleted")):
            not_writable.append(field.name)
            continue
        changes[field.name] = coerce(store, obj, field, raw)
    if not_writable:
        raise SalesforceError(
            400, "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(not_writable)}. Please check the security "
            "settings of this field and verify that it is Read/Write for your profile or permission set.",
            not_writable,
        )  # fmt: skip
    return changes


def _check_required(obj: ObjectDef, record: Record) -> None:
    missing = [f.name for f in obj.fields if f.required and record.get(f.name) in (None, "")]
    if missing:
        raise SalesforceError(
            400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
        )


def _check_rules(
    store: SalesforceStore,
    obj: ObjectDef,
    record: Record,
    *,
    record_id: str | None,
    allow_duplicates: bool,
    version: str,
) -> None:
    state_field, country_field = obj.validation_state_field, obj.validation_country_field
    if state_field and country_field:
        state, country = record.get(state_field), (record.get(country_field) or "").strip().lower()
        if state and country in US_COUNTRIES and not STATE_CODE.fullmatch(state.strip()):
            raise SalesforceError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", STATE_RULE_MESSAGE, [state_field])
    if obj.duplicate_rule and not allow_duplicates and record.get("Email"):
        matches = sorted(store.email_index.get(record["Email"].lower(), set()) - {record_id})
        if matches:
            raise duplicates_detected(obj, matches, version)


def duplicates_detected(obj: ObjectDef, match_ids: list[str], version: str = "59.0") -> SalesforceError:
    """DUPLICATES_DETECTED with the ``duplicateResult`` a blocking standard rule returns
    (provider-facts C5): one match result per matched object type."""
    by_type: dict[str, list[str]] = {}
    for match_id in match_ids:
        by_type.setdefault("Lead" if match_id.startswith("00Q") else "Contact", []).append(match_id)
    match_results = [
        {
            "entityType": sobject,
            "errors": [],
            "matchEngine": "FuzzyMatchEngine",
            "matchRecords": [
                {
                    "additionalInformation": [],
                    "fieldDiffs": [],
                    "matchConfidence": 100.0,
                    "record": {"attributes": attributes(sobject, match_id, version), "Id": match_id},
                }
                for match_id in found
            ],
            "rule": MATCH_RULES[sobject],
            "size": len(found),
            "success": True,
        }
        for sobject, found in sorted(by_type.items(), key=lambda item: item[0] != obj.name)
    ]
    result = {
        "allowSave": False,
        "duplicateRule": obj.duplicate_rule,
        "duplicateRuleEntityType": obj.name,
        "errorMessage": DUPLICATE_MESSAGE,
        "matchResults": match_results,
    }
    return SalesforceError(400, "DUPLICATES_DETECTED", DUPLICATE_MESSAGE, extra={"duplicateResult": result})


def _task_completion(obj: ObjectDef, record: Record, now: int, previous: Record | None = None) -> None:
    """``Task.CompletedDateTime`` is stamped when the task reaches a closed status."""
    if obj.name != "Task":
        return
    closed = record.get("Status") in CLOSED_TASK_STATUSES
    was_closed = previous is not None and previous.get("Status") in CLOSED_TASK_STATUSES
    if closed and not was_closed:
        record["CompletedDateTime"] = now
    elif not closed:
        record["CompletedDateTime"] = None
