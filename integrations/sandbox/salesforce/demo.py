"""Sandbox Corp, the org every fresh sandbox starts with, and the fast bulk-record generator.

Deterministic: the same ids, names and relative ages on every reset (timestamps are offsets from
the moment the org is built, so the data always looks recent). Not secrets: the connected app's
credentials only open the local sandbox (``SALESFORCE_CLIENT_ID``/``_SECRET`` in local settings).
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from dataclasses import dataclass

from integrations.sandbox.salesforce.ids import make_id
from integrations.sandbox.salesforce.schema import LEAD_STATUSES, TASK_STATUSES
from integrations.sandbox.salesforce.store import (
    DELETE_LOG_RETENTION,
    STORE_KEY,
    ConnectedApp,
    ListViewDef,
    Record,
    SalesforceStore,
)
from integrations.sandbox.state import SandboxState

DEMO_CLIENT_ID = "cadence-sandbox-client"
DEMO_CLIENT_SECRET = "cadence-sandbox-secret"
DEMO_APP_NAME = "Cadence (sandbox)"
ORG_ID = make_id("00D", 1)
ORG_NAME = "Sandbox Corp"
ADMIN_USERNAME = "admin@sandbox-corp.example"
REP1_USERNAME = "sam.rivera@sandbox-corp.example"
REP2_USERNAME = "jordan.lee@sandbox-corp.example"
READONLY_USERNAME = "readonly@sandbox-corp.example"
NOAPI_USERNAME = "noapi@sandbox-corp.example"
PROFILES = ("System Administrator", "Standard User", "Read Only", "Standard User (No API)")
USERS = (
    # username, first, last, title, profile
    (ADMIN_USERNAME, "Alex", "Morgan", "Salesforce Administrator", "System Administrator"),
    (REP1_USERNAME, "Sam", "Rivera", "Account Executive", "Standard User"),
    (REP2_USERNAME, "Jordan", "Lee", "Sales Development Representative", "Standard User"),
    (READONLY_USERNAME, "Robin", "Reader", "Sales Analyst", "Read Only"),
    (NOAPI_USERNAME, "Nico", "Noapi", "Field Sales Representative", "Standard User (No API)"),
)
USER_IDS = {username: make_id("005", i) for i, (username, *_rest) in enumerate(USERS, start=1)}
ADMIN_USER_ID = USER_IDS[ADMIN_USERNAME]
DEMO_COUNTS = {"Account": 500, "Contact": 2000, "Lead": 3000, "Task": 300}
DATETIME_FIELDS = ("CreatedDate", "LastModifiedDate", "SystemModstamp", "CompletedDateTime")
DATE_FIELDS = ("ConvertedDate", "ActivityDate")  # day offsets in the template

FIRST = ["Ava", "Ben", "Chloe", "Daniel", "Elena", "Felix", "Grace", "Hugo", "Iris", "Jack", "Kara", "Liam", "Maya", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sofia", "Theo", "Uma", "Victor", "Wendy", "Xavier", "Yara", "Zane", "Amir", "Bianca", "Carlos", "Dana", "Emil", "Fatima", "Gabriel", "Hana", "Ivan", "Julia", "Kenji", "Lucia", "Mateo", "Nadia"]  # fmt: skip
LAST = ["Smith", "Johnson", "Garcia", "Martin", "Chen", "Nguyen", "Patel", "Kim", "Rossi", "Muller", "Dubois", "Silva", "Novak", "Brown", "Taylor", "Wilson", "Moreau", "Lopez", "Schmidt", "Cohen", "Okafor", "Yamamoto", "Andersen", "Kowalski", "Haddad", "Murphy", "Fischer", "Costa", "Ibrahim", "Larsen", "Walsh", "Romano", "Becker", "Sato", "Diaz", "Evans"]  # fmt: skip
TITLES = (
    "VP of Sales", "Sales Director", "Sales Manager", "Regional Sales Manager", "Head of Sales Operations",
    "Inside Sales Representative", "Account Executive", "Sales Development Representative",
    "Chief Revenue Officer", "CEO", "CTO", "CFO", "Marketing Manager", "Procurement Lead",
    "Operations Manager", "IT Director", "Software Engineer", "Customer Success Manager",
    "Business Development Manager", "HR Manager",
)  # fmt: skip
WORDS = ["Blue", "Summit", "North", "River", "Bright", "Iron", "Silver", "Harbor", "Pine", "Cedar", "Apex", "Nova", "Quantum", "Vertex", "Atlas", "Orbit", "Maple", "Granite", "Lumen", "Echo", "Crest", "Falcon", "Prairie", "Coastal", "Vivid"]  # fmt: skip
NOUNS = ["Systems", "Labs", "Logistics", "Foods", "Health", "Energy", "Partners", "Analytics", "Robotics", "Media", "Capital", "Networks", "Supply", "Works", "Motors", "Foundry", "Studios", "Bank", "Telecom", "Retail"]  # fmt: skip
PLACES = (
    ("San Francisco", "CA", "94105", "United States"), ("New York", "NY", "10001", "USA"),
    ("Austin", "TX", "73301", "US"), ("Chicago", "IL", "60601", "United States"),
    ("Seattle", "WA", "98101", "USA"), ("Boston", "MA", "02108", "United States"),
    ("Denver", "CO", "80202", "US"), ("Atlanta", "GA", "30301", "United States"),
    ("London", "England", "EC1A 1BB", "United Kingdom"), ("Paris", "Île-de-France", "75001", "France"),
    ("Berlin", "Berlin", "10115", "Germany"), ("Toronto", "ON", "M5H 2N2", "Canada"),
    ("Sydney", "New South Wales", "2000", "Australia"),
)  # fmt: skip
INDUSTRIES = ("Technology", "Finance", "Healthcare", "Manufacturing", "Retail", "Energy", "Education",
              "Media", "Transportation", "Consulting", "Telecommunications", "Food & Beverage")  # fmt: skip
SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
LEAD_STATUS_WEIGHTS = (40, 30, 15, 15)


@dataclass(frozen=True)
class Template:
    records: dict[str, list[Record]]
    serial: int


def salesforce_store(state: SandboxState) -> SalesforceStore:
    """The org, built from the demo data on first use after a reset."""
    return state.store(STORE_KEY, build_demo_store)


def build_demo_store() -> SalesforceStore:
    """A fresh Sandbox Corp: the cached template with its offsets turned into sandbox-clock times."""
    store = SalesforceStore()
    now = store.clock.now()
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    template = _template()
    store.org_id = ORG_ID
    for sobject, rows in template.records.items():
        table = store.records[sobject]
        for row in rows:
            record = dict(row)
            for name in DATETIME_FIELDS:
                if name in record:
                    record[name] = now + record[name]
            for name in DATE_FIELDS:
                if name in record:
                    record[name] = (today + dt.timedelta(days=record[name])).isoformat()
            table[record["Id"]] = record
            if sobject in ("Lead", "Contact"):
                store.index_email(record["Id"], None, record.get("Email"))
    store.serial = template.serial
    store.apps[DEMO_CLIENT_ID] = ConnectedApp(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_APP_NAME)
    store.delete_log_floor = now - DELETE_LOG_RETENTION
    for view in _list_views():
        store.list_views[view.id] = view
        store.records["ListView"][view.id] = {
            "Id": view.id, "Name": view.label, "DeveloperName": view.developer_name,
            "SobjectType": view.sobject, "IsSoqlCompatible": True, "CreatedDate": now - 400 * 86400,
            "LastModifiedDate": now - 400 * 86400, "SystemModstamp": now - 400 * 86400,
            "CreatedById": ADMIN_USER_ID, "LastModifiedById": ADMIN_USER_ID,
        }  # fmt: skip
    return store


def _list_views() -> list[ListViewDef]:
    open_statuses = ", ".join(f"'{s}'" for s, converted, _ in LEAD_STATUSES if not s.startswith("Closed"))
    specs = (
        ("Lead", "All Open Leads", "AllOpenLeads", ("Name", "Title", "Company", "State", "Email", "Status",
         "CreatedDate", "Owner.Alias"), f"Status IN ({open_statuses})", False),
        ("Lead", "My Leads", "MyLeads", ("Name", "Company", "Email", "Status", "Owner.Alias"), None, True),
        ("Contact", "All Contacts", "AllContacts", ("Name", "Account.Name", "Title", "Phone", "Email",
         "Owner.Alias"), None, False),
        ("Contact", "My Contacts", "MyContacts", ("Name", "Account.Name", "Phone", "Email"), None, True),
        ("Account", "All Accounts", "AllAccounts", ("Name", "BillingState", "Phone", "Type", "Owner.Alias"),
         None, False),
        ("Account", "My Accounts", "MyAccounts", ("Name", "BillingState", "Phone", "Type"), None, True),
    )  # fmt: skip
    return [
        ListViewDef(
            id=make_id("00B", i),
            sobject=s,
            label=label,
            developer_name=dev,
            columns=cols,
            where=where,
            mine=mine,
        )
        for i, (s, label, dev, cols, where, mine) in enumerate(specs, start=1)
    ]


@functools.cache
def _template() -> Template:
    rng = random.Random(20261121)  # noqa: S311 - demo data, not secrets
    records: dict[str, list[Record]] = {}
    serial = 0

    def next_id(prefix: str) -> str:
        nonlocal serial
        serial += 1
        return make_id(prefix, 1000 + serial)

    def stamped(age_days_max: int) -> dict[str, int]:
        created = -rng.randint(3600, age_days_max * 86400)
        modified = rng.randint(created, -60)
        return {"CreatedDate": created, "LastModifiedDate": modified, "SystemModstamp": modified}

    year = -400 * 86400
    records["Organization"] = [{
        "Id": ORG_ID, "Name": ORG_NAME, "OrganizationType": "Enterprise Edition", "IsSandbox": False,
        "InstanceName": "SBX1", "City": "San Francisco", "State": "CA", "Country": "United States",
        "DefaultLocaleSidKey": "en_US", "LanguageLocaleKey": "en_US",
        "TimeZoneSidKey": "America/Los_Angeles", "CreatedDate": year, "LastModifiedDate": year,
        "SystemModstamp": year, "CreatedById": ADMIN_USER_ID, "LastModifiedById": ADMIN_USER_ID,
    }]  # fmt: skip
    audit = {"CreatedDate": year, "LastModifiedDate": year, "SystemModstamp": year,
             "CreatedById": ADMIN_USER_ID, "LastModifiedById": ADMIN_USER_ID}  # fmt: skip
    profile_ids = {name: make_id("00e", i) for i, name in enumerate(PROFILES, start=1)}
    records["Profile"] = [
        {"Id": pid, "Name": name, "UserType": "Standard", "PermissionsApiEnabled": "No API" not in name,
         "PermissionsModifyAllData": name == "System Administrator",
         "PermissionsViewAllData": name in ("System Administrator", "Read Only"),
         "PermissionsManageUsers": name == "System Administrator", **audit}
        for name, pid in profile_ids.items()
    ]  # fmt: skip
    records["User"] = [
        {"Id": USER_IDS[username], "Username": username, "FirstName": first, "LastName": last,
         "Email": username, "Alias": (first[0] + last)[:8].lower(), "Title": title, "IsActive": True,
         "CompanyName": ORG_NAME, "TimeZoneSidKey": "America/Los_Angeles", "LocaleSidKey": "en_US",
         "LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8", "ProfileId": profile_ids[profile],
         "UserType": "Standard", **audit}
        for username, first, last, title, profile in USERS
    ]  # fmt: skip
    records["LeadStatus"] = [
        {"Id": make_id("01J", i), "MasterLabel": value, "ApiName": value, "SortOrder": i, "IsDefault": default,
         "IsConverted": converted, **audit}
        for i, (value, converted, default) in enumerate(LEAD_STATUSES, start=1)
    ]  # fmt: skip
    owners = [USER_IDS[REP1_USERNAME], USER_IDS[REP2_USERNAME], USER_IDS[REP1_USERNAME], ADMIN_USER_ID]

    accounts = records["Account"] = []
    for i in range(DEMO_COUNTS["Account"]):
        city, state, postal, country = rng.choice(PLACES)
        name = f"{WORDS[i % len(WORDS)]} {NOUNS[(i // len(WORDS)) % len(NOUNS)]}"
        accounts.append({
            "Id": next_id("001"), "Name": name, "Type": rng.choice(("Prospect", "Customer - Direct", "Other")),
            "Industry": rng.choice(INDUSTRIES), "AnnualRevenue": float(rng.randrange(2, 5000) * 100_000),
            "NumberOfEmployees": rng.randrange(5, 20000), "Phone": f"+1 415-555-{i:04d}",
            "Website": f"https://www.{name.lower().replace(' ', '')}.example",
            "BillingStreet": f"{rng.randint(1, 999)} Market Street", "BillingCity": city,
            "BillingState": state, "BillingPostalCode": postal, "BillingCountry": country,
            "OwnerId": rng.choice(owners), "CreatedById": ADMIN_USER_ID, "LastModifiedById": ADMIN_USER_ID,
            **stamped(365),
        })  # fmt: skip

    records["Contact"] = []
    for i in range(DEMO_COUNTS["Contact"]):
        account = accounts[i % len(accounts)]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = account["Website"].removeprefix("https://www.")
        records["Contact"].append({
            "Id": next_id("003"), "AccountId": account["Id"], "FirstName": first, "LastName": last,
            "Title": rng.choice(TITLES), "Email": f"{first}.{last}.{i}@{domain}".lower(),
            "Phone": f"+1 212-555-{i:04d}", "MailingCity": account["BillingCity"],
            "MailingState": account["BillingState"], "MailingPostalCode": account["BillingPostalCode"],
            "MailingCountry": account["BillingCountry"], "LeadSource": rng.choice(SOURCES),
            "HasOptedOutOfEmail": i % 23 == 0, "OwnerId": account["OwnerId"],
            "CreatedById": ADMIN_USER_ID, "LastModifiedById": ADMIN_USER_ID, **stamped(300),
        })  # fmt: skip

    records["Lead"] = [
        _lead(rng, i, next_id("00Q"), rng.choice(owners), accounts) for i in range(DEMO_COUNTS["Lead"])
    ]
    records["Task"] = []
    people = records["Lead"][:150] + records["Contact"][:150]
    for i in range(DEMO_COUNTS["Task"]):
        who = people[i % len(people)]
        subtype = ("Call", "Email", "Task")[i % 3]
        status = rng.choice(TASK_STATUSES)
        task = {
            "Id": next_id("00T"), "WhoId": who["Id"], "Subject": f"{subtype}: follow up with {who['FirstName']}",
            "ActivityDate": -rng.randint(0, 60), "Status": status, "Priority": rng.choice(("High", "Normal", "Low")),
            "OwnerId": who["OwnerId"], "TaskSubtype": subtype, "CreatedById": who["OwnerId"],
            "LastModifiedById": who["OwnerId"], **stamped(60),
        }  # fmt: skip
        if who["Id"].startswith("003"):
            task["WhatId"] = who["AccountId"]
        if subtype == "Call":
            task.update(
                CallType="Outbound", CallDurationInSeconds=rng.randint(20, 1800), CallDisposition="Connected"
            )
        if status == "Completed":
            task["CompletedDateTime"] = task["LastModifiedDate"]
        records["Task"].append(task)
    return Template(records=records, serial=1000 + serial + 1)


def _lead(rng: random.Random, i: int, lead_id: str, owner: str, accounts: list[Record]) -> Record:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = f"{rng.choice(WORDS)} {rng.choice(NOUNS)} {rng.choice(('Inc.', 'LLC', 'Ltd', 'GmbH', 'Group'))}"
    city, state, postal, country = rng.choice(PLACES)
    status = rng.choices([s for s, _, _ in LEAD_STATUSES], weights=LEAD_STATUS_WEIGHTS)[0]
    lead: Record = {
        "Id": lead_id, "FirstName": first, "LastName": last, "Company": company, "Title": rng.choice(TITLES),
        "Email": f"{first}.{last}.{i}@{company.split()[0].lower()}-{company.split()[1].lower()}.example".lower(),
        "Phone": f"+1 646-555-{i:04d}", "Street": f"{rng.randint(1, 999)} Main Street", "City": city,
        "State": state, "PostalCode": postal, "Country": country, "Status": status,
        "LeadSource": rng.choice(SOURCES), "Industry": rng.choice(INDUSTRIES),
        "Rating": rng.choice(("Hot", "Warm", "Cold", None)),
        "AnnualRevenue": float(rng.randrange(1, 3000) * 10_000) if i % 5 else None,
        "NumberOfEmployees": rng.randrange(1, 5000), "OwnerId": owner,
        "HasOptedOutOfEmail": i % 29 == 0, "CreatedById": owner, "LastModifiedById": owner,
        "CreatedDate": -rng.randint(3600, 365 * 86400),
    }  # fmt: skip
    modified = rng.randint(lead["CreatedDate"], -60)
    lead.update(LastModifiedDate=modified, SystemModstamp=modified)
    if status == "Closed - Converted":
        lead.update(
            IsConverted=True, ConvertedDate=modified // 86400, ConvertedAccountId=rng.choice(accounts)["Id"]
        )
    return {k: v for k, v in lead.items() if v is not None}


def generate(
    store: SalesforceStore, sobject: str, count: int, *, start: int | None = None, per_second: int = 1,
    owner_id: str | None = None,
) -> list[str]:  # fmt: skip
    """Add ``count`` plausible records fast (no validation), their ``SystemModstamp``s rising from
    ``start`` with ``per_second`` records sharing each second (ties, as bulk loads produce); by
    default the last one lands one second before now. Used for benchmarks (100,000 leads)."""
    if sobject not in ("Lead", "Contact", "Account", "Task"):
        raise ValueError(f"cannot generate {sobject} records (Lead, Contact, Account or Task)")
    per_second = max(per_second, 1)
    now = store.clock.now()
    first = start if start is not None else now - 1 - (count - 1) // per_second
    rng = random.Random(store.serial)  # noqa: S311 - demo data, not secrets
    owners = [owner_id] if owner_id else [USER_IDS[REP1_USERNAME], USER_IDS[REP2_USERNAME]]
    accounts = [r for r in store.records["Account"].values() if not r.get("IsDeleted")] or [{"Id": None}]
    table, created = store.records[sobject], []
    prefix = {"Lead": "00Q", "Contact": "003", "Account": "001", "Task": "00T"}[sobject]
    for i in range(count):
        stamp = first + i // per_second
        owner = owners[i % len(owners)]
        record_id = store.new_id(prefix)
        serial = store.serial
        if sobject == "Lead":
            record = _lead(rng, serial, record_id, owner, accounts)
        else:
            first_name, last_name = FIRST[serial % len(FIRST)], LAST[(serial // 7) % len(LAST)]
            city, state, postal, country = PLACES[serial % len(PLACES)]
            record = {
                "Contact": {"FirstName": first_name, "LastName": last_name, "Title": TITLES[serial % len(TITLES)],
                            "Email": f"{first_name}.{last_name}.{serial}@generated.example".lower(),
                            "AccountId": accounts[serial % len(accounts)]["Id"], "MailingCity": city,
                            "MailingState": state, "MailingPostalCode": postal, "MailingCountry": country},
                "Account": {"Name": f"Generated Account {serial}", "Industry": INDUSTRIES[serial % len(INDUSTRIES)],
                            "BillingCity": city, "BillingState": state, "BillingCountry": country,
                            "AnnualRevenue": float(serial % 500 * 100_000)},
                "Task": {"Subject": f"Generated task {serial}", "Status": "Not Started", "Priority": "Normal",
                         "TaskSubtype": "Task"},
            }[sobject]  # fmt: skip
            record = {k: v for k, v in record.items() if v is not None}
            record["Id"] = record_id
            record["OwnerId"] = owner
        record.update(CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp, CreatedById=owner,
                      LastModifiedById=owner)  # fmt: skip
        table[record_id] = record
        if sobject in ("Lead", "Contact"):
            store.index_email(record_id, None, record.get("Email"))
        created.append(record_id)
    return created
