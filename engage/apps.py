from django.apps import AppConfig
from django.db.models.signals import post_save


class EngageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "engage"
    verbose_name = "Engage workspace"

    def ready(self) -> None:
        from copilot.models import Organization

        post_save.connect(_organization_created, sender=Organization, dispatch_uid="engage-org-defaults")


def _organization_created(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """A new organisation gets the default status list (copilot does not know Engage exists)."""
    if created and not raw:
        from engage.services.statuses import statuses_ensure_defaults

        statuses_ensure_defaults(organization=instance)
