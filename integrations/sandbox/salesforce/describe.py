"""Describe results rendered from the schema, with the object flags of the signed-in user.

``createable``/``updateable``/``deletable`` on an object (and on its fields) reflect the user's
profile, as Salesforce computes them: the seeded read-only user sees ``createable: false`` on Lead,
Contact and Account, which is how Cadence checks the connecting user's privileges (DESIGN G1, G8).
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm

from __future__ import annotations

from typing import Any

from integrations.sandbox.salesforce.schema import OBJECTS, Field, ObjectDef
from integrations.sandbox.salesforce.store import SalesforceStore

SOAP_TYPES = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
              "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
              "date": "xsd:date", "datetime": "xsd:dateTime", "address": "urn:address"}  # fmt: skip


def flags(store: SalesforceStore, user_id: str, obj: ObjectDef) -> dict[str, bool]:
    perms = store.permissions(user_id, obj.name)
    return {
        "createable": obj.writable and "c" in perms,
        "updateable": obj.writable and "u" in perms,
        "deletable": obj.deletable and obj.writable and "d" in perms,
        "queryable": "r" in perms,
    }


def urls(obj: ObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    found = {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}
    if obj.writable:
        found["defaultValues"] = f"{base}/defaultValues?recordTypeId&fields"
    if obj.name in ("Lead", "Contact", "Account"):
        found["listviews"] = f"{base}/listviews"
    return found


def summary(store: SalesforceStore, user_id: str, obj: ObjectDef, version: str) -> dict[str, Any]:
    """An entry of ``GET sobjects/`` (and the ``objectDescribe`` of ``GET sobjects/<Type>/``)."""
    allowed = flags(store, user_id, obj)
    return {
        "activateable": False, "associateEntityType": None, "associateParentEntity": None,
        "createable": allowed["createable"], "custom": False, "customSetting": False,
        "deepCloneable": False, "deletable": allowed["deletable"], "deprecatedAndHidden": False,
        "feedEnabled": obj.writable, "hasSubtypes": False, "isInterface": False, "isSubtype": False,
        "keyPrefix": obj.key_prefix, "label": obj.label, "labelPlural": obj.label_plural,
        "layoutable": obj.writable, "mergeable": obj.name in ("Lead", "Contact", "Account"),
        "mruEnabled": obj.writable, "name": obj.name, "queryable": allowed["queryable"],
        "replicateable": obj.replicateable, "retrieveable": True, "searchable": obj.writable,
        "triggerable": obj.writable, "undeletable": obj.deletable and allowed["deletable"],
        "updateable": allowed["updateable"], "urls": urls(obj, version),
    }  # fmt: skip


def global_describe(store: SalesforceStore, user_id: str, version: str) -> dict[str, Any]:
    objects = sorted(OBJECTS.values(), key=lambda o: o.name)
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [summary(store, user_id, obj, version) for obj in objects],
    }


def describe_object(store: SalesforceStore, user_id: str, obj: ObjectDef, version: str) -> dict[str, Any]:
    allowed = flags(store, user_id, obj)
    body = summary(store, user_id, obj, version)
    body.update(
        actionOverrides=[], childRelationships=_child_relationships(obj), compactLayoutable=obj.writable,
        defaultImplementation=None, extendedBy=None, extendsInterfaces=None,
        fields=[_field(f, allowed) for f in obj.fields], implementedBy=None,
        implementsInterfaces=None, listviewable=None, lookupLayoutable=None, namedLayoutInfos=[],
        networkScopeFieldName=None, recordTypeInfos=_record_types(obj, version),
        searchLayoutable=obj.writable, sobjectDescribeOption="FULL",
        supportedScopes=[{"label": "All " + obj.label_plural.lower(), "name": "everything"},
                         {"label": "My " + obj.label_plural.lower(), "name": "mine"}],
    )  # fmt: skip
    return dict(sorted(body.items()))


def _field(f: Field, allowed: dict[str, bool]) -> dict[str, Any]:
    text_like = f.type not in SOAP_TYPES
    return {
        "aggregatable": f.type not in ("textarea", "address", "boolean"), "aiPredictionField": False,
        "autoNumber": False, "byteLength": f.length * 3 if text_like or f.type in ("id", "reference") else 0,
        "calculated": f.calculated, "calculatedFormula": None, "cascadeDelete": False,
        "caseSensitive": False, "compoundFieldName": f.compound_field_name, "controllerName": None,
        "createable": f.createable and allowed["createable"], "custom": False,
        "defaultValue": f.default if f.picklist or f.type == "boolean" else None,
        "defaultValueFormula": None, "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": False, "deprecatedAndHidden": False,
        "digits": f.precision if f.type == "int" else 0, "displayLocationInDecimal": False,
        "encrypted": False, "externalId": False,
        "extraTypeInfo": "personname" if f.compound_field_name == "Name" or (f.name == "Name" and f.calculated) else None,
        "filterable": f.filterable, "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False, "groupable": f.type not in ("textarea", "address", "double", "currency", "datetime"),
        "highScaleNumber": False, "htmlFormatted": False, "idLookup": f.name in ("Id", "Email", "Username"),
        "inlineHelpText": None, "label": f.label, "length": f.length if text_like else 0,
        "mask": None, "maskType": None, "name": f.name, "nameField": f.name_field,
        "namePointing": f.type == "reference" and len(f.reference_to) > 1, "nillable": f.nillable,
        "permissionable": f.nillable and f.createable, "picklistValues": [
            {"active": True, "defaultValue": v.default, "label": v.value, "validFor": None, "value": v.value}
            for v in f.picklist
        ],
        "polymorphicForeignKey": f.type == "reference" and len(f.reference_to) > 1,
        "precision": f.precision if f.type in ("double", "currency", "percent") else 0,
        "queryByDistance": False, "referenceTargetField": None, "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name, "relationshipOrder": None, "restrictedDelete": False,
        "restrictedPicklist": f.restricted_picklist, "scale": f.scale, "searchPrefilterable": False,
        "soapType": SOAP_TYPES.get(f.type, "xsd:string"), "sortable": f.type not in ("textarea", "address"),
        "type": f.type, "unique": f.unique, "updateable": f.updateable and allowed["updateable"],
        "writeRequiresMasterRead": False,
    }  # fmt: skip


def _child_relationships(obj: ObjectDef) -> list[dict[str, Any]]:
    children = []
    for child in sorted(OBJECTS.values(), key=lambda o: o.name):
        for f in child.fields:
            if obj.name in f.reference_to and f.relationship_name and f.createable:
                children.append({
                    "cascadeDelete": obj.name == "Account" and child.name == "Contact",
                    "childSObject": child.name, "deprecatedAndHidden": False, "field": f.name,
                    "junctionIdListNames": [], "junctionReferenceTo": [],
                    "relationshipName": f"{child.label_plural.replace(' ', '')}" if f.name != "ParentId" else "ChildAccounts",
                    "restrictedDelete": False,
                })  # fmt: skip
    return children


def _record_types(obj: ObjectDef, version: str) -> list[dict[str, Any]]:
    if not obj.writable:
        return []
    return [{
        "active": True, "available": True, "defaultRecordTypeMapping": True,
        "developerName": "Master", "master": True, "name": "Master", "recordTypeId": "012000000000000AAA",
        "urls": {"layout": f"/services/data/v{version}/sobjects/{obj.name}/describe/layouts/012000000000000AAA"},
    }]  # fmt: skip
