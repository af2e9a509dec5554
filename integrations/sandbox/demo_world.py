"""The made-up world both mail emulators (Google and Microsoft) serve to Demo Co's mailboxes.

One deterministic description — customer companies and their people, email threads, meetings and
address books — in provider-neutral form. Each emulator renders it into its own API's JSON, so a
demo connected to either provider shows the same timeline. Domains end in ``.example`` (they can
never receive mail); ``DEMO_PEOPLE`` is also where the Engage demo contacts come from, so the
contact pages of the demo show these conversations.

Times are relative: ``build_world(now)`` places everything in the 60 days before ``now`` (and a few
meetings in the coming week).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

SEED = 20_261_121
DEMO_DOMAIN = "demo.example"
DEMO_ORG_NAME = "Demo Co"

# email, display name — Demo Co's people (the Cadence demo users).
DEMO_STAFF: tuple[tuple[str, str], ...] = (
    ("admin@demo.example", "Ada Admin"),
    ("seller1@demo.example", "Sam Seller"),
    ("seller2@demo.example", "Sofia Reyes"),
)
SELLERS = ("seller1@demo.example", "seller2@demo.example")
# The provider-side scope the demo admin picks: a Google group / a Microsoft security group / an org unit.
SALES_GROUP_EMAIL = "sales@demo.example"
SALES_GROUP_NAME = "Sales team"
SALES_SECURITY_GROUP_NAME = "Cadence sellers"
SALES_ORG_UNIT = "/Sales"
# Who is in which org unit (the admin sits at the root).
ORG_UNITS: dict[str, str] = {
    "admin@demo.example": "/",
    "seller1@demo.example": "/Sales",
    "seller2@demo.example": "/Sales",
}

# name, domain
COMPANIES: tuple[tuple[str, str], ...] = (
    ("Bluefin Analytics", "bluefinanalytics.example"),
    ("Harbor & Pine Foods", "harborpine.example"),
    ("Quillstone Legal", "quillstone.example"),
    ("Northgate Freight", "northgatefreight.example"),
    ("Lumen Ridge Energy", "lumenridge.example"),
    ("Copperleaf Health", "copperleafhealth.example"),
    ("Aster & Vale Architects", "astervale.example"),
    ("Brightwater Insurance", "brightwater-ins.example"),
    ("Kestrel Robotics", "kestrelrobotics.example"),
    ("Meridian Cloudworks", "meridiancloud.example"),
    ("Oakhurst Property Group", "oakhurstpg.example"),
    ("Silverline Telecom", "silverlinetel.example"),
)

_FIRST = ("James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Priya", "Arjun", "Mei", "Hiroshi",
          "Ngozi", "Kwame", "Fatima", "Omar", "José", "Zoë", "Søren", "Chloé", "Jürgen", "Inês")  # fmt: skip
_LAST = ("Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Patel", "Nguyen",
         "Kim", "Chen", "Okafor", "Haddad", "Khan", "Tanaka", "García", "Müller", "Dubois")  # fmt: skip
_TITLES = ("VP Operations", "Head of Procurement", "CFO", "IT Director", "Operations Manager",
           "Chief of Staff", "Finance Manager", "CTO")  # fmt: skip


@dataclass(frozen=True)
class Person:
    email: str
    first_name: str
    last_name: str
    title: str
    company: str  # "" for free-mail and other unaffiliated people
    domain: str
    phone: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Message:
    """One email of a thread. ``message_id`` is the RFC 5322 Message-ID (without angle brackets)."""

    message_id: str
    sender: tuple[str, str]  # (email, name)
    to: tuple[tuple[str, str], ...]
    cc: tuple[tuple[str, str], ...]
    sent_at: dt.datetime
    body: str


@dataclass(frozen=True)
class Thread:
    key: str
    subject: str
    mailbox_owners: tuple[str, ...]  # Demo Co mailboxes that hold a copy
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class Meeting:
    uid: str  # iCalUID
    subject: str
    organizer: tuple[str, str]
    attendees: tuple[tuple[str, str], ...]
    start: dt.datetime
    end: dt.datetime
    join_kind: str  # "google_meet" | "teams" | "zoom" | "webex" | ""
    join_url: str
    location: str
    description: str
    private: bool
    calendar_owners: tuple[str, ...]


@dataclass(frozen=True)
class AddressBookEntry:
    owner: str
    person: Person
    folder: str  # contact folder (Microsoft) / contact group (Google) name


@dataclass
class World:
    people: list[Person] = field(default_factory=list)
    threads: list[Thread] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)
    address_book: list[AddressBookEntry] = field(default_factory=list)

    def threads_of(self, mailbox: str) -> list[Thread]:
        return [t for t in self.threads if mailbox in t.mailbox_owners]

    def meetings_of(self, mailbox: str) -> list[Meeting]:
        return [m for m in self.meetings if mailbox in m.calendar_owners]


def _people(rng: random.Random) -> list[Person]:
    people: list[Person] = []
    used: set[str] = set()
    for company, domain in COMPANIES:
        for _ in range(rng.randint(3, 5)):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            local = _ascii(f"{first}.{last}").lower()
            email = f"{local}@{domain}"
            if email in used:
                continue
            used.add(email)
            phone = f"+1 415 555 {rng.randint(100, 199):04d}"
            people.append(Person(email, first, last, rng.choice(_TITLES), company, domain, phone))
    return people


def _ascii(text: str) -> str:
    import unicodedata

    # NFKD splits accents off (é → e); letters like ø and ß have no decomposition.
    text = text.replace("ø", "o").replace("Ø", "O").replace("ß", "ss")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# (subject, opening line, reply line) for customer threads.
_TOPICS = (
    ("Pricing for the {company} rollout", "Could you send the pricing for 40 seats?",
     "Thanks — the volume tier works for us. Can we talk on Thursday?"),
    ("Follow-up from our call", "Great speaking today. As promised, here is the summary.",
     "Appreciated. I've shared it with our finance team."),
    ("Security questionnaire", "Attached is our completed security questionnaire.",
     "Our IT director has a few follow-up questions on data retention."),
    ("Renewal timeline", "Your renewal comes up next quarter; shall we review usage?",
     "Yes, let's do that before the budget meeting."),
    ("Intro: {company} x Demo Co", "Thanks for the introduction — happy to connect.",
     "Likewise. Does next week work for a 30-minute call?"),
    ("Pilot results", "The pilot numbers are in: response times dropped by a third.",
     "Impressive. Let's plan the wider rollout."),
)  # fmt: skip

_JOIN = {
    "google_meet": "https://meet.google.com/{a}-{b}-{c}",
    "teams": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{a}{b}%40thread.v2/0",
    "zoom": "https://us02web.zoom.us/j/8{n}",
    "webex": "https://demo.webex.com/meet/{a}{b}",
}


def build_world(now: dt.datetime | None = None) -> World:
    """The whole demo world; same content for the same ``now`` (rounded to the minute)."""
    now = (now or dt.datetime.now(dt.UTC)).replace(second=0, microsecond=0)
    rng = random.Random(SEED)  # noqa: S311 - made-up demo data, not secrets
    world = World(people=_people(rng))
    staff = dict(DEMO_STAFF)
    by_company: dict[str, list[Person]] = {}
    for person in world.people:
        by_company.setdefault(person.company, []).append(person)

    counter = 0

    def message_id() -> str:
        nonlocal counter
        counter += 1
        return f"demo-{counter:05d}@mail.demo.example"

    # Customer threads: each company talks to one seller (sometimes both, sometimes the admin on cc).
    for index, (company, _domain) in enumerate(COMPANIES):
        contacts = by_company.get(company, [])
        if not contacts:
            continue
        seller = SELLERS[index % 2]
        for topic_no in range(3):
            subject, opening, reply = _TOPICS[(index + topic_no) % len(_TOPICS)]
            contact = contacts[topic_no % len(contacts)]
            start = now - dt.timedelta(days=rng.randint(2, 58), hours=rng.randint(0, 8))
            owners = [seller]
            cc: tuple[tuple[str, str], ...] = ()
            if topic_no == 2:
                other = SELLERS[(index + 1) % 2]
                owners.append(other)
                cc = ((other, staff[other]),)
            msgs = []
            when = start
            for turn in range(rng.randint(2, 4)):
                ours = turn % 2 == 0
                sender = (seller, staff[seller]) if ours else (contact.email, contact.name)
                recipient = (contact.email, contact.name) if ours else (seller, staff[seller])
                body = opening if turn == 0 else reply if not ours else "Sounds good — I'll send an invite."
                msgs.append(Message(message_id(), sender, (recipient,), cc, when, f"{body}\n\n— {sender[1]}"))
                when += dt.timedelta(hours=rng.randint(2, 30))
            world.threads.append(
                Thread(
                    f"t{len(world.threads) + 1}", subject.format(company=company), tuple(owners), tuple(msgs)
                )
            )

    # Mail the default ignore list and block rules act on.
    personal = Person("jamie.fox.home@gmail.com", "Jamie", "Fox", "", "", "gmail.com")
    world.people.append(personal)
    seller = SELLERS[0]
    world.threads.append(
        Thread(
            "t-personal",
            "Dinner on Friday?",
            (seller,),
            (
                Message(
                    message_id(),
                    (personal.email, personal.name),
                    ((seller, staff[seller]),),
                    (),
                    now - dt.timedelta(days=3),
                    "Are we still on for Friday?",
                ),
            ),
        )
    )
    world.threads.append(
        Thread(
            "t-internal",
            "Pipeline review prep",
            SELLERS,
            (
                Message(
                    message_id(),
                    (SELLERS[0], staff[SELLERS[0]]),
                    ((SELLERS[1], staff[SELLERS[1]]),),
                    (),
                    now - dt.timedelta(days=1, hours=2),
                    "Can you update the forecast sheet before 3pm?",
                ),
            ),
        )
    )
    lawyer = Person(
        "counsel@quillstone.example", "Rita", "Counsel", "Partner", "Quillstone Legal", "quillstone.example"
    )
    world.people.append(lawyer)
    world.threads.append(
        Thread(
            "t-legal",
            "Privileged: contract dispute",
            ("admin@demo.example",),
            (
                Message(
                    message_id(),
                    (lawyer.email, lawyer.name),
                    (("admin@demo.example", staff["admin@demo.example"]),),
                    (),
                    now - dt.timedelta(days=5),
                    "Please keep this between us for now.",
                ),
            ),
        )
    )

    # Meetings: two per company, cycling through the join-link kinds; one private.
    kinds = ("google_meet", "teams", "zoom", "webex", "")
    for index, (company, _domain) in enumerate(COMPANIES):
        contacts = by_company.get(company, [])
        if not contacts:
            continue
        seller = SELLERS[index % 2]
        for n in range(2):
            kind = kinds[(index * 2 + n) % len(kinds)]
            a, b, c = (rng.choice("abcdefghjkmnpqrstuvwxyz") * 3 for _ in range(3))
            url = _JOIN[kind].format(a=a, b=b, c=c, n=rng.randint(100000000, 999999999)) if kind else ""
            start = (now - dt.timedelta(days=rng.randint(-6, 55))).replace(minute=0) + dt.timedelta(
                hours=rng.randint(0, 5)
            )
            attendees = tuple((p.email, p.name) for p in contacts[: 1 + n])
            world.meetings.append(
                Meeting(
                    uid=f"demo-meeting-{len(world.meetings) + 1:03d}@demo.example",
                    subject=("Discovery call" if n == 0 else "Proposal review") + f" — {company}",
                    organizer=(seller, staff[seller]),
                    attendees=((seller, staff[seller]), *attendees),
                    start=start,
                    end=start + dt.timedelta(minutes=30 if n == 0 else 60),
                    join_kind=kind,
                    join_url=url,
                    location="" if kind else f"{company} offices",
                    description=f"Join: {url}" if kind in ("zoom", "webex") else "",
                    private=False,
                    calendar_owners=(seller,),
                )
            )
    world.meetings.append(
        Meeting(
            uid="demo-meeting-private@demo.example",
            subject="Interview: senior AE candidate",
            organizer=(SELLERS[0], staff[SELLERS[0]]),
            attendees=((SELLERS[0], staff[SELLERS[0]]), ("candidate@gmail.com", "Jordan Candidate")),
            start=(now + dt.timedelta(days=2)).replace(hour=15, minute=0),
            end=(now + dt.timedelta(days=2)).replace(hour=16, minute=0),
            join_kind="google_meet",
            join_url="https://meet.google.com/prv-intv-abc",
            location="",
            description="Confidential.",
            private=True,
            calendar_owners=(SELLERS[0],),
        )
    )

    # Address books: each seller keeps their companies' people, in two folders.
    for index, (company, _domain) in enumerate(COMPANIES):
        owner = SELLERS[index % 2]
        for person in by_company.get(company, []):
            folder = "Customers" if index % 3 else "Prospects"
            world.address_book.append(AddressBookEntry(owner, person, folder))
    return world
