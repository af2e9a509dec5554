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
        from integrations.dispatcher import fan_out_over_providers, set_row_runner  # and the beat task
        from integrations.google.fetch.source import GOOGLE_ADAPTER
        from integrations.google.provider import GOOGLE
        from integrations.microsoft.fetch.source import MICROSOFT_ADAPTER
        from integrations.microsoft.provider import MICROSOFT
        from integrations.salesforce.fetch.fanout import SALESFORCE_SOURCE
        from integrations.salesforce.provider import SALESFORCE
        from integrations.schedule import install_periodic_tasks

        # The two registries of the sync engine: providers (each supplying its sync source) here,
        # record handlers from the feature apps' ready().
        register_provider(SALESFORCE, source=SALESFORCE_SOURCE)
        register_provider(GOOGLE, source=GOOGLE_ADAPTER)
        register_provider(MICROSOFT, source=MICROSOFT_ADAPTER)
        # Every 5 minutes the dispatcher runs the fan-outs the providers' sources bring: G5, one
        # incremental run per synced Salesforce object; B13, one run per due mailbox, calendar and
        # address book (a connection's first sync starts at once through the dispatcher).
        fan_out_over_providers()
        # "Retry now" asks the dispatcher to run a row; the engine's one task does it.
        from integrations.sync import tasks as sync_tasks

        set_row_runner(lambda pk, force=False: sync_tasks.enqueue_sync(pk, force=force))

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


def _disconnect_deleted_users_connections(sender: Any, user: Any, actor: Any = None, **kwargs: Any) -> None:
    from integrations.services import connections_disconnect_for_user

    # Revocation failures are logged inside; only a database failure raises (and aborts the delete).
    connections_disconnect_for_user(user=user, actor=actor)
