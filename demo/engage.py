"""Demo Co's workspace data for ``make run``: ~300 contacts across 40 accounts, owned by both
sellers (and a few by the admin), spread over the statuses and the last 90 days.

The customers' people of the provider sandbox's demo world (``integrations.sandbox.demo_world``)
are among them — same email, name, title and company, owned by the seller whose mailbox holds
their conversations — so once the demo mailboxes sync, their contact pages show those emails and
meetings. The other contacts are generated.

Deterministic (a seeded ``random.Random``) so every newcomer sees the same people, and written
with ``bulk_create`` so a start stays fast. The made-up companies, places and names are in
``demo.fiction``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from copilot.models import Organization, User
from demo.fiction import COMPANIES, FIRST_NAMES, LAST_NAMES, PLACE_WEIGHTS, PLACES, TITLES, Place, demo_email
from engage.models import Account, Contact, ContactStatus
from engage.services.statuses import status_default, statuses_ensure_defaults
from integrations.sandbox import demo_world

SEED = 20_240_917
CONTACT_COUNT = 300
SPREAD_DAYS = 90
SELLER_EMAILS = ("seller1@demo.example", "seller2@demo.example")
ADMIN_EMAIL = "admin@demo.example"

# Weights by status name; statuses the organisation no longer has fall back to its default.
STATUS_WEIGHTS = {
    "New": 30,
    "Open": 20,
    "Contacted": 25,
    "Prospecting": 8,
    "Qualified": 8,
    "Closed": 4,
    "Unqualified": 3,
    "Disqualified": 2,
}
OPT_OUT_RATE = 0.03


def _accounts(organization: Organization, rng: random.Random, now: datetime) -> list[Account]:
    accounts = []
    for name, domain in COMPANIES:
        place = rng.choices(PLACES, weights=PLACE_WEIGHTS)[0]
        city, state, postal = rng.choice(place.cities)
        created = now - timedelta(days=SPREAD_DAYS, hours=rng.randint(0, 240))
        accounts.append(
            Account(
                organization=organization,
                name=name,
                domain=domain,
                website=f"https://www.{domain}",
                phone=place.phone(rng),
                street=f"{rng.randint(1, 400)} {rng.choice(place.streets)}",
                city=city,
                state=state,
                postal_code=postal,
                country=place.country,
                created_at=created,
                updated_at=created,
            )
        )
    return accounts


def _place_of(account: Account) -> Place:
    return next(p for p in PLACES if p.country == account.country)


@transaction.atomic
def engage_demo_seed(organization: Organization) -> int:
    """Fill the demo organisation's workspace; returns how many contacts were made (0 when it
    already has contacts: the seed runs on every ``make run`` and never touches existing data)."""
    if Contact.objects.for_org(organization).exists():
        return 0
    rng = random.Random(SEED)  # noqa: S311 - made-up demo data, nothing secret
    now = timezone.now()
    users = {u.email: u for u in User.objects.filter(organization=organization)}
    sellers = [users[e] for e in SELLER_EMAILS if e in users]
    admin = users.get(ADMIN_EMAIL)
    owners: list[User | None] = sellers or [admin]
    draw = _Draw(rng, organization)
    accounts = Account.objects.bulk_create(_accounts(organization, rng, now))
    world_people = _world_people()
    taken: set[str] = {person.email for person, _owner in world_people}
    contacts = _generated_contacts(
        draw, accounts, owners, admin, taken, count=CONTACT_COUNT - len(world_people), now=now
    )
    # The demo world's people, after the generated ones (which keep their order and data).
    by_domain = {a.domain: a for a in accounts}
    for i, (person, owner_email) in enumerate(world_people):
        account = by_domain[person.domain]
        created, updated = _created_updated(rng, now)
        contacts.append(
            _contact(
                account,
                owner=users.get(owner_email) or owners[i % len(owners)],
                status=draw.status(),
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
                title=person.title,
                direct_phone=person.phone,
                **_office_address(account),
                source=draw.source(),
                created_at=created,
                updated_at=updated,
            )
        )
    Contact.objects.bulk_create(contacts, batch_size=500)
    return len(contacts)


class _Draw:
    """The seeded draws of a contact's status and source."""

    def __init__(self, rng: random.Random, organization: Organization) -> None:
        self.rng = rng
        statuses_ensure_defaults(organization=organization)
        self.fallback = status_default(organization=organization)
        self.by_name = {s.name: s for s in ContactStatus.objects.for_org(organization)}

    def status(self) -> ContactStatus:
        name = self.rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        return self.by_name.get(name, self.fallback)

    def source(self) -> str:
        return Contact.Source.IMPORT if self.rng.random() < 0.55 else Contact.Source.MANUAL


def _generated_contacts(
    draw: _Draw,
    accounts: list[Account],
    owners: list[User | None],
    admin: User | None,
    taken: set[str],
    *,
    count: int,
    now: datetime,
) -> list[Contact]:
    rng = draw.rng
    contacts = []
    # The rest cluster on a few bigger made-up customers, never on the sandbox world's companies:
    # its mailboxes talk only to its own people, so a made-up contact there had a company page
    # full of the team's mail and a contact page with none (nobody ever wrote to that address).
    world_domains = {domain for _name, domain in demo_world.COMPANIES}
    made_up = [a for a in accounts if a.domain not in world_domains]
    # ``rng`` is drawn in the order of the keyword arguments below: keep it, or every newcomer's
    # demo data changes.
    for i in range(count):
        # Every account gets someone (the sample CSV's duplicate rows are two of these).
        account = accounts[i] if i < len(accounts) else rng.choice(made_up[: len(made_up) // 2] + made_up)
        place = _place_of(account)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created, updated = _created_updated(rng, now)
        owner = admin if admin and rng.random() < 0.04 else owners[i % len(owners)]
        same_office = rng.random() < 0.7
        contacts.append(
            _contact(
                account,
                owner=owner,
                status=draw.status(),
                first_name=first,
                last_name=last,
                email=demo_email(first, last, account.domain, taken),
                title=rng.choice(TITLES),
                direct_phone=place.phone(rng) if rng.random() < 0.6 else "",
                mobile_phone=place.phone(rng) if rng.random() < 0.5 else "",
                **(_office_address(account) if same_office else {}),
                source=draw.source(),
                email_opt_out=rng.random() < OPT_OUT_RATE,
                created_at=created,
                updated_at=updated,
            )
        )
    return contacts


def _contact(account: Account, **fields) -> Contact:
    """A contact of ``account``'s organisation who works there (its company, phone and country)."""
    return Contact(
        organization=account.organization,
        company=account.name,
        account=account,
        business_phone=account.phone,
        country=account.country,
        **fields,
    )


def _created_updated(rng: random.Random, now: datetime) -> tuple[datetime, datetime]:
    """When a contact was made within the last ``SPREAD_DAYS``, and last changed since."""
    created = now - timedelta(seconds=rng.randint(0, SPREAD_DAYS * 86_400))
    return created, created + timedelta(seconds=rng.randint(0, int((now - created).total_seconds())))


def _office_address(account: Account) -> dict[str, str]:
    """A contact's address when they work at their account's office."""
    return {
        "street": account.street,
        "city": account.city,
        "state": account.state,
        "postal_code": account.postal_code,
    }


def _world_people() -> list[tuple[demo_world.Person, str]]:
    """The demo world's people who work for a company, each with the Demo Co seller whose mailbox
    and address book hold them (the seller of their company; the admin when no seller has it)."""
    world = demo_world.build_world()
    seller_of = {entry.person.company: entry.owner for entry in world.address_book}
    return [(p, seller_of.get(p.company, ADMIN_EMAIL)) for p in world.people if p.company]
