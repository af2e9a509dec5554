"""Contacts and accounts (F1): the people sellers work and the companies they work at."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from copilot.tenant_models import TenantModel

# Fields a person may edit on the contact form (status and owner have their own services).
EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "title",
    "company",
    "business_phone",
    "direct_phone",
    "mobile_phone",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "email_opt_out",
)


class Address(models.Model):
    street = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField("state / province", max_length=100, blank=True)
    postal_code = models.CharField("postal / zip code", max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True)

    class Meta:
        abstract = True

    @property
    def address_lines(self) -> list[str]:
        locality = " ".join(p for p in (self.postal_code, self.city) if p)
        region = ", ".join(p for p in (locality, self.state) if p)
        return [line for line in (self.street, region, self.country) if line]


class Account(TenantModel, Address):
    """A company. ``domain`` is stored lower-case without ``www.``; ``crm_id`` links it to the
    CRM's Account record."""

    name = models.CharField(max_length=255)
    domain = models.CharField(max_length=255, blank=True)
    website = models.CharField(max_length=255, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    crm_id = models.CharField("CRM id", max_length=18, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index("organization", Lower("name"), name="account_org_name_idx"),
            models.Index(fields=["organization", "domain"], name="account_org_domain_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "crm_id"],
                condition=~models.Q(crm_id=""),
                name="account_unique_crm_id_per_org",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TenantModel, Address):
    """A person a seller works. ``email`` is stored lower-case and is unique in the organisation
    (when present: the CRM may hold people without one). ``updated_at`` is set by the services,
    which also keep it on bulk writes (``auto_now`` would not)."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Added by hand"
        IMPORT = "import", "CSV import"
        CRM = "crm", "CRM"
        PEOPLE = "people", "People database"

    class CrmType(models.TextChoices):
        NONE = "", "Not linked"
        LEAD = "Lead", "Lead"
        CONTACT = "Contact", "Contact"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="engage_contacts",
    )
    status = models.ForeignKey("engage.ContactStatus", on_delete=models.PROTECT, related_name="contacts")
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    business_phone = models.CharField(max_length=40, blank=True)
    direct_phone = models.CharField(max_length=40, blank=True)
    mobile_phone = models.CharField(max_length=40, blank=True)
    title = models.CharField("job title", max_length=200, blank=True)
    company = models.CharField(max_length=255, blank=True, help_text="Company name as given")
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts"
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    crm_type = models.CharField("CRM record type", max_length=10, choices=CrmType.choices, blank=True)
    crm_id = models.CharField("CRM id", max_length=18, blank=True)
    email_opt_out = models.BooleanField("email opt-out", default=False)
    email_bounced_at = models.DateTimeField(
        "email bounced", null=True, blank=True, help_text="When mail to this address last bounced"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=~models.Q(email=""),
                name="contact_unique_email_per_org",
            ),
            models.UniqueConstraint(
                fields=["organization", "crm_type", "crm_id"],
                condition=~models.Q(crm_id=""),
                name="contact_unique_crm_id_per_org",
            ),
        ]
        # One index per sort order of the list (keyset pagination walks them); filters on owner
        # or status ride the same scans.
        indexes = [
            models.Index(fields=["organization", "updated_at", "id"], name="contact_org_updated_idx"),
            models.Index(fields=["organization", "created_at", "id"], name="contact_org_created_idx"),
            models.Index(
                "organization", Lower("last_name"), Lower("first_name"), "id", name="contact_org_name_idx"
            ),
            models.Index(fields=["organization", "owner", "updated_at"], name="contact_org_owner_idx"),
            models.Index(fields=["organization", "status", "updated_at"], name="contact_org_status_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
