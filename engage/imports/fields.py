"""The contact fields a CSV column can be imported into, and the guess of which column is which
from its header.

Headers are compared without case, spaces or punctuation ("E-mail", "Email Address" and "EMAIL"
are all ``email``), so one alias list covers spreadsheets people type by hand, Salesforce report
exports ("Company / Account", "Email Opt Out") and Data Loader exports (API names in capitals:
``FIRSTNAME``, ``HASOPTEDOUTOFEMAIL``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engage.models import Account, Contact, ContactStatus


@dataclass(frozen=True)
class ImportField:
    key: str
    label: str
    max_length: int
    aliases: tuple[str, ...]
    help: str = ""


def _max(model: type, name: str) -> int:
    return model._meta.get_field(name).max_length


# The order is the order of the mapping select.
FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "email",
        "Email",
        _max(Contact, "email"),
        ("email", "e-mail", "email address", "e-mail address", "mail", "work email", "business email"),
        "Required: contacts are matched by email.",
    ),
    ImportField(
        "first_name",
        "First name",
        _max(Contact, "first_name"),
        ("first name", "firstname", "given name", "forename"),
    ),
    ImportField(
        "last_name",
        "Last name",
        _max(Contact, "last_name"),
        ("last name", "lastname", "surname", "family name"),
    ),
    ImportField(
        "full_name",
        "Full name (split into first and last)",
        _max(Contact, "first_name") + _max(Contact, "last_name"),
        ("full name", "name", "contact name", "lead name", "contact", "person"),
    ),
    ImportField(
        "title", "Job title", _max(Contact, "title"), ("title", "job title", "position", "role", "job")
    ),
    ImportField(
        "company",
        "Company (account)",
        _max(Contact, "company"),
        (
            "company",
            "company name",
            "account",
            "account name",
            "company / account",
            "organization",
            "organisation",
            "employer",
            "account.name",
        ),
    ),
    ImportField(
        "website",
        "Company website",
        _max(Account, "website"),
        (
            "website",
            "web site",
            "company website",
            "url",
            "web",
            "domain",
            "company domain",
            "account website",
        ),
    ),
    ImportField(
        "business_phone",
        "Business phone",
        _max(Contact, "business_phone"),
        (
            "phone",
            "business phone",
            "work phone",
            "office phone",
            "phone number",
            "telephone",
            "company phone",
        ),
    ),
    ImportField(
        "direct_phone",
        "Direct phone",
        _max(Contact, "direct_phone"),
        ("direct phone", "direct dial", "direct line"),
    ),
    ImportField(
        "mobile_phone",
        "Mobile phone",
        _max(Contact, "mobile_phone"),
        ("mobile", "mobile phone", "mobilephone", "cell", "cell phone", "cellphone", "mobile number"),
    ),
    ImportField(
        "status",
        "Status",
        _max(ContactStatus, "name"),
        ("status", "lead status", "contact status"),
        "Matched by name with your status list; unknown names get the default status.",
    ),
    ImportField(
        "owner",
        "Owner (email of a user)",
        254,
        ("owner", "owner email", "lead owner", "contact owner", "owner e-mail", "account owner email"),
        "The email of a user in your organisation; otherwise you become the owner.",
    ),
    ImportField(
        "email_opt_out",
        "Email opt-out",
        5,
        ("email opt out", "email opt-out", "hasoptedoutofemail", "opted out", "unsubscribed", "opt out"),
        "Yes/no, true/false, 1/0 or x.",
    ),
    ImportField(
        "crm_lead_id", "Salesforce Lead ID", _max(Contact, "crm_id"), ("lead id", "leadid", "lead.id")
    ),
    ImportField(
        "crm_contact_id",
        "Salesforce Contact ID",
        _max(Contact, "crm_id"),
        ("contact id", "contactid", "contact.id"),
    ),
    ImportField(
        "street",
        "Street",
        _max(Contact, "street"),
        ("street", "mailing street", "address", "street address", "address line 1", "mailingstreet"),
    ),
    ImportField("city", "City", _max(Contact, "city"), ("city", "mailing city", "town", "mailingcity")),
    ImportField(
        "state",
        "State / province",
        _max(Contact, "state"),
        ("state", "province", "state/province", "mailing state/province", "region", "mailingstate", "county"),
    ),
    ImportField(
        "postal_code",
        "Postal / zip code",
        _max(Contact, "postal_code"),
        (
            "zip",
            "zip code",
            "postal code",
            "postcode",
            "zip/postal code",
            "mailing zip/postal code",
            "postalcode",
            "mailingpostalcode",
        ),
    ),
    ImportField(
        "country", "Country", _max(Contact, "country"), ("country", "mailing country", "mailingcountry")
    ),
)

FIELDS_BY_KEY: dict[str, ImportField] = {f.key: f for f in FIELDS}
CHOICES: list[tuple[str, str]] = [("", "Don't import"), *((f.key, f.label) for f in FIELDS)]

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_header(header: str) -> str:
    """``"Company / Account"`` -> ``"companyaccount"``: what header comparison looks at."""
    return _NON_ALNUM.sub("", header.casefold())


_ALIASES: dict[str, str] = {normalize_header(alias): f.key for f in FIELDS for alias in f.aliases}

# A bare "Id" column (Data Loader exports) is the record's own id: a Lead's or a Contact's,
# told apart by the columns only one of the two objects has.
_BARE_ID = {"id", "recordid", "salesforceid", "sfdcid"}
_LEAD_ONLY = {"status", "leadstatus", "leadsource", "isconverted", "company", "convertedcontactid"}
_CONTACT_ONLY = {"accountid", "reportstoid", "mailingstreet", "mailingcity", "birthdate", "department"}


def guess_field(header: str, headers: list[str] | None = None) -> str:
    """The contact field ``header`` most likely holds, or "" when there is no good guess."""
    key = normalize_header(header)
    if key in _BARE_ID and headers is not None:
        others = {normalize_header(h) for h in headers}
        if others & _CONTACT_ONLY:
            return "crm_contact_id"
        if others & _LEAD_ONLY:
            return "crm_lead_id"
        return ""
    return _ALIASES.get(key, "")


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """{column index as string: field} for the columns with a guess. A field goes to the first
    column that claims it, so the guess never maps two columns to one field."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        field = guess_field(header, headers)
        if field and field not in taken:
            mapping[str(index)] = field
            taken.add(field)
    # First and last name columns beat a full-name column that also matched.
    if {"first_name", "last_name"} <= taken and "full_name" in taken:
        mapping = {i: f for i, f in mapping.items() if f != "full_name"}
    return mapping


def mapping_problems(mapping: dict[str, str], headers: list[str]) -> list[tuple[list[int], str]]:
    """What is wrong with a chosen mapping: (the column indexes at fault, message) pairs."""
    problems: list[tuple[list[int], str]] = []
    by_field: dict[str, list[int]] = {}
    for index, key in mapping.items():
        if not index.isdigit() or int(index) >= len(headers):
            problems.append(([], f"There is no column {index} in this file."))
        elif key not in FIELDS_BY_KEY:
            problems.append(([int(index)], f"“{key}” is not a contact field."))
        else:
            by_field.setdefault(key, []).append(int(index))
    for key, indexes in by_field.items():
        if len(indexes) > 1:
            names = " and ".join(f"“{headers[i]}”" for i in sorted(indexes))
            problems.append(
                (
                    sorted(indexes),
                    f"{names} are both mapped to {FIELDS_BY_KEY[key].label}. Choose one of them.",
                )
            )
    if "email" not in by_field:
        problems.append(([], "Choose the column that holds the email: contacts are matched by email."))
    return problems
