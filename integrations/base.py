"""What every provider describes about itself, and the one registry of providers.

A provider *describes* an integration (key, name, what it needs, how to revoke its credentials)
and supplies its sync source (from its ``fetch/source.py``, given to ``register_provider``); a ``Connection``
row and the provider's client *do* the work. Each provider package registers its ``Provider`` from
``IntegrationsConfig.ready``.

This is one of the sync engine's two registries; the other, of the feature apps' handlers of
synced records, is ``integrations.sync.registry``. The dispatcher fans out over the sources the
registered providers supply (``integrations.dispatcher.fan_out_over_providers``).
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
_sources: dict[str, Any] = {}


def register_provider(provider: Provider, *, source: Any = None) -> None:
    """Register ``provider`` with the sync source it supplies (its ``fetch/source.py``; None when
    it does not sync). A source names the engine's fan-out it belongs to (``sync_name``: "mail"
    for every mailbox provider, "salesforce") and brings it (``fan_out()``, optionally
    ``fan_out_connection(connection_id)``)."""
    _providers[provider.key] = provider
    if source is not None:
        _sources[provider.key] = source


def get_provider(key: str) -> Provider | None:
    return _providers.get(key)


def providers() -> list[Provider]:
    return list(_providers.values())


def register_source(source: Any) -> None:
    """Attach ``source`` to its provider (``source.provider``) in place of the one registered
    with it: tests install an instrumented source this way."""
    _sources[source.provider] = source


def get_source(key: str) -> Any:
    """The sync source of provider ``key`` (None when it has none or is not registered)."""
    return _sources.get(key)


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
