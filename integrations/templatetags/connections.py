"""``{% load connections %}``: the seller's view of their connections, for Settings › Connections
(engage's template includes it without importing integrations' views)."""

from __future__ import annotations

from typing import Any

from django import template

from integrations.models import Connection
from integrations.salesforce.provider import SALESFORCE
from integrations.selectors import connections_of, instance_warning

register = template.Library()


@register.simple_tag(takes_context=True)
def salesforce_connection_card(context: template.Context) -> dict[str, Any]:
    """What the Salesforce card shows the signed-in person: the organisation's connection, their
    own, whether they may connect, and the different-instance warning."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.organization_id is None:
        return {"available": False}
    organization = user.organization
    org_wide, own = connections_of(user, SALESFORCE.key)
    if org_wide is not None and org_wide.status == Connection.Status.DISCONNECTED:
        org_wide = None
    if own is not None and own.status == Connection.Status.DISCONNECTED:
        own = None
    return {
        "available": True,
        "lock_reason": organization.package_lock_reason(SALESFORCE.package),
        "configured": SALESFORCE.is_configured(),
        "not_configured_reason": SALESFORCE.not_configured_reason(),
        "org_wide": org_wide,
        "own": own,
        "warning": instance_warning(own, org_wide) if own and org_wide else None,
    }
