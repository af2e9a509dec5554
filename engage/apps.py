from django.apps import AppConfig
from django.db.models.signals import post_save


class EngageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "engage"
    verbose_name = "Sales engagement"

    def ready(self) -> None:
        from copilot.models import Organization

        post_save.connect(_organization_created, sender=Organization, dispatch_uid="engage-org-defaults")

        # Engage decides what Salesforce Leads and Contacts become (G5, G6); integrations fetches.
        from engage.services.crm.sync_handler import handler
        from integrations.sync import registry

        registry.register_handler(registry.CRM, handler, only=True)

        # A person's own connections are listed on engage's settings page: integrations sends
        # people back there without knowing engage's URLs.
        from integrations.base import set_user_settings_url

        set_user_settings_url(_user_settings_url)

        # The company and person pages link to the account and contact they are (intelligence
        # imports nothing of engage: engage tells it how to find them).
        from copilot.views.timeline import register_related_link
        from engage.views.accounts import account_of_company, contact_of_person

        register_related_link("company", "engage.account", account_of_company)
        register_related_link("person", "engage.contact", contact_of_person)

        # The sweep that carries on polls and imports whose worker died, among the periodic tasks
        # written to celery-beat's database after migrate (config/celery.py).
        from config.celery import PERIODIC_TASKS
        from engage.tasks import JOBS_SWEEP, JOBS_SWEEP_NAME, SALESFLOWS_BEAT, SALESFLOWS_BEAT_NAME

        PERIODIC_TASKS.setdefault(JOBS_SWEEP_NAME, JOBS_SWEEP)
        # The Salesflow send engine's minute beat (engage.salesflows.engine).
        PERIODIC_TASKS.setdefault(SALESFLOWS_BEAT_NAME, SALESFLOWS_BEAT)

        # A synced meeting with a contact takes their enrolments out of their flows (meeting booked).
        from engage.salesflows.engine import meetings_booked

        registry.register_handler("calendar", meetings_booked)


def _user_settings_url() -> str:
    from django.urls import reverse

    return reverse("engage:settings")


def _organization_created(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """A new organisation gets the default status list (copilot does not know Engage exists)."""
    if created and not raw:
        from engage.services.statuses import statuses_ensure_defaults

        statuses_ensure_defaults(organization=instance)
