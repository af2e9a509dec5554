"""Demo Co's side of Sandbox Corp: the shared demo world (``integrations.sandbox.demo_world``) as
Salesforce records, for ``make run``'s connected demo (``demo/connect.py``).

Sandbox Corp's own 5,500 generated records stay as they are (tests count them); this adds, once:

- Demo Co's staff as Salesforce users whose ``Email`` is their Cadence address (the admin with the
  System Administrator profile, the sellers as Standard Users), so Cadence's owner mapping by email
  finds them and the demo admin can sign in to Salesforce as herself;
- an Account for each of the demo world's customer companies (``Website`` on its domain), owned by
  the seller whose mailbox holds that company's conversations;
- a Contact for each of their people, with the same email, name, title and phone as in the
  mailboxes, so Cadence links its demo contacts to them by email.

Asked for with ``{"demo_world": true}`` in a ``/_sandbox/seed`` body; a second call adds nothing.
"""

from __future__ import annotations

from integrations.sandbox import demo_world
from integrations.sandbox.salesforce import records
from integrations.sandbox.salesforce.schema import find_object
from integrations.sandbox.salesforce.store import SalesforceStore

PROFILE_OF = {"admin@demo.example": "System Administrator"}
DEFAULT_PROFILE = "Standard User"


def render_demo_world(store: SalesforceStore, *, acting_user_id: str) -> bool:
    """Add Demo Co's users, accounts and contacts; False (and nothing added) when already there."""
    if store.find_user(demo_world.DEMO_STAFF[0][0]) is not None:
        return False
    world = demo_world.build_world()
    profiles = {p["Name"]: p["Id"] for p in store.records["Profile"].values()}
    user_ids: dict[str, str] = {}
    for email, name in demo_world.DEMO_STAFF:
        first, _, last = name.partition(" ")
        user_ids[email] = _create(
            store,
            "User",
            {
                "Username": email,
                "Email": email,
                "FirstName": first,
                "LastName": last,
                "Alias": (first[0] + last)[:8].lower(),
                "IsActive": True,
                "CompanyName": demo_world.DEMO_ORG_NAME,
                "TimeZoneSidKey": "America/New_York",
                "LocaleSidKey": "en_US",
                "LanguageLocaleKey": "en_US",
                "EmailEncodingKey": "UTF-8",
                "ProfileId": profiles[PROFILE_OF.get(email, DEFAULT_PROFILE)],
            },
            acting_user_id,
        )
    seller_of = {entry.person.company: entry.owner for entry in world.address_book}
    admin_id = user_ids[demo_world.DEMO_STAFF[0][0]]
    account_ids: dict[str, str] = {}
    for name, domain in demo_world.COMPANIES:
        owner = user_ids.get(seller_of.get(name, ""), admin_id)
        account_ids[name] = _create(
            store,
            "Account",
            {"Name": name, "Website": f"https://www.{domain}", "Type": "Prospect", "OwnerId": owner},
            acting_user_id,
        )
    for person in world.people:
        if not person.company:
            continue
        _create(
            store,
            "Contact",
            {
                "FirstName": person.first_name,
                "LastName": person.last_name,
                "Email": person.email,
                "Title": person.title,
                "Phone": person.phone or None,
                "AccountId": account_ids[person.company],
                "OwnerId": user_ids.get(seller_of.get(person.company, ""), admin_id),
                "LeadSource": "Web",
            },
            acting_user_id,
        )
    return True


def _create(store: SalesforceStore, sobject: str, fields: dict, acting_user_id: str) -> str:
    obj = find_object(sobject)
    assert obj is not None, sobject
    return records.create(store, obj, fields, user_id=acting_user_id, system=True)
