"""``make test``: SQLite unless DATABASE_URL / CELERY_BROKER_URL say otherwise (CI sets both)."""

from config.settings.base import *  # noqa: F403
from config.settings.base import INSTALLED_APPS, env

DEBUG = False
# The ``seed_demo`` command (Demo Co); never installed in production.
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tasks run in-process in tests unless a test exercises the broker on purpose.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
TELEPHONY_BACKEND = "engage.telephony.LocmemTelephonyBackend"
# The provider sandbox's seeded Salesforce connected app; the ``sandbox`` fixture sets the URL.
SALESFORCE_LOGIN_URL = "https://127.0.0.1:8443"
SALESFORCE_CLIENT_ID = "cadence-sandbox-client"
SALESFORCE_CLIENT_SECRET = "cadence-sandbox-secret"
GOOGLE_CLIENT_ID = "cadence-sandbox-google-client"
GOOGLE_CLIENT_SECRET = "cadence-sandbox-google-secret"
MICROSOFT_CLIENT_ID = "3e0f7c2a-5b84-4c9e-a1d6-7f2b9e4c0d18"  # integrations/sandbox/microsoft/demo.py
MICROSOFT_CLIENT_SECRET = "Sbx8Q~cadence-sandbox-demo-secret-not-for-production"

# Serve static files from the app folders without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
