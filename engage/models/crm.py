"""The organisation's Salesforce configuration (G2, G3, G4, G7): CRM settings, field mapping per
CRM object, and the sync rules that pick which Leads and Contacts come into Engage. The sync
engine reads these; the Admin Portal › CRM pages write them through ``engage.services.crm``."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from copilot.tenant_models import TenantModel


class CrmObject(models.TextChoices):
    LEAD = "Lead", "Leads"
    CONTACT = "Contact", "Contacts"
    ACCOUNT = "Account", "Accounts"


class CrmSettings(models.Model):
    """Organisation-wide CRM switches. One row per organisation, made on first use."""

    class NewProspects(models.TextChoices):
        LEAD = "lead", "Leads"
        CONTACT = "contact", "Contacts"
        NONE = "none", "Do not create leads/contacts"

    class EngageCreated(models.TextChoices):
        PUSH = "push", "Create them in Salesforce"
        KEEP_LOCAL = "keep_local", "Keep them in Cadence only"

    organization = models.OneToOneField(
        "copilot.Organization", on_delete=models.CASCADE, related_name="crm_settings"
    )
    new_prospects_as = models.CharField(
        "new prospects in CRM are created as",
        max_length=10,
        choices=NewProspects.choices,
        default=NewProspects.LEAD,
    )
    create_activities = models.BooleanField("create activities and phone calls in CRM", default=True)
    sync_enabled = models.BooleanField(
        "sync on", default=False, help_text="When on, Leads and Contacts sync every 5 minutes."
    )
    engage_created_handling = models.CharField(
        "contacts and accounts created in Cadence",
        max_length=12,
        choices=EngageCreated.choices,
        default=EngageCreated.PUSH,
    )
    auto_associate_accounts = models.BooleanField("associate contacts with accounts", default=True)
    log_calls = models.BooleanField("write call history to Salesforce", default=True)
    log_emails = models.BooleanField("write email history to Salesforce", default=True)
    lookback_seconds = models.PositiveIntegerField(
        default=600, help_text="How far each incremental sync looks back before its watermark."
    )
    fallback_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Owner of synced records whose Salesforce owner is no Cadence user "
        "(empty: whoever started the poll or import).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "CRM settings"
        verbose_name_plural = "CRM settings"

    def __str__(self) -> str:
        return f"CRM settings of {self.organization}"


class FieldMapping(TenantModel):
    """One row of an object's field mapping: which Salesforce field fills an Engage field.
    ``crm_field`` empty means "do not read/write"; a dotted path (``Account.Name``) reads through
    a relationship and is never written."""

    class Direction(models.TextChoices):
        TO_ENGAGE = "to_engage", "Salesforce → Cadence"
        BOTH = "both", "Bi-directional (most recent wins)"

    sobject = models.CharField("CRM object", max_length=10, choices=CrmObject.choices)
    engage_field = models.CharField(max_length=40)
    crm_field = models.CharField("CRM field", max_length=120, blank=True)
    default_value = models.CharField(max_length=255, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.TO_ENGAGE)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sobject", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sobject", "engage_field"], name="fieldmapping_unique_per_object"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sobject}.{self.crm_field or '—'} → {self.engage_field}"


class SyncRule(TenantModel):
    """Which records of a CRM object sync into Engage (G4): ``conditions`` is a list of
    ``{"field", "operator", "value"}`` combined with AND or OR. No conditions: every record."""

    class Combinator(models.TextChoices):
        AND = "AND", "All conditions (AND)"
        OR = "OR", "Any condition (OR)"

    sobject = models.CharField(
        "CRM object",
        max_length=10,
        choices=[(CrmObject.LEAD, "Leads"), (CrmObject.CONTACT, "Contacts")],
    )
    combinator = models.CharField(max_length=3, choices=Combinator.choices, default=Combinator.AND)
    conditions = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sobject"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "sobject"], name="syncrule_unique_per_object")
        ]

    def __str__(self) -> str:
        return f"{self.sobject} sync rule ({len(self.conditions)} conditions)"


class CrmPoll(TenantModel):
    """One "Poll historical data" run (G6): every record of one object that matches the sync
    rule, read page by page and applied through the sync handler. Counters move as pages land
    (the page polls them); ``errors`` keeps the first ``ERRORS_KEPT`` records that could not be
    applied, with Salesforce's id and the reason. At most one queued or running poll per
    organisation and object (the constraint is the guarantee; the service says it kindly)."""

    ERRORS_KEPT = 200

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    sobject = models.CharField(
        "CRM object",
        max_length=10,
        choices=[(CrmObject.LEAD, "Leads"), (CrmObject.CONTACT, "Contacts")],
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(
        null=True, blank=True, help_text="Records matching the rule, counted by Salesforce at the start."
    )
    processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    owned_by_email = models.PositiveIntegerField(
        default=0, help_text="Records owned by the Cadence user with their Salesforce owner's email."
    )
    owned_by_fallback = models.PositiveIntegerField(
        default=0, help_text="Records given the fallback owner (their Salesforce owner is no Cadence user)."
    )
    errors = models.JSONField(default=list, blank=True, help_text='The first few: [{"id", "reason"}].')
    cancel_requested = models.BooleanField(default=False)
    api_calls = models.PositiveIntegerField(default=0)
    stop_reason = models.CharField(max_length=20, blank=True, help_text="Why the sync engine stopped.")
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Taking over a poll whose worker died (engage/jobs.py): who runs it, its last sign of life,
    # and where it carries on. ``resume_after_id`` and ``started_modstamp`` are saved with the
    # counters of every page, so position and counters always agree.
    worker = models.CharField(max_length=200, blank=True, help_text="The process running it.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    takeovers = models.PositiveSmallIntegerField(
        default=0, help_text="Take-overs after a dead worker since the last page was stored."
    )
    resume_after_id = models.CharField(
        max_length=18, blank=True, help_text="The last Salesforce Id stored (the poll reads in Id order)."
    )
    started_modstamp = models.DateTimeField(
        null=True, blank=True, help_text="The object's newest SystemModstamp when the poll first started."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "CRM poll"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sobject"],
                condition=models.Q(status__in=["queued", "running"]),
                name="crmpoll_one_active_per_object",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sobject} poll {self.pk} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.processed / self.total))
