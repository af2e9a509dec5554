"""Each seller's profile (A8) and settings (A9): address, culture, Salesflow business hours and
excluded holidays; email notifications, the verified dialer phone and recorded voicemails.
Name, phone, job title, time zone, language and signature live on ``copilot.User``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from copilot.tenant_models import TenantModel
from engage.models.contacts import Address


def default_business_hours() -> dict[str, list[str]]:
    """Weekday (0 = Monday) -> [start, end] in the user's time zone; absent days are off."""
    return {str(day): ["08:00", "18:00"] for day in range(5)}


class NotificationChoice(models.TextChoices):
    IMMEDIATELY = "immediately", "Immediately"
    NEVER = "never", "Never"


class SellerProfile(TenantModel, Address):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seller_profile"
    )
    culture = models.CharField(max_length=10, default="en-US", help_text="How dates and numbers are written")
    business_hours = models.JSONField(default=default_business_hours)
    holiday_country = models.CharField(
        max_length=2, blank=True, default="US", help_text="Country whose public holidays are excluded"
    )
    holidays_kept = models.JSONField(
        default=list, blank=True, help_text="ISO dates of country holidays the user works on anyway"
    )
    notify_opened = models.CharField(
        "email opened",
        max_length=12,
        choices=NotificationChoice.choices,
        default=NotificationChoice.IMMEDIATELY,
    )
    notify_failed = models.CharField(
        "email failed delivery",
        max_length=12,
        choices=NotificationChoice.choices,
        default=NotificationChoice.IMMEDIATELY,
    )
    notify_clicked = models.CharField(
        "link clicked",
        max_length=12,
        choices=NotificationChoice.choices,
        default=NotificationChoice.IMMEDIATELY,
    )
    verified_phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    verified_extension = models.CharField(max_length=10, blank=True)
    phone_verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class PhoneVerification(TenantModel):
    """A one-time code sent to a phone number the user wants to verify. Only its hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=20)
    extension = models.CharField(max_length=10, blank=True)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class Voicemail(TenantModel):
    """A recorded voicemail the dialer can leave for its owner (at most 20 per user)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voicemails")
    title = models.CharField(max_length=100)
    audio = models.FileField(upload_to="voicemails/%Y/%m/")
    content_type = models.CharField(max_length=50)
    size_bytes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title
