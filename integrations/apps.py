from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IntegrationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from django.apps import apps

        from integrations.schedule import install_periodic_tasks

        # After every migrate (and test-database flush), make sure the code-declared periodic
        # tasks exist in django-celery-beat's tables; existing rows are left as admins set them.
        # post_migrate is sent once per app with models: listen for django-celery-beat's only.
        post_migrate.connect(
            install_periodic_tasks,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="integrations.install_periodic_tasks",
        )
