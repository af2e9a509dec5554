"""Contact statuses (F3): where a contact stands in the sales process, per organisation."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from copilot.tenant_models import TenantModel
from engage.scheduling import DOMAIN_DAILY_CAP, MAILBOX_DAILY_CAP, MAILBOX_HOURLY_CAP, SEND_GAP

# The list every new organisation starts with; the first is the default for new contacts.
DEFAULT_STATUSES: list[tuple[str, str]] = [
    ("New", "#2563eb"),
    ("Closed", "#475569"),
    ("Contacted", "#0891b2"),
    ("Disqualified", "#b91c1c"),
    ("Open", "#7c3aed"),
    ("Prospecting", "#ca8a04"),
    ("Qualified", "#15803d"),
    ("Unqualified", "#c2410c"),
]


class ContactStatus(TenantModel):
    """One value of the organisation's status list. ``crm_value`` is the CRM picklist value it
    mirrors when statuses come from the CRM (then the list is read-only in Cadence)."""

    name = models.CharField(max_length=80)
    color = models.CharField(max_length=7, default="#64748b", help_text="#rrggbb")
    position = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(default=False, help_text="New contacts get this status")
    crm_value = models.CharField(max_length=255, blank=True)
    ends_salesflows = models.BooleanField(
        "ends Salesflows",
        default=False,
        help_text="A contact given this status leaves every Salesflow it is in.",
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "contact statuses"
        constraints = [
            models.UniqueConstraint("organization", Lower("name"), name="contactstatus_unique_name_per_org"),
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(is_default=True),
                name="contactstatus_one_default_per_org",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EngageSettings(models.Model):
    """Organisation-wide workspace switches. One row per organisation, made on first use."""

    organization = models.OneToOneField(
        "copilot.Organization", on_delete=models.CASCADE, related_name="engage_settings"
    )
    statuses_from_crm = models.BooleanField(
        "statuses come from the CRM",
        default=False,
        help_text="Set by the CRM integration; the status list is then read-only here.",
    )
    # F3: the Lead Status picklist the admin last applied, as ``[api_value, label, is_default]``
    # rows. A picklist Salesforce has now that differs waits for the admin's mapping: worked out
    # on read (engage.services.statuses.crm_picklist_waiting), never stored.
    crm_picklist_applied = models.JSONField(default=list, blank=True)
    # Salesflow sends per mailbox (issue 13 point 4; engage.scheduling.SendCaps): caps, and the
    # gap (with jitter) between two sends of one mailbox. Set by admins; defaults as SendCaps.
    send_cap_per_day = models.PositiveIntegerField(
        "emails per mailbox per day", default=MAILBOX_DAILY_CAP, validators=[MinValueValidator(1)]
    )
    send_cap_per_hour = models.PositiveIntegerField(
        "emails per mailbox per hour", default=MAILBOX_HOURLY_CAP, validators=[MinValueValidator(1)]
    )
    send_cap_per_domain_per_day = models.PositiveIntegerField(
        "emails per recipient domain per day", default=DOMAIN_DAILY_CAP, validators=[MinValueValidator(1)]
    )
    send_gap_seconds = models.PositiveIntegerField(
        "seconds between a mailbox's emails", default=int(SEND_GAP.total_seconds())
    )

    class Meta:
        verbose_name = "Sales engagement settings"
        verbose_name_plural = "Sales engagement settings"

    def __str__(self) -> str:
        return f"Sales engagement settings of {self.organization}"
