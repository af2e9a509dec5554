"""``{% load connections %}``: the seller's view of their connections, for Settings › Connections
(engage's template includes it without importing integrations' views): Salesforce, and the
Google and Microsoft mailbox cards."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Q
from django.urls import reverse

from integrations.base import get_provider
from integrations.models import Connection
from integrations.records import APPS
from integrations.salesforce.provider import SALESFORCE
from integrations.selectors import app_name, installed_app_names, instance_warning

register = template.Library()


def _user_connections(request: Any) -> dict[tuple[str, bool], Connection]:
    """(provider, org-wide?) → the organisation's and the signed-in person's own connections that
    are not disconnected, read once per request (one query, and one for the apps when any)."""
    cached = getattr(request, "_cadence_connections", None)
    if cached is not None:
        return cached
    user = request.user
    rows = (
        Connection.objects.for_org(user.organization)
        .filter(Q(scope=Connection.Scope.ORGANIZATION) | Q(scope=Connection.Scope.USER, user=user))
        .exclude(status=Connection.Status.DISCONNECTED)
        .prefetch_related("apps")
        .defer("credentials")
    )
    cached = {(row.provider, row.is_org_wide): row for row in rows}
    request._cadence_connections = cached
    return cached


def _signed_in(context: template.Context) -> Any:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.organization_id is None:
        return None
    return request


@register.simple_tag(takes_context=True)
def salesforce_connection_card(context: template.Context) -> dict[str, Any]:
    """What the Salesforce card shows the signed-in person: the organisation's connection, their
    own, whether they may connect, and the different-instance warning."""
    request = _signed_in(context)
    if request is None:
        return {"available": False}
    organization = request.user.organization
    connections = _user_connections(request)
    org_wide = connections.get((SALESFORCE.key, True))
    own = connections.get((SALESFORCE.key, False))
    return {
        "available": True,
        "lock_reason": organization.package_lock_reason(SALESFORCE.package),
        "configured": SALESFORCE.is_configured(),
        "not_configured_reason": SALESFORCE.not_configured_reason(),
        "org_wide": org_wide,
        "own": own,
        "warning": instance_warning(own, org_wide) if own and org_wide else None,
    }


MAIL_CARDS = (("google", "Google"), ("microsoft", "Microsoft"))


@register.simple_tag(takes_context=True)
def mail_connection_cards(context: template.Context) -> list[dict[str, Any]]:
    """The Google and Microsoft cards of Settings › Integrations (B3): the person's own connection
    (Connect / Disconnect) — or, when the organisation has an admin-managed connection of that
    provider, which apps the admin connected (and no Connect). When the organisation chose its
    email provider, only that provider's card shows (plus any other one already connected)."""
    request = _signed_in(context)
    if request is None:
        return []
    organization = request.user.organization
    connections = _user_connections(request)
    chosen = organization.email_provider
    cards = []
    for key, name in MAIL_CARDS:
        admin = connections.get((key, True))
        mine = connections.get((key, False))
        if chosen and key != chosen and admin is None and mine is None:
            continue
        provider = get_provider(key)
        assert provider is not None  # registered in IntegrationsConfig.ready
        # A person's own Google connection needs only the OAuth client, not the service account.
        oauth_configured = getattr(provider, "oauth_configured", provider.is_configured)
        cards.append(
            {
                "key": key,
                "name": name,
                "title": organization.get_email_provider_display() if key == chosen else name,
                "app_names": [app_name(key, app) for app in APPS],
                "lock_reason": organization.package_lock_reason(provider.package),
                "configured": oauth_configured(),
                "not_configured_reason": provider.not_configured_reason(),
                "admin": admin,
                "admin_apps": installed_app_names(admin),
                "own": mine,
                "own_apps": installed_app_names(mine),
                "connect_url": None if admin else reverse(f"integrations:{key}_connect_user"),
            }
        )
    return cards
