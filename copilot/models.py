"""The org core: organisations, users, groups, invitations and the audit trail."""

from __future__ import annotations

import hashlib
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from copilot.tenant_models import TenantModel, TenantQuerySet


@dataclass(frozen=True)
class Package:
    code: str
    name: str
    unlocks: str


# What an organisation may have bought; integrations check these to lock their tiles.
PACKAGES: dict[str, Package] = {
    p.code: p
    for p in (
        Package(
            "copilot", "Revenue intelligence", "Email and calendar sync, the team timeline, account summaries"
        ),
        Package(
            "engage", "Sales engagement", "Contacts, Salesflows, tracked email, the dialer and analytics"
        ),
    )
}

TIME_ZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})


class Organization(models.Model):
    class EmailProvider(models.TextChoices):
        NONE = "", "Not chosen yet"
        GOOGLE = "google", "Google Workspace (Gmail)"
        MICROSOFT = "microsoft", "Microsoft 365 (Outlook)"

    class Crm(models.TextChoices):
        NONE = "", "Not chosen yet"
        SALESFORCE = "salesforce", "Salesforce"
        NO_CRM = "none", "We don't use a CRM"

    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    package_copilot = models.BooleanField("Revenue intelligence package", default=True)
    package_engage = models.BooleanField("Sales engagement package", default=True)
    email_provider = models.CharField(max_length=20, choices=EmailProvider.choices, blank=True)
    crm = models.CharField("CRM", max_length=20, choices=Crm.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def has_package(self, code: str) -> bool:
        return bool(getattr(self, f"package_{code}", False))

    def package_lock_reason(self, code: str) -> str | None:
        """Why a feature needing ``code`` is locked for this org, or None when it is not."""
        if self.has_package(code):
            return None
        return f"Needs the {PACKAGES[code].name} package. Ask your Cadence account manager."


class UserManager(BaseUserManager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        email = self.normalize_email(email).lower()
        extra.setdefault("mailbox_username", email)
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save()
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email__iexact=username)


class Role(models.TextChoices):
    ADMINISTRATOR = "admin", "Administrator"
    CONTRIBUTOR = "contributor", "Contributor"


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Email is the login; ``organization`` is empty only for support
    staff. ``mailbox_username`` is the mailbox user name providers sync by: it must equal the
    email for mail and calendar sync to work (User Management warns when it does not)."""

    class Signature(models.TextChoices):
        NONE = "none", "No signature"
        CLASSIC = "classic", "Template: classic"
        COMPACT = "compact", "Template: compact"
        CUSTOM = "custom", "Custom"

    email = models.EmailField("email address", unique=True)
    mailbox_username = models.CharField("user name", max_length=254, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CONTRIBUTOR)
    org_groups = models.ManyToManyField(
        "copilot.OrgGroup", blank=True, related_name="members", verbose_name="groups"
    )
    can_start_salesflow_on_behalf = models.BooleanField("start Salesflow on behalf of others", default=False)
    # Contact details and preferences collected by onboarding (editable later in Account).
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    dialer_phone = models.CharField("dialer phone", max_length=40, blank=True)
    signature_choice = models.CharField(max_length=20, choices=Signature.choices, default=Signature.NONE)
    signature_custom = models.TextField("custom signature", blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en")
    onboarding = models.JSONField(default=dict, blank=True, help_text="step -> done|skipped")
    onboarding_finished_at = models.DateTimeField(null=True, blank=True)

    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField("support staff", default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["first_name", "last_name", "email"]
        indexes = [models.Index(Lower("last_name"), "organization", name="user_org_name_idx")]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def is_org_admin(self) -> bool:
        return self.organization_id is not None and self.role == Role.ADMINISTRATOR

    @property
    def mailbox_warning(self) -> str | None:
        """Why mail sync would fail for this user (A2), or None."""
        try:
            validate_email(self.mailbox_username)
        except ValidationError:
            return "User name is not a valid mailbox address."
        if self.mailbox_username.lower() != self.email.lower():
            return "User name differs from the email address; mailbox sync needs them equal."
        return None


class OrgGroup(TenantModel):
    """A group of users inside an organisation (A4); integrations and features may be scoped
    to groups."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "group"
        constraints = [
            models.UniqueConstraint("organization", Lower("name"), name="orggroup_unique_name_per_org")
        ]

    def __str__(self) -> str:
        return self.name


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(TenantQuerySet):
    def pending(self) -> InvitationQuerySet:
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class Invitation(TenantModel):
    """An admin's invitation to join the organisation. Only the token's hash is stored; the
    link in the email is the only copy of the token."""

    email = models.EmailField()
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CONTRIBUTOR)
    org_groups = models.ManyToManyField(OrgGroup, blank=True, verbose_name="groups")
    can_start_salesflow_on_behalf = models.BooleanField(default=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_pending_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class AuditEvent(TenantModel):
    """Who changed what in an organisation's setup; written by the service functions."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_email = models.EmailField(blank=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.target}"


# Revenue intelligence (people, companies, activities, ignore/block rules) lives in its own module.
from copilot.intelligence.models import (  # noqa: E402, F401
    Activity,
    ActivityCompany,
    ActivityParticipant,
    ActivityPerson,
    ActivitySource,
    AddressBookEntry,
    Company,
    IngestionSkip,
    IntelligenceSettings,
    MailRule,
    Person,
)
