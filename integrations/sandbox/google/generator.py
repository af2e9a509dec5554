"""Fast, realistic bulk data for benchmarks: many users, big mailboxes, and new mail arriving.

``generate_mailbox`` files 10,000 messages in well under a second: messages keep their fields and
build their RFC 2822 bytes only when a client asks for them. Everything is deterministic for a
given user and count, so benchmark runs are comparable.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections.abc import Iterable

from integrations.sandbox.google.mailbox import MailMessage
from integrations.sandbox.google.sending import neutral_headers
from integrations.sandbox.google.store import GoogleStore, User

_FIRST = (
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Riley",
    "Casey",
    "Jamie",
    "Avery",
    "Quinn",
    "Priya",
    "Mateo",
    "Yuki",
    "Amara",
    "Lars",
    "Ines",
    "Omar",
    "Chen",
    "Noor",
    "Elena",
)
_LAST = (
    "Walker",
    "Hughes",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Silva",
    "Novak",
    "Reyes",
    "Kowalski",
    "Byrne",
    "Haddad",
    "Larsen",
    "Costa",
    "Sato",
    "Ibrahim",
    "Fischer",
    "Rossi",
    "Kaur",
    "Lee",
)
_WORDS = (
    "Northwind",
    "Bright",
    "Cedar",
    "Summit",
    "Harbor",
    "Pioneer",
    "Atlas",
    "Crescent",
    "Vertex",
    "Willow",
    "Granite",
    "Beacon",
    "Falcon",
    "Meadow",
    "Orbit",
    "Quarry",
    "Sterling",
    "Tidal",
    "Upland",
    "Zephyr",
)
_SUBJECTS = (
    "Quick question about {co}",
    "Proposal for {co}",
    "Follow-up: {co} pilot",
    "Invoice and next steps",
    "{co} onboarding plan",
    "Meeting notes — {co}",
    "Contract review for {co}",
    "Pricing update",
    "Intro call with {co}",
    "Renewal discussion",
)
_LINES = (
    "Thanks for the quick reply — that works for us.",
    "Could you share the latest figures before Friday?",
    "Attached is the summary we discussed on the call.",
    "Let's find 30 minutes next week to go through it.",
    "Our team reviewed the proposal and has a few questions.",
    "Happy to move forward with the next phase.",
)


def _people(rng: random.Random, domains: int) -> list[tuple[str, str, str]]:
    """(name, email, company) for ``domains`` made-up companies, a few people each."""
    people = []
    for index in range(domains):
        company = f"{_WORDS[index % len(_WORDS)]} {_WORDS[(index // len(_WORDS)) % len(_WORDS)]} {index}"
        domain = f"{company.lower().replace(' ', '-')}.example"
        for _ in range(rng.randint(2, 6)):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            people.append((f"{first} {last}", f"{first}.{last}@{domain}".lower(), company))
    return people


def generate_mailbox(
    store: GoogleStore,
    *,
    user: str,
    count: int,
    days: int = 80,
    external_domains: int = 200,
    seed: int | None = None,
) -> list[MailMessage]:
    """``count`` messages over the last ``days`` days in ``user``'s mailbox, threads of 1–4
    messages with external people, about a third of them sent by the user. No history kept."""
    owner = _user(store, user)
    rng = random.Random(seed if seed is not None else zlib.crc32(f"{owner.email}:{count}:{days}".encode()))  # noqa: S311
    people = _people(rng, max(1, external_domains))
    mailbox = store.mailbox(owner.email)
    me = (owner.full_name, owner.email)
    now = store.clock.now()
    created: list[MailMessage] = []
    serial = len(mailbox.messages)
    while len(created) < count:
        name, address, company = rng.choice(people)
        them = (name, address)
        subject = rng.choice(_SUBJECTS).format(co=company)
        start = now - rng.uniform(0, days * 86400)
        previous: list[str] = []
        for turn in range(min(rng.randint(1, 4), count - len(created))):
            serial += 1
            ours = (turn % 2 == 1) if rng.random() < 0.7 else (turn % 2 == 0)
            sent_at = min(start + turn * rng.uniform(600, 86400), now - 60)
            message_id = f"gen-{serial:07d}.{owner.id[-6:]}@mail.{address.partition('@')[2]}"
            headers = neutral_headers(
                sender=me if ours else them,
                to=[them] if ours else [me],
                cc=(),
                subject=subject if turn == 0 else f"Re: {subject}",
                sent_at=dt.datetime.fromtimestamp(sent_at, dt.UTC),
                message_id=message_id,
                in_reply_to=previous[-1] if previous else "",
                references=previous,
            )
            body = f"Hi {(them if ours else me)[0].split()[0]},\n\n{rng.choice(_LINES)}\n\n— {(me if ours else them)[0]}"
            created.append(
                mailbox.add_message(
                    headers=headers,
                    text=body,
                    label_ids=["SENT"] if ours else ["INBOX"],
                    internal_date=int(sent_at * 1000),
                    references=list(reversed(previous)),
                    record=False,
                )
            )
            previous.append(message_id)
    return created


def generate_users(
    store: GoogleStore,
    *,
    count: int,
    messages_each: int = 0,
    domain: str = "demo.example",
    org_unit: str = "/Sales",
    group: str | None = None,
    prefix: str = "user",
) -> list[User]:
    """``count`` more users (``user0001@…``), each with ``messages_each`` generated messages."""
    rng = random.Random(count)  # noqa: S311
    existing = sum(1 for email in store.users if email.startswith(prefix) and email.endswith("@" + domain))
    users = []
    for number in range(existing + 1, existing + count + 1):
        user = store.add_user(
            email=f"{prefix}{number:04d}@{domain}",
            given_name=rng.choice(_FIRST),
            family_name=rng.choice(_LAST),
            org_unit_path=org_unit,
        )
        users.append(user)
        if messages_each:
            generate_mailbox(
                store, user=user.email, count=messages_each, days=30, external_domains=20, seed=number
            )
    if group:
        target = store.group_by_key(group) or store.add_group(email=group, name=group.partition("@")[0])
        for user in users:
            store.add_member(target, user.email)
    return users


def append_messages(store: GoogleStore, *, users: str | Iterable[str] = "all", count: int = 20) -> int:
    """New mail arriving now: ``count`` inbound messages per user, each with a history record."""
    chosen = list(store.users.values()) if users == "all" else [_user(store, u) for u in users]
    now = store.clock.now()
    added = 0
    for owner in chosen:
        rng = random.Random(zlib.crc32(f"{owner.email}:{now}".encode()))  # noqa: S311
        people = _people(rng, 5)
        mailbox = store.mailbox(owner.email)
        for index in range(count):
            name, address, company = rng.choice(people)
            sent_at = now - (count - index)
            message_id = f"new-{int(now)}-{index}.{owner.id[-6:]}@mail.{address.partition('@')[2]}"
            headers = neutral_headers(
                sender=(name, address),
                to=[(owner.full_name, owner.email)],
                cc=(),
                subject=rng.choice(_SUBJECTS).format(co=company),
                sent_at=dt.datetime.fromtimestamp(sent_at, dt.UTC),
                message_id=message_id,
            )
            mailbox.add_message(
                headers=headers,
                text=f"Hi {owner.given_name},\n\n{rng.choice(_LINES)}\n\n— {name}",
                label_ids=["INBOX", "UNREAD"],
                internal_date=int(sent_at * 1000),
            )
            added += 1
    return added


def _user(store: GoogleStore, email: str) -> User:
    user = store.user(email)
    if user is None:
        raise ValueError(f"no Google user {email!r}")
    return user
