"""What every provider describes about itself, and the one registry of providers.

A provider *describes* an integration (key, name, what it needs, how to revoke its credentials);
a ``Connection`` row and the provider's client *do* the work. Each provider package registers its
``Provider`` from ``IntegrationsConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Provider:
    key: str  # a value of ``integrations.models.Provider``
    name: str
    description: str
    package: str  # the package (copilot.models.PACKAGES) an organisation needs for it

    def is_configured(self) -> bool:
        """Whether this installation holds the app registration (client id/secret) it needs."""
        return False

    def not_configured_reason(self) -> str:
        return f"{self.name} is not configured on this Cadence installation."

    def revoke(self, credentials: dict[str, Any]) -> None:
        """Revoke ``credentials`` at the provider. Raises ``ProviderError`` when it could not;
        callers decide whether that matters (disconnecting goes ahead regardless)."""


_providers: dict[str, Provider] = {}


def register_provider(provider: Provider) -> None:
    _providers[provider.key] = provider


def get_provider(key: str) -> Provider | None:
    return _providers.get(key)


# The page where a person manages their own connections belongs to the app that owns the
# workspace (engage), which registers it from its ``AppConfig.ready``: integrations builds no
# other app's URLs.
_user_settings_url: Callable[[], str] | None = None


def set_user_settings_url(url: Callable[[], str]) -> None:
    """Register the callable that answers the URL of a person's own settings page."""
    global _user_settings_url
    _user_settings_url = url


def user_settings_url() -> str:
    """A person's own settings page (where their own connections are listed)."""
    return _user_settings_url() if _user_settings_url is not None else "/"


def user_connections_url() -> str:
    """The connections section of a person's own settings page."""
    return user_settings_url() + "#connections"
