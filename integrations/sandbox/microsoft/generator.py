"""Bulk data for benchmarks and load tests: big mailboxes, many users, new mail arriving.

Deterministic per call order (seeded RNG) and fast: 10,000 messages in well under a second — items
are built as plain dicts, with no per-message lookups beyond the mailbox itself.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from integrations.sandbox.microsoft import mailboxes
from integrations.sandbox.microsoft.demo import DEMO_TENANT_ID, object_id
from integrations.sandbox.microsoft.directory import Directory, User
from integrations.sandbox.microsoft.items import message_json
from integrations.sandbox.microsoft.mailboxes import MailStore
from integrations.sandbox.provider import SeedError

_FIRST = ("Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Harper",
          "Rowan", "Sasha", "Elena", "Mateo", "Yuki", "Amara", "Lars", "Priya", "Tomás", "Ines")  # fmt: skip
_LAST = ("Reed", "Hughes", "Patel", "Nakamura", "Okafor", "Lindqvist", "Moreau", "Silva", "Kowalski",
         "Brennan", "Duarte", "Fischer", "Haddad", "Ivanova", "Jensen", "Keller", "Larsen", "Murphy")  # fmt: skip
_WORDS = ("Northwind", "Bluebird", "Cedar", "Summit", "Harbor", "Pioneer", "Vertex", "Lumen", "Atlas",
          "Granite", "Meridian", "Beacon", "Orchard", "Falcon", "Willow", "Everest", "Cobalt", "Juniper")  # fmt: skip
_TOPICS = ("Quarterly review", "Pricing question", "Contract renewal", "Onboarding plan", "Invoice",
           "Meeting follow-up", "Proposal draft", "Support escalation", "Security review", "Roadmap update")  # fmt: skip
_LINES = ("Thanks for the quick turnaround.", "Could we move this to next week?",
          "Attaching the latest numbers for your review.", "Let me check with the team and get back to you.",
          "Happy to jump on a call if that helps.", "We are aligned on the scope.")  # fmt: skip


def _companies(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(company name, domain) pairs for external correspondents."""
    found: dict[str, str] = {}
    while len(found) < count:
        name = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}"
        domain = name.lower().replace(" ", "") + f"{len(found)}.example"
        found[domain] = name
    return [(name, domain) for domain, name in found.items()]


def _external(rng: random.Random, companies: list[tuple[str, str]]) -> tuple[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    _company, domain = rng.choice(companies)
    return (f"{first}.{last}@{domain}".lower(), f"{first} {last}")


def generate_mailbox(
    store: Directory, mail: MailStore, *, user: str, count: int = 10_000, days: float = 80,
    external_domains: int = 200, now: dt.datetime | None = None,
) -> int:  # fmt: skip
    """``count`` messages over the last ``days`` days: a quarter sent by the user (Sent Items),
    the rest received (Inbox), in threads of about three with ~``external_domains`` companies."""
    owner = store.find_user(user)
    if owner is None:
        raise SeedError(f"no Microsoft user {user!r}")
    now = now or dt.datetime.now(dt.UTC)
    rng = random.Random(f"{owner.id}:{count}:{days}")  # noqa: S311 - made-up data
    companies = _companies(max(1, external_domains), rng)
    box = mail.mailbox(owner)
    inbox, sent_items = box.well_known["inbox"], box.well_known["sentitems"]
    me = (owner.mail, owner.display_name)
    span = days * 86400
    domain = owner.mail.rpartition("@")[2]
    contact = _external(rng, companies)
    for index in range(count):
        if index % 3 == 0:
            contact = _external(rng, companies)
        received = now - dt.timedelta(seconds=span * (count - index - 0.5) / count)
        ours = index % 4 == 1
        topic = f"{_TOPICS[(index // 3) % len(_TOPICS)]} #{index // 3}"
        message = message_json(
            sender=me if ours else contact,
            to=[contact] if ours else [me],
            subject=topic if index % 3 == 0 else f"RE: {topic}",
            body=f"Hi {contact[1].split()[0] if ours else owner.given_name or owner.display_name},\n\n"
            f"{_LINES[index % len(_LINES)]}\n\n— {(me if ours else contact)[1]}",
            received=received,
            internet_message_id=f"gen-{index}-{rng.getrandbits(48):012x}@{domain if ours else contact[0].rpartition('@')[2]}",
            is_read=ours or index < count - 20,
        )
        mailboxes.add_message(mail, box, message, sent_items if ours else inbox)
    return count


def generate_users(
    store: Directory, mail: MailStore, *, count: int = 500, tenant_id: str = DEMO_TENANT_ID,
    domain: str | None = None, group: str | None = None, messages_each: int = 0, prefix: str = "user",
) -> list[str]:  # fmt: skip
    """``count`` more users (``user0001@demo.example`` …), optionally in ``group`` and each with
    ``messages_each`` messages over the last 30 days. Returns their userPrincipalNames."""
    tenant = store.tenants.get(tenant_id)
    if tenant is None:
        raise SeedError(f"unknown tenant {tenant_id!r}")
    domain = domain or (tenant.domains[0] if tenant.domains else tenant.domain)
    target_group = store.find_group(group, tenant.id) if group else None
    if group and target_group is None:
        raise SeedError(f"unknown group {group!r}")
    rng = random.Random(f"users:{tenant_id}:{len(store.users)}")  # noqa: S311 - made-up data
    created: list[str] = []
    number = 0
    while len(created) < count:
        number += 1
        upn = f"{prefix}{number:04d}@{domain}"
        if store.find_user(upn) is not None:
            continue
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        user = User(id=object_id(tenant.id, upn), tenant_id=tenant.id, user_principal_name=upn, mail=upn,
                    display_name=f"{first} {last}", given_name=first, surname=last,
                    job_title="Account Executive", department="Sales")  # fmt: skip
        store.add_user(user)
        if target_group is not None:
            target_group.members.append(user.id)
        if messages_each:
            generate_mailbox(store, mail, user=upn, count=messages_each, days=30, external_domains=20)
        created.append(upn)
    return created


def append_messages(
    store: Directory, mail: MailStore, *, users: Any = "all", count: int = 20, now: dt.datetime | None = None
) -> int:
    """``count`` new messages arriving now in the Inbox of each user ("all": every user with a
    mailbox). Returns how many were added."""
    if users == "all":
        targets = [u for u in store.users.values() if u.has_mailbox]
    else:
        targets = [_user(store, key) for key in users]
    now = now or dt.datetime.now(dt.UTC)
    rng = random.Random(f"append:{mail.seq}")  # noqa: S311 - made-up data
    companies = _companies(20, rng)
    added = 0
    for user in targets:
        box = mail.mailbox(user)
        inbox = box.well_known["inbox"]
        for index in range(count):
            sender = _external(rng, companies)
            message = message_json(
                sender=sender,
                to=[(user.mail, user.display_name)],
                subject=f"{rng.choice(_TOPICS)} — {sender[1]}",
                body=f"{rng.choice(_LINES)}\n\n— {sender[1]}",
                received=now - dt.timedelta(seconds=count - index),
                internet_message_id=f"new-{mail.seq + 1}-{rng.getrandbits(48):012x}@{sender[0].rpartition('@')[2]}",
                is_read=False,
            )
            mailboxes.add_message(mail, box, message, inbox)
            added += 1
    return added


def _user(store: Directory, key: str) -> User:
    user = store.find_user(key)
    if user is None:
        raise SeedError(f"no Microsoft user {key!r}")
    return user
