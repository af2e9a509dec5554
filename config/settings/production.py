"""Production: every secret comes from the environment with no default; startup fails without it.

Required: SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL, CACHE_URL (shared by web and workers:
Redis), ENCRYPTION_KEYS, ALLOWED_HOSTS.
Optional: EMAIL_URL, DEFAULT_FROM_EMAIL, SECURE_HSTS_SECONDS.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
# Login throttles, provider access tokens and Gmail quota counters must be shared by every process.
CACHES = {"default": env.cache("CACHE_URL")}
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# The sandbox is a development and test tool only.
SANDBOX_ENABLED = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
