"""``make test``: SQLite unless DATABASE_URL / CELERY_BROKER_URL say otherwise (CI sets both)."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env
from integrations.sandbox.settings import SANDBOX_CREDENTIALS

DEBUG = False
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
# The provider sandbox's seeded apps; the ``sandbox`` fixture sets the URLs
# (integrations/sandbox/settings.py).
SALESFORCE_LOGIN_URL = "https://127.0.0.1:8443"
SALESFORCE_CLIENT_ID = SANDBOX_CREDENTIALS["SALESFORCE_CLIENT_ID"]
SALESFORCE_CLIENT_SECRET = SANDBOX_CREDENTIALS["SALESFORCE_CLIENT_SECRET"]
GOOGLE_CLIENT_ID = SANDBOX_CREDENTIALS["GOOGLE_CLIENT_ID"]
GOOGLE_CLIENT_SECRET = SANDBOX_CREDENTIALS["GOOGLE_CLIENT_SECRET"]
MICROSOFT_CLIENT_ID = SANDBOX_CREDENTIALS["MICROSOFT_CLIENT_ID"]
MICROSOFT_CLIENT_SECRET = SANDBOX_CREDENTIALS["MICROSOFT_CLIENT_SECRET"]

# Serve static files from the app folders without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
