"""Demo Co's made-up world for the workspace: customer companies, the places and phone numbers of
their offices, people's names and job titles.

Company names, domains (``.example``, which can never receive mail), streets and phone numbers are
made up; the numbers sit in the ranges regulators keep for fiction where a country has one. The
provider sandbox's demo world (``integrations.sandbox.demo_world``) supplies the first companies, so
the demo contacts match the sandbox mailboxes.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from integrations.sandbox import demo_world

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
