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

# Serve static files from the app folders without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
