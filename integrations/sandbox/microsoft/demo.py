"""The Microsoft 365 organisation every fresh sandbox starts with (``make run`` demo and tests).

Demo Co's tenant (verified domain ``demo.example``) with the people of
``integrations.sandbox.demo_world`` (admin@demo.example is a Global Administrator), the security
group "Cadence sellers", and mailboxes, calendars and address books rendered from the demo world.
Cadence's multi-tenant app is registered in it; the tenant has NOT consented to it yet (the demo's
admin does that from the portal).

Not secrets: they only open the local sandbox. Point ``MICROSOFT_LOGIN_URL`` at the sandbox and use
these ids to connect Demo Co's Microsoft 365 tenant without a real Entra app registration.
"""

from __future__ import annotations

import datetime as dt
import uuid

from integrations.sandbox import demo_world
from integrations.sandbox.microsoft import mailboxes
from integrations.sandbox.microsoft.directory import (
    AppRegistration,
    Directory,
    Group,
    Tenant,
    User,
    directory,
)
from integrations.sandbox.microsoft.items import contact_json, event_json, message_json
from integrations.sandbox.microsoft.mailboxes import MailStore, mail_store
from integrations.sandbox.state import SandboxState

DEMO_TENANT_ID = "9b1c3f52-7a4e-4d1b-9c61-2f0e5a7d8c43"
DEMO_TENANT_DOMAIN = "democo.onmicrosoft.com"
DEMO_TENANT_NAME = "Demo Co"

DEMO_CLIENT_ID = "3e0f7c2a-5b84-4c9e-a1d6-7f2b9e4c0d18"
DEMO_CLIENT_SECRET = "Sbx8Q~cadence-sandbox-demo-secret-not-for-production"
DEMO_APP_NAME = "Cadence (sandbox)"
# The application permissions an admin would consent to for Cadence (DESIGN.md, provider-facts B3-B5).
DEMO_APP_ROLES = (
    "Mail.ReadWrite",
    "Mail.Send",
    "MailboxSettings.ReadWrite",
    "Calendars.ReadWrite",
    "Contacts.Read",
    "GroupMember.Read.All",
    "User.Read.All",
    "Organization.Read.All",
)
# What a user-managed (delegated) connection asks each user for.
DEMO_DELEGATED_SCOPES = (
    "User.Read",
    "Mail.ReadWrite",
    "Mail.Send",
    "MailboxSettings.ReadWrite",
    "Calendars.ReadWrite",
    "Contacts.Read",
)
SELLERS_GROUP_NAME = demo_world.SALES_SECURITY_GROUP_NAME
SELLERS_GROUP_MAIL = "cadence-sellers@demo.example"
ALL_COMPANY_GROUP_NAME = "All Company"
JOB_TITLES = {"admin@demo.example": "IT Administrator"}


def object_id(tenant_id: str, key: str) -> str:
    """Stable object ids, so a demo database keeps matching a restarted sandbox."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"microsoft:{tenant_id}:{key.lower()}"))


def seed_demo(state: SandboxState, now: dt.datetime | None = None) -> None:
    store = directory(state)
    tenant = Tenant(DEMO_TENANT_ID, DEMO_TENANT_DOMAIN, DEMO_TENANT_NAME, domains=(demo_world.DEMO_DOMAIN,))
    store.tenants[tenant.id] = tenant
    store.apps[DEMO_CLIENT_ID] = AppRegistration(
        client_id=DEMO_CLIENT_ID,
        tenant_id=DEMO_TENANT_ID,
        display_name=DEMO_APP_NAME,
        secrets=(DEMO_CLIENT_SECRET,),
        roles=DEMO_APP_ROLES,
        service_principal_id=object_id(DEMO_TENANT_ID, f"serviceprincipal:{DEMO_CLIENT_ID}"),
        local_redirects=True,
        multi_tenant=True,
    )
    for email, name in demo_world.DEMO_STAFF:
        given, _, surname = name.partition(" ")
        store.add_user(
            User(
                id=object_id(DEMO_TENANT_ID, email),
                tenant_id=DEMO_TENANT_ID,
                user_principal_name=email,
                mail=email,
                display_name=name,
                given_name=given,
                surname=surname,
                job_title=JOB_TITLES.get(email, "Account Executive"),
                department="IT" if email in JOB_TITLES else "Sales",
                is_admin=email == "admin@demo.example",
            )
        )
    sellers = Group(
        id=object_id(DEMO_TENANT_ID, f"group:{SELLERS_GROUP_NAME}"),
        tenant_id=DEMO_TENANT_ID,
        display_name=SELLERS_GROUP_NAME,
        description="Sellers whose mailboxes Cadence syncs",
        mail=SELLERS_GROUP_MAIL,
        mail_enabled=True,  # application access policies need a mail-enabled security group
        security_enabled=True,
        members=[object_id(DEMO_TENANT_ID, email) for email in demo_world.SELLERS],
    )
    everyone = Group(
        id=object_id(DEMO_TENANT_ID, f"group:{ALL_COMPANY_GROUP_NAME}"),
        tenant_id=DEMO_TENANT_ID,
        display_name=ALL_COMPANY_GROUP_NAME,
        description="Everyone at Demo Co",
        mail="allcompany@demo.example",
        mail_enabled=True,
        security_enabled=False,
        group_types=("Unified",),
        members=[object_id(DEMO_TENANT_ID, email) for email, _ in demo_world.DEMO_STAFF],
    )
    store.groups[sellers.id] = sellers
    store.groups[everyone.id] = everyone
    render_world(store, mail_store(state), demo_world.build_world(now))


def render_world(store: Directory, mail: MailStore, world: demo_world.World) -> None:
    """Each thread message into each owner's mailbox (Sent Items when they sent it, Inbox
    otherwise); meetings into the owners' calendars; address books into contact folders."""
    for thread in world.threads:
        for owner in thread.mailbox_owners:
            user = store.find_user(owner)
            if user is None:
                continue
            box = mail.mailbox(user)
            for message in thread.messages:
                sent = message.sender[0] == owner
                item = message_json(
                    sender=(message.sender[0], message.sender[1]),
                    to=message.to,
                    cc=message.cc,
                    subject=thread.subject if message is thread.messages[0] else f"RE: {thread.subject}",
                    body=message.body,
                    received=message.sent_at,
                    internet_message_id=message.message_id,
                    is_read=sent or message is not thread.messages[-1],
                )
                mailboxes.add_message(mail, box, item, box.well_known["sentitems" if sent else "inbox"])
    now = dt.datetime.now(dt.UTC)
    for meeting in world.meetings:
        for owner in meeting.calendar_owners:
            user = store.find_user(owner)
            if user is None:
                continue
            teams = meeting.join_kind == "teams"
            body = meeting.description or (
                f"Join: {meeting.join_url}" if meeting.join_url and not teams else ""
            )
            if teams:
                body = (f'{meeting.description}<div><a href="{meeting.join_url}">Join the meeting now</a></div>'
                        "<div>Microsoft Teams meeting</div>")  # fmt: skip
            response = "accepted" if meeting.start < now else "none"
            event = event_json(
                subject=meeting.subject,
                start=meeting.start,
                end=meeting.end,
                organizer=meeting.organizer,
                attendees=[(a, n, response) for a, n in meeting.attendees if a != meeting.organizer[0]],
                is_organizer=owner == meeting.organizer[0],
                body=body,
                location=meeting.location or ("" if teams else meeting.join_url),
                teams_join_url=meeting.join_url if teams else "",
                private=meeting.private,
                ical_uid=meeting.uid,
                created=meeting.start - dt.timedelta(days=7),
            )
            mailboxes.add_event(mail, mail.mailbox(user), event)
    for entry in world.address_book:
        user = store.find_user(entry.owner)
        if user is None:
            continue
        box = mail.mailbox(user)
        person = entry.person
        contact = contact_json(
            given_name=person.first_name,
            surname=person.last_name,
            emails=[(person.email, person.name)],
            company=person.company,
            job_title=person.title,
            phones=[person.phone] if person.phone else [],
        )
        mailboxes.add_contact(mail, box, contact, mailboxes.add_contact_folder(box, entry.folder))
