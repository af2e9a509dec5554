"""Demo Co's workspace data for ``make run``: ~300 contacts across 40 accounts, owned by both
sellers (and a few by the admin), spread over the statuses and the last 90 days.

The customers' people of the provider sandbox's demo world (``integrations.sandbox.demo_world``)
are among them — same email, name, title and company, owned by the seller whose mailbox holds
their conversations — so once the demo mailboxes sync, their contact pages show those emails and
meetings. The other contacts are generated.

Deterministic (a seeded ``random.Random``) so every newcomer sees the same people, and written
with ``bulk_create`` so a start stays fast. Company names, domains (``.example``, which can never
receive mail), streets and phone numbers are made up; the numbers sit in the ranges regulators
keep for fiction where a country has one."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from copilot.models import Organization, User
from engage.models import Account, Contact, ContactStatus
from engage.services.statuses import status_default, statuses_ensure_defaults
from integrations.sandbox import demo_world

SEED = 20_240_917
CONTACT_COUNT = 300
SPREAD_DAYS = 90
SELLER_EMAILS = ("seller1@demo.example", "seller2@demo.example")
ADMIN_EMAIL = "admin@demo.example"

# name, domain — the demo world's customers first (the companies the sandbox mailboxes talk to).
COMPANIES: list[tuple[str, str]] = [
    *demo_world.COMPANIES,
    ("Tidewell Marine", "tidewell.example"),
    ("Granite Peak Capital", "granitepeak.example"),
    ("Fernhill Education", "fernhill-edu.example"),
    ("Redbrook Manufacturing", "redbrookmfg.example"),
    ("Vantage Point Media", "vantagepointmedia.example"),
    ("Evergreen Agritech", "evergreenagri.example"),
    ("Solenne Cosmétiques", "solenne.example"),
    ("Brückner Maschinenbau", "brueckner-mb.example"),
    ("Nordlys Software", "nordlys.example"),
    ("Alba Logística", "alba-logistica.example"),
    ("Maple Crescent Bank", "maplecrescent.example"),
    ("Ironbark Mining", "ironbark.example"),
    ("Cobalt Sky Airlines", "cobaltsky.example"),
    ("Wrenfield Retail", "wrenfield.example"),
    ("Pinecrest Hospitality", "pinecresthotels.example"),
    ("Stratus Data Systems", "stratusdata.example"),
    ("Larkspur Biotech", "larkspurbio.example"),
    ("Hollowell Consulting", "hollowell.example"),
    ("Ember & Oak Furniture", "emberoak.example"),
    ("Clearbrook Water", "clearbrook.example"),
    ("Summit Ridge Outdoor", "summitridge.example"),
    ("Velora Fashion", "velora.example"),
    ("Keystone Payments", "keystonepay.example"),
    ("Driftwood Games", "driftwoodgames.example"),
    ("Orchard Lane Dairy", "orchardlane.example"),
    ("Halcyon Security", "halcyonsec.example"),
    ("Riverbend Pharma", "riverbendpharma.example"),
    ("Tessellate Design", "tessellate.example"),
]


@dataclass(frozen=True)
class Place:
    country: str
    cities: tuple[tuple[str, str, str], ...]  # city, state/region, postal code
    streets: tuple[str, ...]

    def phone(self, rng: random.Random) -> str:
        return _PHONE[self.country](rng)


def _us(rng: random.Random) -> str:  # 555-0100..0199 is reserved for fiction
    return f"+1 {rng.choice(['212', '415', '312', '617', '512'])} 555 {rng.randint(100, 199):04d}"


def _ca(rng: random.Random) -> str:
    return f"+1 {rng.choice(['416', '604', '514'])} 555 {rng.randint(100, 199):04d}"


def _uk(rng: random.Random) -> str:  # Ofcom's drama range
    return f"+44 20 7946 {rng.randint(0, 999):04d}"


def _de(rng: random.Random) -> str:
    return f"+49 30 23125 {rng.randint(0, 999):03d}"


def _fr(rng: random.Random) -> str:
    return f"+33 1 99 00 {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}"


def _es(rng: random.Random) -> str:
    return f"+34 91 {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}"


def _au(rng: random.Random) -> str:  # ACMA's fiction range
    return f"+61 2 5550 {rng.randint(0, 9999):04d}"


def _no(rng: random.Random) -> str:
    return f"+47 {rng.randint(20, 29)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"


_PHONE = {
    "United States": _us,
    "Canada": _ca,
    "United Kingdom": _uk,
    "Germany": _de,
    "France": _fr,
    "Spain": _es,
    "Australia": _au,
    "Norway": _no,
}

PLACES = [
    Place(
        "United States",
        (
            ("New York", "NY", "10013"),
            ("San Francisco", "CA", "94107"),
            ("Chicago", "IL", "60607"),
            ("Boston", "MA", "02110"),
            ("Austin", "TX", "78701"),
        ),
        ("Market Street", "Elm Avenue", "Harbor Boulevard", "Lakeview Drive", "Cedar Lane"),
    ),
    Place(
        "United Kingdom",
        (("London", "", "EC2A 4NE"), ("Manchester", "", "M1 3HU"), ("Bristol", "", "BS1 4DJ")),
        ("Bishopsgate", "King Street", "Queen Square", "Mill Lane"),
    ),
    Place(
        "Germany",
        (("Berlin", "", "10117"), ("München", "Bayern", "80331"), ("Köln", "", "50667")),
        ("Friedrichstraße", "Lindenallee", "Hafenweg", "Schillerplatz"),
    ),
    Place(
        "France",
        (("Paris", "", "75002"), ("Lyon", "", "69002"), ("Nantes", "", "44000")),
        ("Rue de la Paix", "Avenue Victor Hugo", "Quai des Célestins", "Rue du Marché"),
    ),
    Place(
        "Spain", (("Madrid", "", "28013"), ("Valencia", "", "46002")), ("Calle Mayor", "Avenida del Puerto")
    ),
    Place(
        "Canada",
        (("Toronto", "ON", "M5V 2T6"), ("Vancouver", "BC", "V6B 1A1")),
        ("King Street West", "Granville Street"),
    ),
    Place(
        "Australia",
        (("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000")),
        ("George Street", "Collins Street"),
    ),
    Place("Norway", (("Oslo", "", "0150"),), ("Karl Johans gate", "Bryggegata")),
]
# Most accounts are American or British; the rest spread over the other countries.
PLACE_WEIGHTS = [14, 8, 5, 4, 2, 3, 3, 1]

FIRST_NAMES = [
    "James",
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Ethan",
    "Mia",
    "Lucas",
    "Sophia",
    "Mason",
    "Isabella",
    "Logan",
    "Charlotte",
    "Elijah",
    "Amelia",
    "Aiden",
    "Harper",
    "Daniel",
    "Evelyn",
    "Priya",
    "Arjun",
    "Mei",
    "Hiroshi",
    "Aiko",
    "Ngozi",
    "Kwame",
    "Fatima",
    "Omar",
    "Layla",
    "José",
    "Zoë",
    "Søren",
    "Björn",
    "Chloé",
    "François",
    "Łukasz",
    "Renée",
    "Anaïs",
    "Jürgen",
    "Mónica",
    "Inês",
    "Dervla",
    "Siobhán",
    "Matteo",
    "Giulia",
    "Lars",
    "Ingrid",
    "Tomás",
    "Elif",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Patel",
    "Nguyen",
    "Kim",
    "Chen",
    "Okafor",
    "Mensah",
    "Haddad",
    "Khan",
    "Tanaka",
    "Sato",
    "García",
    "Müller",
    "Schröder",
    "Dubois",
    "Lefèvre",
    "Nørgaard",
    "Åberg",
    "O'Brien",
    "Ó Súilleabháin",
    "Kowalski",
    "Rossi",
    "Bianchi",
    "Fernández",
    "Johansson",
    "Novák",
    "Yılmaz",
    "Costa",
    "Murphy",
    "Reyes",
    "MacLeod",
]
TITLES = [
    "VP Sales",
    "Head of Operations",
    "Chief Financial Officer",
    "Director of Marketing",
    "IT Manager",
    "Procurement Lead",
    "Chief Technology Officer",
    "Operations Manager",
    "Head of Customer Success",
    "Sales Manager",
    "Product Manager",
    "HR Business Partner",
    "Finance Director",
    "Head of Procurement",
    "Engineering Manager",
    "Office Manager",
    "Chief Executive Officer",
    "Revenue Operations Analyst",
    "Senior Buyer",
    "Head of Growth",
]
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


def _ascii(text: str) -> str:
    """For email local parts: "Søren Åberg" -> "soren", "aberg"."""
    text = text.replace("ø", "o").replace("Ø", "O").replace("ł", "l").replace("Ł", "L").replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def demo_email(first: str, last: str, domain: str, taken: set[str]) -> str:
    base = f"{_ascii(first)}.{_ascii(last)}"
    email, n = f"{base}@{domain}", 2
    while email in taken:
        email, n = f"{base}{n}@{domain}", n + 1
    taken.add(email)
    return email


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
    statuses_ensure_defaults(organization=organization)
    fallback = status_default(organization=organization)
    by_name = {s.name: s for s in ContactStatus.objects.for_org(organization)}
    status_names = list(STATUS_WEIGHTS)
    status_weights = list(STATUS_WEIGHTS.values())

    def contact(account: Account, **fields) -> Contact:
        return Contact(
            organization=organization,
            company=account.name,
            account=account,
            business_phone=account.phone,
            country=account.country,
            **fields,
        )

    def status() -> ContactStatus:
        return by_name.get(rng.choices(status_names, weights=status_weights)[0], fallback)

    def source() -> str:
        return Contact.Source.IMPORT if rng.random() < 0.55 else Contact.Source.MANUAL

    accounts = Account.objects.bulk_create(_accounts(organization, rng, now))
    world_people = _world_people()
    taken: set[str] = {person.email for person, _owner in world_people}
    contacts = []
    # ``rng`` is drawn in the order of the keyword arguments below: keep it, or every newcomer's
    # demo data changes.
    for i in range(CONTACT_COUNT - len(world_people)):
        # Every account gets someone; the rest cluster on a few bigger customers.
        account = accounts[i] if i < len(accounts) else rng.choice(accounts[: len(accounts) // 2] + accounts)
        place = _place_of(account)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created, updated = _created_updated(rng, now)
        owner = admin if admin and rng.random() < 0.04 else owners[i % len(owners)]
        same_office = rng.random() < 0.7
        contacts.append(
            contact(
                account,
                owner=owner,
                status=status(),
                first_name=first,
                last_name=last,
                email=demo_email(first, last, account.domain, taken),
                title=rng.choice(TITLES),
                direct_phone=place.phone(rng) if rng.random() < 0.6 else "",
                mobile_phone=place.phone(rng) if rng.random() < 0.5 else "",
                **(_office_address(account) if same_office else {}),
                source=source(),
                email_opt_out=rng.random() < OPT_OUT_RATE,
                created_at=created,
                updated_at=updated,
            )
        )
    # The demo world's people, after the generated ones (which keep their order and data).
    by_domain = {a.domain: a for a in accounts}
    for i, (person, owner_email) in enumerate(world_people):
        account = by_domain[person.domain]
        created, updated = _created_updated(rng, now)
        contacts.append(
            contact(
                account,
                owner=users.get(owner_email) or owners[i % len(owners)],
                status=status(),
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
                title=person.title,
                direct_phone=person.phone,
                **_office_address(account),
                source=source(),
                created_at=created,
                updated_at=updated,
            )
        )
    Contact.objects.bulk_create(contacts, batch_size=500)
    return len(contacts)


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
