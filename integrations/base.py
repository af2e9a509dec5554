"""What every provider describes about itself, and the one registry of providers.

A provider *describes* an integration (key, name, what it needs, how to revoke its credentials);
a ``Connection`` row and the provider's client *do* the work. Each provider package registers its
``Provider`` from ``IntegrationsConfig.ready``.
"""

from __future__ import annotations

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
