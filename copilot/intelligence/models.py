"""Revenue intelligence data: the people and companies the team deals with, the activities
(emails, meetings, calls) that make their timelines, and the ignore/block rules (B7, B8, B11).

Imported by ``copilot.models`` so Django registers them with the copilot app. Rows are written only
by ``copilot.intelligence.ingestion`` and ``copilot.intelligence.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from copilot.tenant_models import TenantModel


class Company(TenantModel):
    """A customer company, known by its email domain (free-mail domains never become one)."""

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name_plural = "companies"
        constraints = [models.UniqueConstraint("organization", "domain", name="company_one_per_domain")]

    def __str__(self) -> str:
        return self.name or self.domain


class Person(TenantModel):
    """Someone outside the organisation the team emails, meets or keeps in an address book."""

    email = models.EmailField(max_length=254)  # lower-cased
    name = models.CharField(max_length=200, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=200, blank=True)
    company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="people"
    )
    phones = models.JSONField(default=list, blank=True)
    # Address-book folder / contact-group names the person is filed under, per provider (D6).
    address_book_folders = models.JSONField(default=list, blank=True)
    in_address_book = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "email"]
        verbose_name_plural = "people"
        constraints = [models.UniqueConstraint("organization", "email", name="person_one_per_email")]

    def __str__(self) -> str:
        return self.name or self.email


class Activity(TenantModel):
    """One email, meeting or call on the team timeline, stored once however many teammates'
    mailboxes hold a copy (``ActivitySource``)."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        CALL = "call", "Call"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Team-wide identity: the RFC 5322 Message-ID, a meeting's iCalUID, or "<provider>:<id>".
    dedupe_key = models.CharField(max_length=500)
    occurred_at = models.DateTimeField()
    subject = models.CharField(max_length=998, blank=True)
    snippet = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True, help_text="Kept only when the organisation allows it.")
    thread_key = models.CharField(max_length=300, blank=True)
    sender_email = models.EmailField(max_length=254, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=20, blank=True)
    # Meetings (D2-D4).
    ends_at = models.DateTimeField(null=True, blank=True)
    all_day = models.BooleanField(default=False)
    organizer_email = models.EmailField(max_length=254, blank=True)
    organizer_name = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=500, blank=True)
    join_url = models.URLField(max_length=1000, blank=True)
    join_provider = models.CharField(max_length=20, blank=True)  # google_meet | teams | zoom | webex | ""
    is_private = models.BooleanField(default=False)
    cancelled = models.BooleanField(default=False)
    sent_from_app = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint("organization", "kind", "dedupe_key", name="activity_one_per_dedupe_key")
        ]
        indexes = [models.Index(fields=["organization", "-occurred_at", "-id"], name="activity_org_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject or '(no subject)'}"


class ActivityParticipant(TenantModel):
    class Role(models.TextChoices):
        FROM = "from", "From"
        TO = "to", "To"
        CC = "cc", "Cc"
        BCC = "bcc", "Bcc"
        ORGANIZER = "organizer", "Organiser"
        ATTENDEE = "attendee", "Attendee"

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="participants")
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    response = models.CharField(max_length=20, blank=True)
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["activity", "pk"]
        constraints = [models.UniqueConstraint("activity", "email", name="participant_once_per_activity")]
        indexes = [models.Index(fields=["organization", "email"], name="participant_org_email")]

    def __str__(self) -> str:
        return f"{self.role}: {self.email}"


class ActivityCompany(TenantModel):
    """Timeline index: the activity involves someone of ``company`` (occurred_at copied for the sort)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="company_links")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="activity_links")
    kind = models.CharField(max_length=20, choices=Activity.Kind.choices)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint("activity", "company", name="activitycompany_once")]
        indexes = [
            models.Index(fields=["company", "-occurred_at", "-activity"], name="activitycompany_timeline"),
            models.Index(
                fields=["company", "kind", "-occurred_at", "-activity"], name="activitycompany_by_kind"
            ),
        ]


class ActivityPerson(TenantModel):
    """Timeline index: the activity involves ``person``."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="person_links")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="activity_links")
    kind = models.CharField(max_length=20, choices=Activity.Kind.choices)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint("activity", "person", name="activityperson_once")]
        indexes = [
            models.Index(fields=["person", "-occurred_at", "-activity"], name="activityperson_timeline"),
            models.Index(
                fields=["person", "kind", "-occurred_at", "-activity"], name="activityperson_by_kind"
            ),
        ]


class ActivitySource(TenantModel):
    """A teammate's copy of an activity: which mailbox/calendar holds it under which provider id.
    Deletions remove the copy; an activity with no copy left goes too."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="sources")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activity_sources"
    )
    provider = models.CharField(max_length=20)
    kind = models.CharField(max_length=20)  # integrations.records.Kind
    external_id = models.CharField(max_length=500)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "user", "provider", "kind", "external_id", name="activitysource_one_per_copy"
            )
        ]
        indexes = [models.Index(fields=["user", "activity"], name="activitysource_user")]


class AddressBookEntry(TenantModel):
    """A teammate's address-book contact filed for ``person`` (B11, D6): which folders it sits in.
    ``Person.address_book_folders`` is the union over a person's entries, so deleting a contact
    takes only its folders away."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="address_book_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=20)
    external_id = models.CharField(max_length=500)
    folders = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("user", "provider", "external_id", "person", name="addressbookentry_once")
        ]


class MailRule(TenantModel):
    """An ignore or block entry for a domain or an address (B7)."""

    class Action(models.TextChoices):
        IGNORE = "ignore", "Ignore"
        BLOCK = "block", "Block"

    value = models.CharField(max_length=254, help_text="A domain (example.com) or an address.")
    action = models.CharField(max_length=10, choices=Action.choices)
    is_default = models.BooleanField(default=False, help_text="From the default free-mail list.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["action", "value"]
        constraints = [models.UniqueConstraint("organization", "value", name="mailrule_one_per_value")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.value}"


class IntelligenceSettings(TenantModel):
    """Per-organisation ingestion choices."""

    keep_email_bodies = models.BooleanField(
        default=False, help_text="Store full email bodies; otherwise only subject and snippet."
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "intelligence settings"
        constraints = [models.UniqueConstraint("organization", name="intelligencesettings_one_per_org")]


class IngestionSkip(TenantModel):
    """That a synced message was not ingested and which rule decided it — no content, only a
    hash of its Message-ID — so admins can ask why a message is missing (B7)."""

    message_key = models.CharField(max_length=64, help_text="sha256 of the lower-cased Message-ID.")
    rule = models.CharField(max_length=40)
    party = models.CharField(max_length=254, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint("organization", "message_key", name="ingestionskip_one_per_message")
        ]
        indexes = [models.Index(fields=["organization", "-decided_at"], name="ingestionskip_recent")]


__all__ = [
    "Activity",
    "ActivityCompany",
    "ActivityParticipant",
    "ActivityPerson",
    "ActivitySource",
    "AddressBookEntry",
    "Company",
    "IngestionSkip",
    "IntelligenceSettings",
    "MailRule",
    "Person",
]
