"""Ignore and Block (B7): the one decision on whether a synced message or meeting is ingested.

Pure: no database. ``RuleBook`` is built from an organisation's ``MailRule`` values and actions;
``decide`` is called by the ingestion of Gmail and Graph mail and of both calendars alike, and by
the Admin Portal's "Why wasn't this message ingested?".

How an address is matched:
- an entry for an address (``ceo@acme.example``) wins over any entry for its domain;
- an entry for a domain covers its subdomains: ``example.com`` matches ``eu.example.com``; the most
  specific domain entry wins (``eu.example.com`` over ``example.com``).

How a message is decided (the seed's rule sentences, in order):
1. A blocked party anywhere → not ingested ("blocked").
2. Every party ignored → not ingested ("all_ignored"). With your own domain on the Ignore list this
   drops mail between teammates only.
3. An ignored outside party (not a teammate) is ingested with the message only when a teammate who
   is not ignored takes part; between ignored parties and other ignored, blocked or outside
   parties only → not ingested ("ignored_no_teammate").
4. Otherwise ingested. Teammates who are ignored because the team's own domain is on the Ignore
   list still anchor a conversation with a customer — ignoring your own domain removes only the
   mail that has nobody else on it (rule 2), as the seed describes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

IGNORE = "ignore"
BLOCK = "block"

RULE_INGESTED = "ingested"
RULE_BLOCKED = "blocked"
RULE_ALL_IGNORED = "all_ignored"
RULE_IGNORED_NO_TEAMMATE = "ignored_no_teammate"
RULE_NO_PARTICIPANTS = "no_participants"

# The sentence an admin reads for each rule code (a recorded skip keeps only the code).
RULE_SENTENCES: dict[str, str] = {
    RULE_INGESTED: "Ingested: nobody on it is blocked and it involves someone who isn't ignored.",
    RULE_BLOCKED: "Messages involving a blocked address or domain are never ingested.",
    RULE_ALL_IGNORED: "Messages where everyone is on the Ignore list are not ingested.",
    RULE_IGNORED_NO_TEAMMATE: (
        "Messages between an ignored party and only other ignored, blocked or outside parties are "
        "not ingested; one of your teammates who isn't ignored has to take part."
    ),
    RULE_NO_PARTICIPANTS: "The message has no sender or recipients.",
}

# Offered as the default Ignore list to every organisation (admins may remove any of them).
DEFAULT_IGNORED_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "ymail.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "zoho.com",
    "fastmail.com",
    "tutanota.com",
    "hey.com",
    "qq.com",
    "163.com",
)

# Domains that are never a company, whatever the Ignore list says: people on them are
# individuals, not a customer organisation.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(DEFAULT_IGNORED_DOMAINS) | {
    "126.com",
    "aim.com",
    "att.net",
    "bellsouth.net",
    "btinternet.com",
    "comcast.net",
    "cox.net",
    "earthlink.net",
    "free.fr",
    "hotmail.co.uk",
    "hotmail.de",
    "hotmail.fr",
    "hotmail.it",
    "inbox.com",
    "laposte.net",
    "libero.it",
    "live.co.uk",
    "live.fr",
    "mail.yahoo.com",
    "naver.com",
    "orange.fr",
    "outlook.de",
    "outlook.fr",
    "rediffmail.com",
    "rocketmail.com",
    "sbcglobal.net",
    "sina.com",
    "t-online.de",
    "tuta.io",
    "verizon.net",
    "wanadoo.fr",
    "yahoo.co.in",
    "yahoo.co.jp",
    "yahoo.co.uk",
    "yahoo.de",
    "yahoo.es",
    "yahoo.fr",
    "yahoo.it",
    "yandex.ua",
    "zohomail.com",
}


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def parent_domains(domain: str) -> Iterable[str]:
    """``eu.example.com``, ``example.com``, ``com``: the domain and every domain above it."""
    labels = domain.lower().strip(".").split(".")
    for i in range(len(labels)):
        yield ".".join(labels[i:])


def is_free_mail(domain: str) -> bool:
    return any(d in FREE_MAIL_DOMAINS for d in parent_domains(domain))


@dataclass(frozen=True)
class Match:
    action: str  # IGNORE | BLOCK
    entry: str  # the list entry that matched: an address or a domain


class RuleBook:
    """An organisation's Ignore and Block entries, ready to match addresses."""

    def __init__(self, entries: Mapping[str, str] | None = None) -> None:
        self._entries = {value.lower(): action for value, action in (entries or {}).items()}

    def with_entry(self, value: str, action: str) -> RuleBook:
        """A copy with ``value`` added (or changed) — for previewing a new entry."""
        return RuleBook({**self._entries, value: action})

    def match(self, address: str) -> Match | None:
        """The entry deciding ``address``: its own entry, else the most specific domain entry."""
        address = address.strip().lower()
        if "@" in address and address in self._entries:
            return Match(self._entries[address], address)
        return self.match_domain(domain_of(address))

    def match_domain(self, domain: str) -> Match | None:
        for candidate in parent_domains(domain):
            action = self._entries.get(candidate)
            if action is not None:
                return Match(action, candidate)
        return None


@dataclass(frozen=True)
class Decision:
    ingest: bool
    rule: str  # one of the RULE_* codes
    explanation: str  # a plain sentence for an admin
    party: str = ""  # the address the rule turned on ("" when none)
    entry: str = ""  # the Ignore/Block entry that matched ``party``


def is_internal(
    address: str, *, internal_domains: frozenset[str], internal_addresses: frozenset[str]
) -> bool:
    """A teammate: one of the organisation's users, or anyone on a domain the team uses (and its
    subdomains). Free-mail domains are never in ``internal_domains``."""
    address = address.lower()
    if address in internal_addresses:
        return True
    return any(d in internal_domains for d in parent_domains(domain_of(address)))


def decide(
    participants: Iterable[str],
    *,
    internal_domains: frozenset[str],
    internal_addresses: frozenset[str],
    rules: RuleBook,
) -> Decision:
    """Whether a message (or meeting) between ``participants`` is ingested, and why."""
    parties = list(dict.fromkeys(p.strip().lower() for p in participants if p and p.strip()))
    if not parties:
        return Decision(False, RULE_NO_PARTICIPANTS, RULE_SENTENCES[RULE_NO_PARTICIPANTS])

    matches = {p: rules.match(p) for p in parties}
    for party, match in matches.items():
        if match is not None and match.action == BLOCK:
            return Decision(
                False,
                RULE_BLOCKED,
                f"{party} is on the Block list (entry “{match.entry}”). {RULE_SENTENCES[RULE_BLOCKED]}",
                party,
                match.entry,
            )

    ignored = {p: m for p, m in matches.items() if m is not None}  # only IGNORE is left
    if len(ignored) == len(parties):
        party, match = next(iter(ignored.items()))
        return Decision(
            False,
            RULE_ALL_IGNORED,
            f"Everyone on it is on the Ignore list, e.g. {party} (entry “{match.entry}”). "
            f"{RULE_SENTENCES[RULE_ALL_IGNORED]}",
            party,
            match.entry,
        )

    def internal(address: str) -> bool:
        return is_internal(address, internal_domains=internal_domains, internal_addresses=internal_addresses)

    ignored_outside = [p for p in ignored if not internal(p)]
    if ignored_outside:
        party = ignored_outside[0]
        entry = ignored[party].entry
        teammate = next((p for p in parties if p not in ignored and internal(p)), None)
        if teammate is None:
            return Decision(
                False,
                RULE_IGNORED_NO_TEAMMATE,
                f"{party} is on the Ignore list (entry “{entry}”) and no teammate who isn't ignored "
                f"takes part. {RULE_SENTENCES[RULE_IGNORED_NO_TEAMMATE]}",
                party,
                entry,
            )
        return Decision(
            True,
            RULE_INGESTED,
            f"{party} is on the Ignore list (entry “{entry}”), but your teammate {teammate} takes "
            "part, so the message is ingested (without adding the ignored party to your people).",
            party,
            entry,
        )
    return Decision(True, RULE_INGESTED, RULE_SENTENCES[RULE_INGESTED])
