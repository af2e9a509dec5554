"""Settings shared by every profile. Everything that differs between machines comes from the
environment (django-environ); see README › Configuration for the list.

Profiles: ``local`` (``make run``: embedded defaults, provider sandbox on), ``test`` (``make test``)
and ``production`` (every secret required, no defaults).
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="insecure-local-only-key-change-me-0123456789abcdefghijklmnop")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications -------------------------------------------------------------------------------
INSTALLED_APPS = [
    "copilot.apps.SupportAdminConfig",  # django.contrib.admin behind allauth and TOTP
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "copilot",
    "integrations",
    "engage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "copilot.tenancy.OrganizationMiddleware",
    "copilot.middleware.DeactivatedOrganizationMiddleware",
    "copilot.packages.PackageLockMiddleware",
    "copilot.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "copilot.context_processors.cadence",
                "engage.context_processors.actions",
            ],
        },
    },
]

# --- Data ---------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'cadence.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share the file: WAL + immediate transactions avoid "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Provider access tokens and the Gmail quota counters live here; workers share them only through a
# shared cache (Redis in production and CI). Local memory keeps far more than its default 300 keys.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://cadence")}
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 100_000)

# --- Auth ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "copilot.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "engage:home"

ACCOUNT_ADAPTER = "copilot.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "copilot.forms.SignupExtraForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# Mandatory: mailbox sync and sending act for an address only once its owner proved it (an
# invitation link counts as proof, see copilot.services.invitations).
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
# Confirming from the browser that signed up continues into onboarding (allauth only does this
# while that sign-up is in the session, so a leaked link does not sign anyone in).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SIGNUP_REDIRECT_URL = "copilot:onboarding"
# Login throttling: failed logins are limited per IP and per account (allauth's rate limits).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env("LOGIN_RATE_LIMIT", default="10/m/ip,5/5m/key"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Cadence"
# Sign-up creates a new organisation. Private installs close it; people then join by invitation.
CADENCE_SIGNUP_OPEN = env.bool("CADENCE_SIGNUP_OPEN", default=True)
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)

# --- Secrets at rest ----------------------------------------------------------------------------
# Fernet keys (urlsafe base64, 32 bytes). The first encrypts; all decrypt, so a key is rotated by
# putting a new one first and running `manage.py rotate_encryption_keys`.
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=["Y2FkZW5jZS1sb2NhbC1vbmx5LWtleS0wMDAwMDAwMDA="])

# --- I18N ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static -------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# --- Email --------------------------------------------------------------------------------------
# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587 ; console by default.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Cadence <no-reply@cadence.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -------------------------------------------------------------------------------------
# Delivery matches the sync lease (integrations/sync, integrations/workers.py): every task may run
# twice, never zero times. A task's message is acknowledged when the task has finished
# (ACKS_LATE), and a pool process killed mid-task (kill -9, out of memory) has its message put back
# at the head of the queue at once (REJECT_ON_WORKER_LOST; without it Celery acknowledges the
# message as failed and the work waits for the next beat or a stale-job sweep). The redelivered
# run finds the lease or job held by a dead process (owner_is_dead) and takes it over. The price:
# a task that kills its process every time is redelivered every time; none of ours should.
# A process takes one message at a time (PREFETCH_MULTIPLIER 1), so a long sync does not sit on
# messages another process could run.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: a broker that needs no server (make run, fresh machines).
    _broker_dir = Path(env("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(_broker_dir / "queue"),
            "data_folder_out": str(_broker_dir / "queue"),
            "processed_folder": str(_broker_dir / "processed"),
            "control_folder": str(_broker_dir / "control"),
            "store_processed": False,
            # kombu looks at the folder once a second by default: at most one task a second per worker.
            "polling_interval": env.float("CELERY_BROKER_POLLING_INTERVAL", default=0.1),
        }
    )
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://", "sentinel://")):
    # Redis has no consumer acknowledgements: a delivered message waits in an "unacked" set, and
    # one not acknowledged within visibility_timeout of its delivery is put back in the queue
    # (kombu sweeps that set about every 100 s). That is how the task of a worker that died whole
    # (host lost, the main process killed; a killed pool process is covered above) comes back:
    # within visibility_timeout + ~100 s. Kombu's default is one hour; five minutes is one dispatch
    # cycle. The timer never stops while a task runs, so a longer task (a big first sync, a
    # historical poll) and a countdown/eta message longer than it (a sync backing off for up to
    # 30 minutes) are delivered again every visibility_timeout while the first copy is running or
    # waiting: the copy finds the row's lease (renewed with every page, 2 minutes) or the job's
    # heartbeat held by a live worker and stops, and an expired one (expires=) is dropped. Raise it
    # only if a task is added that cannot tell it is a duplicate.
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env.int(
        "CELERY_BROKER_VISIBILITY_TIMEOUT", default=5 * 60
    )
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Providers ----------------------------------------------------------------------------------
# The provider sandbox (integrations/sandbox) emulates Google, Microsoft and Salesforce locally.
# Product code only ever sees the base URLs and CA bundle below; production points them at the
# real providers (the defaults) and never enables the sandbox.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)
SANDBOX_HOST = env("SANDBOX_HOST", default="127.0.0.1")
SANDBOX_PORT = env.int("SANDBOX_PORT", default=8443)
SANDBOX_DIR = Path(env("SANDBOX_DIR", default=str(VAR_DIR / "sandbox")))
# Where run_sandbox keeps its state across restarts (connections, cursors); "" keeps it in memory.
SANDBOX_STATE_FILE = env("SANDBOX_STATE_FILE", default=str(SANDBOX_DIR / "state.pickle"))
PROVIDER_CA_BUNDLE = env("PROVIDER_CA_BUNDLE", default=None)
MICROSOFT_LOGIN_URL = env("MICROSOFT_LOGIN_URL", default="https://login.microsoftonline.com")
MICROSOFT_GRAPH_URL = env("MICROSOFT_GRAPH_URL", default="https://graph.microsoft.com")
# Salesforce connected app. Empty id/secret: the Integrations page says Salesforce is not set up.
SALESFORCE_LOGIN_URL = env("SALESFORCE_LOGIN_URL", default="https://login.salesforce.com")
SALESFORCE_CLIENT_ID = env("SALESFORCE_CLIENT_ID", default="")
SALESFORCE_CLIENT_SECRET = env("SALESFORCE_CLIENT_SECRET", default="")
SALESFORCE_API_VERSION = "59.0"

# Google Workspace (B1-B3). The OAuth web client serves users' own connections and the admin's
# sign-in; the service account (its key JSON file) does domain-wide delegation for admin-managed
# connections. Empty API URLs use the client library's defaults (the real Google endpoints).
GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET", default="")
GOOGLE_SERVICE_ACCOUNT_FILE = env("GOOGLE_SERVICE_ACCOUNT_FILE", default="")
GOOGLE_AUTH_URL = env("GOOGLE_AUTH_URL", default="https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_TOKEN_URL = env("GOOGLE_TOKEN_URL", default="https://oauth2.googleapis.com/token")
GOOGLE_REVOKE_URL = env("GOOGLE_REVOKE_URL", default="https://oauth2.googleapis.com/revoke")
GOOGLE_USERINFO_URL = env("GOOGLE_USERINFO_URL", default="https://openidconnect.googleapis.com/v1/userinfo")
GOOGLE_GMAIL_URL = env("GOOGLE_GMAIL_URL", default="")
GOOGLE_CALENDAR_URL = env("GOOGLE_CALENDAR_URL", default="")
GOOGLE_PEOPLE_URL = env("GOOGLE_PEOPLE_URL", default="")
GOOGLE_DIRECTORY_URL = env("GOOGLE_DIRECTORY_URL", default="")
GOOGLE_BATCH_URL = env("GOOGLE_BATCH_URL", default="https://gmail.googleapis.com/batch/gmail/v1")
# Gmail's per-user quota as "<units>/<seconds>": 15,000 units a minute for current projects,
# "250/1" (250 units a second, moving average) for projects on the older quota.
GMAIL_USER_QUOTA = env("GMAIL_USER_QUOTA", default="15000/60")
# Microsoft 365: Cadence's multi-tenant Entra app registration.
MICROSOFT_CLIENT_ID = env("MICROSOFT_CLIENT_ID", default="")
MICROSOFT_CLIENT_SECRET = env("MICROSOFT_CLIENT_SECRET", default="")
# Outlook resources allow 4 concurrent requests per app and mailbox (Graph throttling limits).
GRAPH_MAILBOX_CONCURRENCY = env.int("GRAPH_MAILBOX_CONCURRENCY", default=4)
# How far back the first sync of a mailbox or calendar reaches.
MAIL_INITIAL_SYNC_DAYS = env.int("MAIL_INITIAL_SYNC_DAYS", default=90)

# --- Engage: telephony and voicemails ----------------------------------------------------------
# Where phone verification codes go: ConsoleTelephonyBackend logs them (logger cadence.telephony).
TELEPHONY_BACKEND = env("TELEPHONY_BACKEND", default="engage.telephony.ConsoleTelephonyBackend")
VOICEMAIL_MAX_BYTES = env.int("VOICEMAIL_MAX_BYTES", default=10 * 1024 * 1024)

# --- Engage: CSV import of contacts ------------------------------------------------------------
# Largest accepted upload. Django streams files above FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary
# file, and DATA_UPLOAD_MAX_MEMORY_SIZE counts only non-file fields, so neither refuses it first.
CONTACT_IMPORT_MAX_BYTES = env.int("CONTACT_IMPORT_MAX_BYTES", default=100 * 1024 * 1024)
# Widest file accepted: the mapping page has one select per column, and its form must stay well
# under Django's DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) with the few other fields it posts.
CONTACT_IMPORT_MAX_COLUMNS = env.int("CONTACT_IMPORT_MAX_COLUMNS", default=200)
# Longest line accepted (bytes): a contact's row with long notes fits many times over.
CONTACT_IMPORT_MAX_LINE_BYTES = env.int("CONTACT_IMPORT_MAX_LINE_BYTES", default=128 * 1024)

# --- Logging ------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
