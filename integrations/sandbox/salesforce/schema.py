"""The objects and fields the emulated org has: they drive describe, writes and SOQL field checks.

A deliberately small slice of the standard objects (the fields Cadence maps, syncs or writes, plus
the system fields every object carries), declared once so that describe, validation and the query
engine can never disagree about what exists.
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/system_fields.htm

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT_TYPES = frozenset(
    {"id", "string", "picklist", "multipicklist", "reference", "textarea", "email", "phone", "url",
     "combobox"}
)  # fmt: skip
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


@dataclass(frozen=True)
class PicklistValue:
    value: str
    default: bool = False


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    unique: bool = False
    calculated: bool = False  # set by the server (Name, compound addresses, IsClosed, …)
    picklist: tuple[PicklistValue, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    precision: int = 0
    scale: int = 0
    compound_field_name: str | None = None
    name_field: bool = False

    @property
    def required(self) -> bool:
        """REQUIRED_FIELD_MISSING on create when absent: not nillable and nothing defaults it."""
        return not self.nillable and self.createable and not self.defaulted_on_create

    @property
    def default(self) -> Any:
        for value in self.picklist:
            if value.default:
                return value.value
        return False if self.type == "boolean" else None

    @property
    def filterable(self) -> bool:
        return self.type not in ("textarea", "address")


@dataclass(frozen=True)
class ObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[Field, ...]
    writable: bool = True  # False: describe/query only (LeadStatus, Organization, …)
    deletable: bool = True
    replicateable: bool = True  # getUpdated / getDeleted supported
    validation_state_field: str | None = None  # the US state rule (see validation.py)
    validation_country_field: str | None = None
    duplicate_rule: str | None = None
    by_lower: dict[str, Field] = field(init=False, repr=False, compare=False)
    relationships: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_lower", {f.name.lower(): f for f in self.fields})
        object.__setattr__(
            self,
            "relationships",
            {f.relationship_name.lower(): f for f in self.fields if f.relationship_name},
        )

    def field(self, name: str) -> Field | None:
        """Field names are case-insensitive in SOQL and in JSON bodies."""
        return self.by_lower.get(name.lower())


def _values(*values: str, default: str | None = None) -> tuple[PicklistValue, ...]:
    return tuple(PicklistValue(v, v == default) for v in values)


def text(name: str, label: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, label, "string", length=length, **kw)


def picklist(name: str, label: str, values: tuple[PicklistValue, ...], **kw: Any) -> Field:
    defaulted = any(v.default for v in values)
    return Field(name, label, "picklist", 255, picklist=values, defaulted_on_create=defaulted, **kw)


def ref(name: str, label: str, to: tuple[str, ...], relationship: str, **kw: Any) -> Field:
    return Field(name, label, "reference", 18, reference_to=to, relationship_name=relationship, **kw)


def boolean(name: str, label: str, **kw: Any) -> Field:
    return Field(name, label, "boolean", nillable=False, defaulted_on_create=True, **kw)


def number(name: str, label: str, kind: str, precision: int = 18, scale: int = 0, **kw: Any) -> Field:
    return Field(name, label, kind, precision=precision, scale=scale, **kw)


def readonly(f: Field, *, calculated: bool = False, nillable: bool | None = None) -> Field:
    return Field(
        **{
            **f.__dict__,
            "createable": False,
            "updateable": False,
            "calculated": calculated,
            "nillable": f.nillable if nillable is None else nillable,
        }
    )


def _id() -> Field:
    return Field("Id", "Record ID", "id", 18, nillable=False, createable=False, updateable=False,
                 defaulted_on_create=True, unique=False)  # fmt: skip


def _audit(*, deleted: bool = True) -> tuple[Field, ...]:
    users = ("User",)
    stamp = dict(nillable=False, createable=False, updateable=False, defaulted_on_create=True)
    fields = [
        Field("CreatedDate", "Created Date", "datetime", **stamp),
        ref("CreatedById", "Created By ID", users, "CreatedBy", **stamp),
        Field("LastModifiedDate", "Last Modified Date", "datetime", **stamp),
        ref("LastModifiedById", "Last Modified By ID", users, "LastModifiedBy", **stamp),
        Field("SystemModstamp", "System Modstamp", "datetime", **stamp),
    ]
    if deleted:
        fields.insert(0, readonly(boolean("IsDeleted", "Deleted")))
    return tuple(fields)


def _person_name(compound: str = "Name") -> tuple[Field, ...]:
    return (
        text("LastName", "Last Name", 80, nillable=False, compound_field_name=compound),
        text("FirstName", "First Name", 40, compound_field_name=compound),
        picklist("Salutation", "Salutation", _values("Mr.", "Ms.", "Mrs.", "Dr.", "Prof."),
                 compound_field_name=compound),
        readonly(text("Name", "Full Name", 121, name_field=True), calculated=True, nillable=False),
    )  # fmt: skip


def _address(prefix: str, label: str) -> tuple[Field, ...]:
    compound = f"{prefix}Address"
    return (
        Field(f"{prefix}Street", f"{label}Street", "textarea", 255, compound_field_name=compound),
        text(f"{prefix}City", f"{label}City", 40, compound_field_name=compound),
        text(f"{prefix}State", f"{label}State/Province", 80, compound_field_name=compound),
        text(f"{prefix}PostalCode", f"{label}Zip/Postal Code", 20, compound_field_name=compound),
        text(f"{prefix}Country", f"{label}Country", 80, compound_field_name=compound),
        readonly(Field(compound, f"{label}Address".strip(), "address"), calculated=True),
    )


LEAD_STATUSES = (
    # (value, converted, default) — the LeadStatus rows behind Lead.Status.
    ("Open - Not Contacted", False, True),
    ("Working - Contacted", False, False),
    ("Closed - Converted", True, False),
    ("Closed - Not Converted", False, False),
)
LEAD_SOURCES = _values("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
INDUSTRIES = _values(
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
    "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
    "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
    "Utilities", "Other",
)  # fmt: skip
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
CLOSED_TASK_STATUSES = frozenset({"Completed"})
OWNER = ref("OwnerId", "Owner ID", ("Group", "User"), "Owner", nillable=False, defaulted_on_create=True)
USER_OWNER = ref("OwnerId", "Owner ID", ("User",), "Owner", nillable=False, defaulted_on_create=True)

LEAD = ObjectDef(
    "Lead", "Lead", "Leads", "00Q",
    (
        _id(), *_audit()[:1], *_person_name(), text("Title", "Title", 128),
        text("Company", "Company", 255, nillable=False), *_address("", ""),
        Field("Phone", "Phone", "phone", 40), Field("MobilePhone", "Mobile Phone", "phone", 40),
        Field("Email", "Email", "email", 80), Field("Website", "Website", "url", 255),
        Field("Description", "Description", "textarea", 32000),
        picklist("LeadSource", "Lead Source", LEAD_SOURCES),
        picklist("Status", "Status", _values(*(s[0] for s in LEAD_STATUSES),
                                             default=LEAD_STATUSES[0][0]),
                 nillable=False, restricted_picklist=True),
        picklist("Industry", "Industry", INDUSTRIES),
        picklist("Rating", "Rating", _values("Hot", "Warm", "Cold")),
        number("AnnualRevenue", "Annual Revenue", "currency"),
        number("NumberOfEmployees", "Employees", "int", precision=8),
        OWNER, boolean("HasOptedOutOfEmail", "Email Opt Out"), boolean("DoNotCall", "Do Not Call"),
        readonly(boolean("IsConverted", "Converted")),
        readonly(Field("ConvertedDate", "Converted Date", "date")),
        readonly(ref("ConvertedAccountId", "Converted Account ID", ("Account",), "ConvertedAccount")),
        readonly(ref("ConvertedContactId", "Converted Contact ID", ("Contact",), "ConvertedContact")),
        boolean("IsUnreadByOwner", "Unread By Owner"), *_audit()[1:],
        readonly(Field("LastActivityDate", "Last Activity", "date")),
    ),
    validation_state_field="State", validation_country_field="Country",
    duplicate_rule="Standard_Lead_Duplicate_Rule",
)  # fmt: skip

CONTACT = ObjectDef(
    "Contact", "Contact", "Contacts", "003",
    (
        _id(), *_audit()[:1], ref("AccountId", "Account ID", ("Account",), "Account"),
        *_person_name(), *_address("Mailing", "Mailing "),
        Field("Phone", "Business Phone", "phone", 40),
        Field("MobilePhone", "Mobile Phone", "phone", 40), Field("Email", "Email", "email", 80),
        text("Title", "Title", 128), text("Department", "Department", 80),
        picklist("LeadSource", "Lead Source", LEAD_SOURCES),
        Field("Description", "Contact Description", "textarea", 32000), USER_OWNER,
        boolean("HasOptedOutOfEmail", "Email Opt Out"), boolean("DoNotCall", "Do Not Call"),
        *_audit()[1:], readonly(Field("LastActivityDate", "Last Activity", "date")),
    ),
    validation_state_field="MailingState", validation_country_field="MailingCountry",
    duplicate_rule="Standard_Contact_Duplicate_Rule",
)  # fmt: skip

ACCOUNT = ObjectDef(
    "Account", "Account", "Accounts", "001",
    (
        _id(), *_audit()[:1], text("Name", "Account Name", 255, nillable=False, name_field=True),
        picklist("Type", "Account Type", _values(
            "Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
            "Installation Partner", "Technology Partner", "Other")),
        ref("ParentId", "Parent Account ID", ("Account",), "Parent"),
        *_address("Billing", "Billing "), Field("Phone", "Account Phone", "phone", 40),
        Field("Website", "Website", "url", 255), picklist("Industry", "Industry", INDUSTRIES),
        number("AnnualRevenue", "Annual Revenue", "currency"),
        number("NumberOfEmployees", "Employees", "int", precision=8),
        Field("Description", "Account Description", "textarea", 32000), USER_OWNER,
        *_audit()[1:], readonly(Field("LastActivityDate", "Last Activity", "date")),
    ),
    validation_state_field="BillingState", validation_country_field="BillingCountry",
)  # fmt: skip

TASK = ObjectDef(
    "Task", "Task", "Tasks", "00T",
    (
        _id(), ref("WhoId", "Name ID", ("Contact", "Lead"), "Who"),
        ref("WhatId", "Related To ID", ("Account",), "What"),
        Field("Subject", "Subject", "combobox", 255),
        Field("ActivityDate", "Due Date Only", "date"),
        picklist("Status", "Status", _values(*TASK_STATUSES, default="Not Started"),
                 nillable=False, restricted_picklist=True),
        picklist("Priority", "Priority", _values("High", "Normal", "Low", default="Normal"),
                 nillable=False, restricted_picklist=True),
        readonly(boolean("IsHighPriority", "High Priority"), calculated=True), OWNER,
        Field("Description", "Description", "textarea", 32000), *_audit()[:1],
        readonly(ref("AccountId", "Account ID", ("Account",), "Account"), calculated=True),
        readonly(boolean("IsClosed", "Closed"), calculated=True), *_audit()[1:],
        number("CallDurationInSeconds", "Call Duration", "int", precision=8),
        picklist("CallType", "Call Type", _values("Internal", "Inbound", "Outbound"),
                 restricted_picklist=True),
        text("CallDisposition", "Call Result", 255), text("CallObject", "Call Object Identifier", 255),
        Field("TaskSubtype", "Task Subtype", "picklist", 40, updateable=False, restricted_picklist=True,
              picklist=_values("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")),
        readonly(Field("CompletedDateTime", "Completed Date/Time", "datetime"), calculated=True),
    ),
)  # fmt: skip

USER = ObjectDef(
    "User", "User", "Users", "005",
    (
        _id(), text("Username", "Username", 80, nillable=False, unique=True), *_person_name()[:2],
        _person_name()[3], text("CompanyName", "Company Name", 80), text("Department", "Department", 80),
        text("Title", "Title", 80), Field("Email", "Email", "email", 128, nillable=False),
        Field("Phone", "Phone", "phone", 40), text("Alias", "Alias", 8, nillable=False),
        boolean("IsActive", "Active"),
        picklist("TimeZoneSidKey", "Time Zone", _values("America/Los_Angeles", "America/New_York",
                                                         "Europe/London", "Europe/Paris"),
                 nillable=False),
        picklist("LocaleSidKey", "Locale", _values("en_US", "en_GB", "fr_FR"), nillable=False),
        picklist("LanguageLocaleKey", "Language", _values("en_US", "fr"), nillable=False),
        picklist("EmailEncodingKey", "Email Encoding", _values("UTF-8", "ISO-8859-1"), nillable=False),
        ref("ProfileId", "Profile ID", ("Profile",), "Profile", nillable=False),
        readonly(picklist("UserType", "User Type", _values("Standard", default="Standard"))),
        *_audit(deleted=False),
    ),
    deletable=False,
)  # fmt: skip

PROFILE = ObjectDef(
    "Profile", "Profile", "Profiles", "00e",
    (
        _id(), text("Name", "Name", 255, nillable=False, name_field=True),
        picklist("UserType", "User Type", _values("Standard")),
        boolean("PermissionsApiEnabled", "API Enabled"),
        boolean("PermissionsModifyAllData", "Modify All Data"),
        boolean("PermissionsViewAllData", "View All Data"),
        boolean("PermissionsManageUsers", "Manage Users"), *_audit(deleted=False),
    ),
    writable=False, deletable=False, replicateable=False,
)  # fmt: skip

ORGANIZATION = ObjectDef(
    "Organization", "Organization", "Organizations", "00D",
    (
        _id(), text("Name", "Name", 80, nillable=False, name_field=True), *_address("", ""),
        Field("Phone", "Phone", "phone", 40),
        picklist("OrganizationType", "Edition", _values("Developer Edition", "Enterprise Edition",
                                                        "Professional Edition", "Unlimited Edition")),
        boolean("IsSandbox", "Is Sandbox"), text("InstanceName", "Instance Name", 5),
        picklist("DefaultLocaleSidKey", "Locale", _values("en_US")),
        picklist("LanguageLocaleKey", "Language", _values("en_US")),
        picklist("TimeZoneSidKey", "Time Zone", _values("America/Los_Angeles")),
        *_audit(deleted=False),
    ),
    writable=False, deletable=False, replicateable=False,
)  # fmt: skip

LEAD_STATUS = ObjectDef(
    "LeadStatus", "Lead Status Value", "Lead Status Value", "01J",
    (
        _id(), text("MasterLabel", "Master Label", 255, nillable=False),
        text("ApiName", "Api Name", 255, nillable=False),
        number("SortOrder", "Sort Order", "int", precision=9),
        boolean("IsDefault", "Is Default"), boolean("IsConverted", "Is Converted"),
        *_audit(deleted=False),
    ),
    writable=False, deletable=False, replicateable=False,
)  # fmt: skip

LIST_VIEW = ObjectDef(
    "ListView", "List View", "List Views", "00B",
    (
        _id(), text("Name", "View Name", 40, nillable=False, name_field=True),
        text("DeveloperName", "View Unique Name", 80, nillable=False),
        picklist("SobjectType", "Sobject Type Name", _values("Lead", "Contact", "Account")),
        boolean("IsSoqlCompatible", "Is Soql Compatible"), *_audit(deleted=False),
    ),
    writable=False, deletable=False, replicateable=False,
)  # fmt: skip

# Queues and public groups: the other half of the polymorphic OwnerId of Leads (a Lead owned by a
# queue). Describable, so Owner.* relationship paths can be checked against both sides.
# Reference: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_group.htm
GROUP = ObjectDef(
    "Group", "Group", "Groups", "00G",
    (
        _id(), text("Name", "Name", 40, nillable=False, name_field=True),
        text("DeveloperName", "Developer Name", 80, nillable=False),
        picklist("Type", "Type", _values("Regular", "Role", "Queue", "Organization")),
        Field("Email", "Email", "email", 255), boolean("DoesSendEmailToMembers", "Send Email to Members"),
        *_audit(deleted=False),
    ),
    writable=False, deletable=False, replicateable=False,
)  # fmt: skip

OBJECTS: dict[str, ObjectDef] = {
    o.name: o
    for o in (ACCOUNT, CONTACT, LEAD, TASK, USER, PROFILE, ORGANIZATION, LEAD_STATUS, LIST_VIEW, GROUP)
}
OBJECTS_LOWER = {name.lower(): obj for name, obj in OBJECTS.items()}
BY_PREFIX = {o.key_prefix: o for o in OBJECTS.values()}


def find_object(name: str) -> ObjectDef | None:
    """sObject names are case-insensitive in URLs and SOQL."""
    return OBJECTS_LOWER.get(name.lower())


# What each seeded profile may do per object ("crud" letters), checked by writes and reflected in
# describe's object flags. Objects not listed are read-only for everyone.
PROFILE_PERMISSIONS: dict[str, dict[str, str]] = {
    "System Administrator": {"Lead": "crud", "Contact": "crud", "Account": "crud", "Task": "crud",
                             "User": "cru"},
    "Standard User": {"Lead": "crud", "Contact": "crud", "Account": "crud", "Task": "crud"},
    "Read Only": {},
    "Standard User (No API)": {"Lead": "crud", "Contact": "crud", "Account": "crud", "Task": "crud"},
}  # fmt: skip
