"""F2: finding a person Engage is adding in Salesforce, and what to create when they are not
there. Reads only; ``engage.services.crm.linking`` decides and writes.

Salesforce is searched the way a seller would: by email — Contacts first (a converted Lead's
person lives on as a Contact), then Leads that are not converted — and, when the email finds
nobody, by first and last name together with one of the person's phone numbers. Each search is
one SOQL query with ``LIMIT 1`` selecting the mapped fields, so the record found can fill the
Engage contact straight away (``engage_values``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from copilot import phones
from engage.crm.describe import Describe, find_field
from engage.crm.fields import CONTACT, LEAD
from engage.crm.mapping import apply_mapping, as_row, mapped_crm_fields, outbound_values, resolve_crm_field
from engage.crm.soql_rules import RECORD_ID_RE, soql_string
from engage.models import Contact
from engage.models.contacts import EDITABLE_FIELDS
from engage.services.crm.gateway import IDENTIFIER

if TYPE_CHECKING:
    from integrations.salesforce.client import SalesforceClient

SEARCH_ORDER = (CONTACT, LEAD)  # Contacts first: a converted Lead's person is a Contact now
# Engage fields a found record may fill on the contact being added: the contact form's editable
# fields but the email (that is how it was found, or the seller typed one the organisation holds
# uniquely).
FILLABLE = tuple(name for name in EDITABLE_FIELDS if name != "email")


@dataclass(frozen=True)
class Found:
    """A Salesforce person: its object (``Lead`` or ``Contact``), id and the selected fields."""

    sobject: str
    record: dict[str, Any]
    how: str  # "email", "name and phone", "duplicate rule"

    @property
    def id(self) -> str:
        return str(self.record.get("Id") or "")


def select_fields(rows: Iterable[Any], describe: Describe | None) -> list[str]:
    """``Id`` and the mapped fields the object has (as the describe spells them): a field
    deleted in Salesforce or hidden from the connected user must not break the lookup."""
    names = {"id": "Id"}
    for name in mapped_crm_fields(rows):
        if not IDENTIFIER.fullmatch(name):
            continue
        if describe is not None:
            field, _problem = resolve_crm_field(describe, name)
            if field is None:
                continue
            name = field["name"]
        names.setdefault(name.lower(), name)
    return list(names.values())


def _first(client: SalesforceClient, sobject: str, fields: list[str], where: str) -> dict[str, Any] | None:
    soql = (
        f"SELECT {', '.join(fields)} FROM {sobject} WHERE {where} "  # noqa: S608 - checked identifiers, quoted values
        "ORDER BY LastModifiedDate DESC LIMIT 1"
    )
    records = client.query(soql).get("records") or []
    return dict(records[0]) if records else None


def _not_converted(sobject: str, where: str) -> str:
    return f"{where} AND IsConverted = false" if sobject == LEAD else where


def phones_of(contact: Contact) -> list[str]:
    """The contact's numbers as Salesforce may hold them: stored E.164 and the ways people type it."""
    return list(
        dict.fromkeys(
            form
            for p in (contact.business_phone, contact.direct_phone, contact.mobile_phone)
            if p and p.strip()
            for form in [p.strip(), *phones.written_forms(p)]
        )
    )


def find_person(client: SalesforceClient, contact: Contact, fields: dict[str, list[str]]) -> Found | None:
    """The Salesforce Lead or Contact this Engage contact is, if any (at most four queries:
    email in Contacts, then Leads; then name + phone in Contacts, then Leads). ``fields`` maps
    each object to the fields to select (``select_fields``)."""
    if contact.email:
        where = f"Email = {soql_string(contact.email)}"
        for sobject in SEARCH_ORDER:
            record = _first(client, sobject, fields[sobject], _not_converted(sobject, where))
            if record is not None:
                return Found(sobject, record, "email")
    phones = phones_of(contact)
    if not (contact.last_name.strip() and phones):
        return None
    listed = ", ".join(soql_string(p) for p in phones)
    name = f"LastName = {soql_string(contact.last_name.strip())}"
    if contact.first_name.strip():
        name = f"FirstName = {soql_string(contact.first_name.strip())} AND {name}"
    where = f"{name} AND (Phone IN ({listed}) OR MobilePhone IN ({listed}))"
    for sobject in SEARCH_ORDER:
        record = _first(client, sobject, fields[sobject], _not_converted(sobject, where))
        if record is not None:
            return Found(sobject, record, "name and phone")
    return None


def find_by_id(client: SalesforceClient, sobject: str, record_id: str, fields: list[str]) -> Found | None:
    """The record ``record_id`` with ``fields`` (the one a duplicate rule pointed at)."""
    if not RECORD_ID_RE.fullmatch(record_id):
        return None
    record = _first(client, sobject, fields, f"Id = {soql_string(record_id)}")
    return Found(sobject, record, "duplicate rule") if record is not None else None


def engage_values(record: dict[str, Any], rows: Iterable[Any]) -> dict[str, Any]:
    """What a found record gives the Engage contact: the mapped values that are not empty (what
    the seller typed stays where Salesforce has nothing; an email opt-out is only ever added),
    plus ``status`` as the picklist's API value for the caller to match."""
    values = apply_mapping(record, rows)
    out: dict[str, Any] = {}
    for name in FILLABLE:
        value = values.get(name)
        if name == "email_opt_out":
            if value is True:  # an opt-out is never undone by a lookup
                out[name] = True
        elif value is not None and value != "":
            out[name] = value
    if values.get("status"):
        out["status"] = values["status"]
    return out


def prospect_data(
    contact: Contact, sobject: str, rows: Iterable[Any], describe: Describe
) -> tuple[dict[str, Any], str]:
    """The fields of a new Lead or Contact for ``contact`` per the mapping, or why it cannot be
    created (``("", message)`` → nothing to send). A Lead needs a Company: the contact's, else
    the mapping's default for Company."""
    rows = [as_row(r) for r in rows]
    data = outbound_values(contact, rows, describe)
    if sobject == LEAD:
        company_row = next((r for r in rows if r.engage_field == "company" and r.crm_field), None)
        company_field = (
            company_row.crm_field if company_row and "." not in company_row.crm_field else "Company"
        )
        company_crm = find_field(describe, company_field) or {"name": "Company"}
        if not data.get(company_crm["name"]):
            fallback = contact.company.strip() or (company_row.default_value if company_row else "")
            if not fallback:
                return {}, (
                    "Not created in Salesforce: a Lead needs a Company. Add the company to the "
                    "contact, or set a default Company in Admin Portal › CRM › Leads."
                )
            data[company_crm["name"]] = fallback[: int(company_crm.get("length") or 255)]
    return data, ""
