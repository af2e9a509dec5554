"""Admin Portal › Integrations: the catalog of providers and disconnecting a connection.

Provider-specific pages (connect, callback, details) live in each provider's ``views.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from copilot.models import Organization
from copilot.tenancy import admin_required, org_object_or_404
from integrations import selectors, services
from integrations.base import get_provider
from integrations.models import Connection, Provider
from integrations.salesforce.provider import SALESFORCE


@dataclass(frozen=True)
class Tile:
    key: str
    name: str
    description: str
    package: str
    available: bool  # False: shown as coming soon


TILES = (
    Tile(SALESFORCE.key, SALESFORCE.name, SALESFORCE.description, SALESFORCE.package, True),
    Tile(
        Provider.GOOGLE,
        "Google Workspace",
        "Gmail and Google Calendar: the team timeline of emails and meetings, sending from Cadence.",
        "copilot",
        False,
    ),
    Tile(
        Provider.MICROSOFT,
        "Microsoft 365",
        "Outlook mail and calendar: the team timeline of emails and meetings, sending from Cadence.",
        "copilot",
        False,
    ),
)


def _tile_context(organization: Organization, tile: Tile) -> dict:
    provider = get_provider(tile.key)
    return {
        "tile": tile,
        "lock_reason": organization.package_lock_reason(tile.package),
        "configured": bool(provider and provider.is_configured()),
        "not_configured_reason": provider.not_configured_reason() if provider else "",
        "connection": selectors.org_connection(organization, tile.key) if tile.available else None,
        "user_connections": list(selectors.user_connections(organization, tile.key))
        if tile.available
        else [],
    }


@admin_required
def catalog(request: HttpRequest) -> HttpResponse:
    tiles = [_tile_context(request.organization, tile) for tile in TILES]
    return render(request, "integrations/catalog.html", {"tiles": tiles})


@admin_required
def disconnect(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Confirmation page saying what stops, then the disconnect (tokens revoked and wiped)."""
    connection = org_object_or_404(request, Connection.objects.select_related("user"), pk=connection_id)
    if request.method == "POST":
        if connection.status != Connection.Status.DISCONNECTED:
            services.connection_disconnect(connection=connection, actor=request.user)
        messages.success(
            request, f"{connection.get_provider_display()} is disconnected and its access revoked."
        )
        return redirect("integrations:catalog")
    return render(request, "integrations/disconnect.html", {"connection": connection})
