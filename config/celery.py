"""The Celery app. Tasks are discovered in every installed app's ``tasks`` module.

Periodic tasks live in django-celery-beat's database (``DatabaseScheduler``); the ones the code
needs are declared in ``PERIODIC_TASKS`` below and written to the database after ``migrate``
(see ``integrations.apps``), so an admin's later edit in the Django admin is never overwritten.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("cadence")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# name -> (task, every N seconds, options). Loaded into the database scheduler after migrate.
PERIODIC_TASKS: dict[str, dict] = {
    "sync dispatcher": {
        "task": "integrations.dispatch_syncs",
        "every_seconds": 5 * 60,
        # A dispatch that could not run within one interval is dropped, not piled up.
        "expires_seconds": 5 * 60 - 10,
        "description": "Every 5 minutes: fan out one sync task per due mailbox, calendar or CRM object.",
    },
}
