from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_save


class CopilotConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "copilot"
    verbose_name = "Organisations and people"

    def ready(self) -> None:
        from copilot.intelligence import ingestion
        from copilot.models import Organization

        post_save.connect(
            _organization_created, sender=Organization, dispatch_uid="copilot-mail-rule-defaults"
        )
        # Synced mail, calendars and address books from integrations land here (one path for all
        # providers): copilot decides what they become.
        ingestion.register()


def _organization_created(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """A new organisation starts with the default Ignore list of free-mail domains (B7)."""
    if created and not raw:
        from copilot.intelligence.services import mail_rules_ensure_defaults

        mail_rules_ensure_defaults(organization=instance)


class SupportAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` whose ``admin.site`` is the support site: signed in through allauth
    with TOTP only (copilot/support_site.py)."""

    default = False  # copilot's own default config stays CopilotConfig
    default_site = "copilot.support_site.SupportAdminSite"
