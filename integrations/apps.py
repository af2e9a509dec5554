from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IntegrationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from django.apps import apps

        from copilot.signals import user_deleting
        from integrations.base import register_provider
        from integrations.dispatcher import register_sync
        from integrations.salesforce import tasks as salesforce_tasks
        from integrations.salesforce.provider import SALESFORCE
        from integrations.schedule import install_periodic_tasks

        register_provider(SALESFORCE)
        # G5: every 5 minutes, one incremental run per synced Salesforce object (imports the task).
        register_sync("salesforce", salesforce_tasks.fan_out)
        # B13: every 5 minutes, one run per due mailbox, calendar and address book.
        from integrations import tasks as dispatcher_tasks  # noqa: F401  (the beat entry's task)
        from integrations.mailsync import tasks as mailsync_tasks  # noqa: F401  (registers the task)
        from integrations.mailsync.fanout import fan_out as mail_fan_out

        register_sync("mail", mail_fan_out)
        _register_mailbox_adapters()

        # After every migrate (and test-database flush), make sure the code-declared periodic
        # tasks exist in django-celery-beat's tables; existing rows are left as admins set them.
        # post_migrate is sent once per app with models: listen for django-celery-beat's only.
        post_migrate.connect(
            install_periodic_tasks,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="integrations.install_periodic_tasks",
        )
        # A6: a deleted user's own connections are revoked and removed with them.
        user_deleting.connect(
            _disconnect_deleted_users_connections, dispatch_uid="integrations.user_deleting"
        )


def _register_mailbox_adapters() -> None:
    """Google's and Microsoft's providers and mailbox adapters.

    A package that fails to import is logged and left out rather than taking the whole site down
    (tests/integrations/mailsync/test_registry.py fails loudly instead)."""
    import importlib
    import importlib.util
    import logging

    from integrations.base import register_provider
    from integrations.mailsync.adapter import register_adapter

    for module, name, register in (
        ("integrations.google.provider", "GOOGLE", register_provider),
        ("integrations.microsoft.provider", "MICROSOFT", register_provider),
        ("integrations.google.adapter", "GOOGLE_ADAPTER", register_adapter),
        ("integrations.microsoft.adapter", "MICROSOFT_ADAPTER", register_adapter),
    ):
        if importlib.util.find_spec(module) is None:  # the provider package is not written yet
            continue
        try:
            register(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            logging.getLogger(__name__).exception(
                "integrations.adapter_unavailable", extra={"python_module": module}
            )


def _disconnect_deleted_users_connections(sender: Any, user: Any, actor: Any = None, **kwargs: Any) -> None:
    from integrations.services import connections_disconnect_for_user

    # Revocation failures are logged inside; only a database failure raises (and aborts the delete).
    connections_disconnect_for_user(user=user, actor=actor)
