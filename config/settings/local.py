"""``make run``: embedded defaults (SQLite, filesystem broker), debug on, provider sandbox on."""

from config.settings.base import *  # noqa: F403
from config.settings.base import SANDBOX_DIR, SANDBOX_PORT, env

DEBUG = env.bool("DEBUG", default=True)
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=True)
if SANDBOX_ENABLED:
    _sandbox_url = f"https://localhost:{SANDBOX_PORT}"
    PROVIDER_CA_BUNDLE = env("PROVIDER_CA_BUNDLE", default=str(SANDBOX_DIR / "ca.pem"))
    MICROSOFT_LOGIN_URL = env("MICROSOFT_LOGIN_URL", default=_sandbox_url)
    MICROSOFT_GRAPH_URL = env("MICROSOFT_GRAPH_URL", default=f"{_sandbox_url}/graph")
    SALESFORCE_LOGIN_URL = env("SALESFORCE_LOGIN_URL", default=_sandbox_url)
    SALESFORCE_CLIENT_ID = env("SALESFORCE_CLIENT_ID", default="cadence-sandbox-client")
    SALESFORCE_CLIENT_SECRET = env("SALESFORCE_CLIENT_SECRET", default="cadence-sandbox-secret")
    GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID", default="cadence-sandbox-google-client")
    GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET", default="cadence-sandbox-google-secret")
    GOOGLE_SERVICE_ACCOUNT_FILE = env(
        "GOOGLE_SERVICE_ACCOUNT_FILE", default=str(SANDBOX_DIR / "google-service-account.json")
    )
    GOOGLE_AUTH_URL = env("GOOGLE_AUTH_URL", default=f"{_sandbox_url}/google/o/oauth2/v2/auth")
    GOOGLE_TOKEN_URL = env("GOOGLE_TOKEN_URL", default=f"{_sandbox_url}/google/token")
    GOOGLE_REVOKE_URL = env("GOOGLE_REVOKE_URL", default=f"{_sandbox_url}/google/revoke")
    GOOGLE_USERINFO_URL = env("GOOGLE_USERINFO_URL", default=f"{_sandbox_url}/google/oauth2/v3/userinfo")
    GOOGLE_GMAIL_URL = env("GOOGLE_GMAIL_URL", default=f"{_sandbox_url}/google/")
    GOOGLE_CALENDAR_URL = env("GOOGLE_CALENDAR_URL", default=f"{_sandbox_url}/google/calendar/v3/")
    GOOGLE_PEOPLE_URL = env("GOOGLE_PEOPLE_URL", default=f"{_sandbox_url}/google/")
    GOOGLE_DIRECTORY_URL = env("GOOGLE_DIRECTORY_URL", default=f"{_sandbox_url}/google/")
    GOOGLE_BATCH_URL = env("GOOGLE_BATCH_URL", default=f"{_sandbox_url}/google/batch/gmail/v1")
    from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    MICROSOFT_CLIENT_ID = env("MICROSOFT_CLIENT_ID", default=DEMO_CLIENT_ID)
    MICROSOFT_CLIENT_SECRET = env("MICROSOFT_CLIENT_SECRET", default=DEMO_CLIENT_SECRET)

# Serve static files from the app folders without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
