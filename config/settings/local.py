"""``make run``: embedded defaults (SQLite, filesystem broker), debug on, provider sandbox on."""

from config.settings.base import *  # noqa: F403
from config.settings.base import INSTALLED_APPS, SANDBOX_DIR, SANDBOX_PORT, env

DEBUG = env.bool("DEBUG", default=True)
# The ``seed_demo`` command (Demo Co); never installed in production.
INSTALLED_APPS = [*INSTALLED_APPS, "demo"]
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=True)
if SANDBOX_ENABLED:
    # The sandbox is this profile's provider: every provider setting points at it unless the
    # environment names another value (integrations/sandbox/settings.py holds the one map).
    from integrations.sandbox.settings import provider_settings

    for _name, _default in provider_settings(
        f"https://localhost:{SANDBOX_PORT}", str(SANDBOX_DIR / "ca.pem")
    ).items():
        globals()[_name] = env(_name, default=_default)

# Serve static files from the app folders without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
