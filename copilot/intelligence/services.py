"""Revenue Intelligence settings (B7): the Ignore and Block lists, what ingestion keeps, and why a
message was not ingested. Every change is audited; the views only call these."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import getaddresses

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from copilot.intelligence.rules import (
    BLOCK,
    DEFAULT_IGNORED_DOMAINS,
    IGNORE,
    RULE_SENTENCES,
    Decision,
    RuleBook,
    decide,
    domain_of,
    is_free_mail,
    is_internal,
)
from copilot.models import (
    Activity,
    ActivityParticipant,
    Company,
    IngestionSkip,
    IntelligenceSettings,
    MailRule,
    Organization,
    Person,
    User,
)
from copilot.services.audit import audit_record

logger = logging.getLogger(__name__)

ACTION_LABELS = {IGNORE: "Ignore", BLOCK: "Block"}
VALUE_HELP = "Enter a domain like example.com or an email address like name@example.com."


# --- Reads ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamDirectory:
    """Who counts as a teammate when deciding a message (see ``rules.is_internal``)."""

    addresses: frozenset[str]
    domains: frozenset[str]
    user_ids: dict[str, int]  # address -> user id

    def with_mailbox(self, address: str, user_id: int) -> TeamDirectory:
        """This directory with ``address`` as ``user_id``'s: a mailbox being synced is a
        teammate's, whatever its user name."""
        address = address.lower()
        return TeamDirectory(self.addresses | {address}, self.domains, {**self.user_ids, address: user_id})

    def is_teammate(self, address: str) -> bool:
        return is_internal(address, internal_domains=self.domains, internal_addresses=self.addresses)

    def decide(self, participants: Iterable[str], rules: RuleBook) -> Decision:
        """``rules.decide`` for a message between ``participants`` and this team."""
        return decide(
            participants, internal_domains=self.domains, internal_addresses=self.addresses, rules=rules
        )


def team_directory(*, organization_id: int) -> TeamDirectory:
    """The organisation's users' addresses, and their domains unless free mail (one query)."""
    user_ids: dict[str, int] = {}
    for pk, email, username in User.objects.filter(organization_id=organization_id).values_list(
        "pk", "email", "mailbox_username"
    ):
        for address in (email, username):
            if address and "@" in address:
                user_ids.setdefault(address.lower(), pk)
    domains = frozenset(d for d in (domain_of(a) for a in user_ids) if not is_free_mail(d))
    return TeamDirectory(frozenset(user_ids), domains, user_ids)


def rulebook_for(*, organization_id: int) -> RuleBook:
    return RuleBook(
        dict(MailRule.objects.filter(organization_id=organization_id).values_list("value", "action"))
    )


def mail_rules(*, organization: Organization) -> dict[str, list[MailRule]]:
    """The Ignore and Block lists, each sorted by value."""
    lists: dict[str, list[MailRule]] = {IGNORE: [], BLOCK: []}
    for rule in MailRule.objects.for_org(organization).order_by("value"):
        lists.setdefault(rule.action, []).append(rule)
    return lists


def intelligence_settings_for(*, organization_id: int) -> IntelligenceSettings:
    row = IntelligenceSettings.objects.filter(organization_id=organization_id).first()
    return row if row is not None else _ensure_defaults(organization_id)


def stored_body_count(*, organization: Organization) -> int:
    return Activity.objects.for_org(organization).exclude(body="").count()


def message_key(message_id: str) -> str:
    """What ``IngestionSkip`` keeps of a message: the sha256 of its lower-cased Message-ID."""
    return hashlib.sha256(message_id.strip().strip("<>").strip().lower().encode()).hexdigest()


# --- Default list ---------------------------------------------------------------------------------


def mail_rules_ensure_defaults(*, organization: Organization) -> IntelligenceSettings:
    """Give a new organisation the default Ignore list — once: the settings row made here marks it
    done, so entries an admin removed later are never put back behind their back."""
    return _ensure_defaults(organization.pk)


def _ensure_defaults(organization_id: int) -> IntelligenceSettings:
    with transaction.atomic():
        row, created = IntelligenceSettings.objects.get_or_create(organization_id=organization_id)
        if created:
            MailRule.objects.bulk_create(
                [
                    MailRule(organization_id=organization_id, value=d, action=IGNORE, is_default=True)
                    for d in DEFAULT_IGNORED_DOMAINS
                ],
                ignore_conflicts=True,
            )
    return row


def mail_rules_restore_defaults(*, organization: Organization, actor: User | None) -> int:
    """Put back every default Ignore entry that is missing; entries already on a list (even the
    Block list) are left as they are. Returns how many were added."""
    intelligence_settings_for(organization_id=organization.pk)
    existing = set(MailRule.objects.for_org(organization).values_list("value", flat=True))
    missing = [d for d in DEFAULT_IGNORED_DOMAINS if d not in existing]
    with transaction.atomic():
        MailRule.objects.bulk_create(
            [
                MailRule(organization=organization, value=d, action=IGNORE, is_default=True, created_by=actor)
                for d in missing
            ],
            ignore_conflicts=True,
        )
        audit_record(
            organization=organization,
            actor=actor,
            action="intelligence.mail_rules_defaults_restored",
            target="Ignore list",
            data={"added": missing},
        )
    return len(missing)


# --- Adding and removing entries ------------------------------------------------------------------


def mail_rule_normalize(value: str) -> str:
    """A domain (``example.com``, subdomains included) or an address, lower-cased; a
    ``ValidationError`` saying what is wrong otherwise."""
    value = (value or "").strip().lower()
    if not value:
        raise ValidationError({"value": "Enter a domain or an email address."})
    if "://" in value or "/" in value:
        raise ValidationError({"value": f"Enter just the domain, without http:// or a path. {VALUE_HELP}"})
    if "@" in value.lstrip("@"):
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError(
                {"value": f"“{value}” is not a valid email address. {VALUE_HELP}"}
            ) from None
        return value
    domain = value.lstrip("@").removeprefix("*.").rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError({"value": f"“{value}” is not a valid domain. {VALUE_HELP}"}) from None
    if "." not in domain:
        raise ValidationError({"value": f"“{value}” is not a full domain. {VALUE_HELP}"})
    try:
        validate_email(f"x@{domain}")
    except ValidationError:
        raise ValidationError({"value": f"“{value}” is not a valid domain. {VALUE_HELP}"}) from None
    return domain


def mail_rule_validate(*, organization: Organization, value: str, action: str) -> str:
    """The normalised value, refusing unknown actions and entries already on a list."""
    if action not in ACTION_LABELS:
        raise ValidationError({"action": "Choose Ignore or Block."})
    value = mail_rule_normalize(value)
    existing = MailRule.objects.for_org(organization).filter(value=value).first()
    if existing is not None:
        if existing.action == action:
            raise ValidationError({"value": f"{value} is already on the {ACTION_LABELS[action]} list."})
        raise ValidationError(
            {
                "value": f"{value} is on the {ACTION_LABELS[existing.action]} list. Remove it there "
                f"first to move it to the {ACTION_LABELS[action]} list."
            }
        )
    return value


def mail_rule_add_ignore(*, organization: Organization, actor: User | None, value: str) -> MailRule:
    """Ignore a domain or an address from now on (nothing already ingested is removed)."""
    value = mail_rule_validate(organization=organization, value=value, action=IGNORE)
    with transaction.atomic():
        rule = MailRule.objects.create(
            organization=organization,
            value=value,
            action=IGNORE,
            is_default=value in DEFAULT_IGNORED_DOMAINS,
            created_by=actor,
        )
        audit_record(
            organization=organization,
            actor=actor,
            action="intelligence.mail_rule_added",
            target=value,
            data={"action": IGNORE},
        )
    return rule


@dataclass(frozen=True)
class BlockPreview:
    value: str
    activities: int
    people: int
    companies: int


@dataclass(frozen=True)
class _BlockScope:
    emails: frozenset[str]  # addresses the new entry blocks, as ingested
    activity_ids: frozenset[int]
    person_ids: frozenset[int]
    company_ids: frozenset[int]


def _block_scope(organization: Organization, value: str) -> _BlockScope:
    """What is already ingested from the party ``value`` would block. An address entry wins over
    its domain's entry and a more specific domain entry over a broader one, so candidates found
    by suffix are kept only when the new entry is the one that decides them."""
    book = rulebook_for(organization_id=organization.pk).with_entry(value, BLOCK)
    if "@" in value:
        by_email = Q(email=value)
        by_domain = None
    else:
        by_email = Q(email__iendswith=f"@{value}") | Q(email__iendswith=f".{value}")
        by_domain = Q(domain=value) | Q(domain__iendswith=f".{value}")

    def decided_here(address: str) -> bool:
        match = book.match(address)
        return match is not None and match.entry == value

    participants = ActivityParticipant.objects.for_org(organization).filter(by_email)
    people = Person.objects.for_org(organization).filter(by_email)
    emails = frozenset(
        e.lower()
        for e in {*participants.values_list("email", flat=True), *people.values_list("email", flat=True)}
        if decided_here(e)
    )
    activity_ids = frozenset(
        ActivityParticipant.objects.for_org(organization)
        .filter(email__in=emails)
        .values_list("activity_id", flat=True)
    )
    person_ids = frozenset(
        Person.objects.for_org(organization).filter(email__in=emails).values_list("pk", flat=True)
    )
    company_ids: frozenset[int] = frozenset()
    if by_domain is not None:
        company_ids = frozenset(
            pk
            for pk, domain in Company.objects.for_org(organization)
            .filter(by_domain)
            .values_list("pk", "domain")
            if (m := book.match_domain(domain)) is not None and m.entry == value
        )
    return _BlockScope(emails, activity_ids, person_ids, company_ids)


def mail_rule_block_preview(*, organization: Organization, value: str) -> BlockPreview:
    """How many activities, people and companies adding ``value`` to the Block list removes."""
    value = mail_rule_validate(organization=organization, value=value, action=BLOCK)
    scope = _block_scope(organization, value)
    return BlockPreview(value, len(scope.activity_ids), len(scope.person_ids), len(scope.company_ids))


def mail_rule_add_block(
    *, organization: Organization, actor: User | None, value: str, confirmed: bool = False
) -> tuple[MailRule, BlockPreview]:
    """Block a domain or an address: nothing involving it is ingested from now on, and what was
    already ingested from it — its activities, its people and (for a domain) its company — is
    removed. ``confirmed`` says the admin saw ``mail_rule_block_preview``'s counts."""
    value = mail_rule_validate(organization=organization, value=value, action=BLOCK)
    if not confirmed:
        raise ValidationError({"value": "Confirm the removal of what was already ingested from this party."})
    with transaction.atomic():
        rule = MailRule.objects.create(organization=organization, value=value, action=BLOCK, created_by=actor)
        scope = _block_scope(organization, value)
        Activity.objects.for_org(organization).filter(pk__in=scope.activity_ids).delete()
        Person.objects.for_org(organization).filter(pk__in=scope.person_ids).delete()
        Company.objects.for_org(organization).filter(pk__in=scope.company_ids).delete()
        removed = BlockPreview(value, len(scope.activity_ids), len(scope.person_ids), len(scope.company_ids))
        audit_record(
            organization=organization,
            actor=actor,
            action="intelligence.mail_rule_added",
            target=value,
            data={
                "action": BLOCK,
                "removed_activities": removed.activities,
                "removed_people": removed.people,
                "removed_companies": removed.companies,
            },
        )
    logger.info(
        "intelligence.party_blocked",
        extra={"organization_id": organization.pk, "rule_id": rule.pk, "activities": removed.activities},
    )
    return rule, removed


def mail_rule_remove(*, rule: MailRule, actor: User | None) -> None:
    """Take an entry off its list. Only mail synced from now on is affected: removing a Block entry
    does not bring back what blocking removed."""
    with transaction.atomic():
        audit_record(
            organization=rule.organization,
            actor=actor,
            action="intelligence.mail_rule_removed",
            target=rule.value,
            data={"action": rule.action, "default": rule.is_default},
        )
        rule.delete()


# --- Storage setting ------------------------------------------------------------------------------


def intelligence_settings_update(
    *, organization: Organization, actor: User | None, keep_email_bodies: bool
) -> tuple[IntelligenceSettings, int]:
    """Keep full email bodies or not. Turning it off deletes every stored body (subjects and
    snippets stay); returns the settings and how many bodies were cleared."""
    row = intelligence_settings_for(organization_id=organization.pk)
    if row.keep_email_bodies == keep_email_bodies:
        return row, 0
    cleared = 0
    with transaction.atomic():
        row.keep_email_bodies = keep_email_bodies
        row.updated_at = timezone.now()
        row.save(update_fields=["keep_email_bodies", "updated_at"])
        if not keep_email_bodies:
            cleared = Activity.objects.for_org(organization).exclude(body="").update(body="")
        audit_record(
            organization=organization,
            actor=actor,
            action="intelligence.settings_updated",
            target="Email bodies",
            data={"keep_email_bodies": keep_email_bodies, "bodies_cleared": cleared},
        )
    return row, cleared


# --- Why wasn't this message ingested? ------------------------------------------------------------


@dataclass(frozen=True)
class WhyAnswer:
    decision: Decision  # under the rules as they are now
    participants: tuple[str, ...]
    skip: IngestionSkip | None  # what was recorded when the message was synced, if it was seen

    @property
    def skip_sentence(self) -> str:
        return RULE_SENTENCES.get(self.skip.rule, self.skip.rule) if self.skip else ""


def parse_addresses(text: str | Iterable[str]) -> list[str]:
    """Addresses out of "Name <a@x.com>, b@y.com; c@z.com" (or a list of such strings)."""
    parts = [text] if isinstance(text, str) else list(text)
    pairs = getaddresses([p.replace(";", ",") for p in parts])
    return list(dict.fromkeys(addr.strip().lower() for _, addr in pairs if "@" in addr))


def why_not_ingested(
    *, organization: Organization, sender: str, recipients: str | Iterable[str], message_id: str = ""
) -> WhyAnswer:
    """What the rules decide today for a message from ``sender`` to ``recipients``, and — when its
    Message-ID was seen by sync and not ingested — the rule that excluded it then."""
    participants = tuple(dict.fromkeys([*parse_addresses(sender), *parse_addresses(recipients)]))
    directory = team_directory(organization_id=organization.pk)
    decision = directory.decide(participants, rulebook_for(organization_id=organization.pk))
    skip = None
    if message_id.strip():
        skip = IngestionSkip.objects.for_org(organization).filter(message_key=message_key(message_id)).first()
    return WhyAnswer(decision, participants, skip)
