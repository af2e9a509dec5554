"""Values the workspace shell shows on every page: the number of the seller's due actions beside
"Actions" in the navigation (``action_counts.due``).

The counts are read lazily — only a page that shows them runs the query (one query: see
``engage.salesflows.actions.action_counts``) — and once per request: the Actions and Today pages
read them through ``request_action_counts`` and the navigation reuses what they read."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from copilot.tenancy import current_org
from engage.salesflows.actions import ActionCounts, action_counts

_CACHE = "_cadence_action_counts"


def request_action_counts(request: HttpRequest) -> ActionCounts:
    """The signed-in seller's action counts (none for a visitor, a user without an organisation,
    or an organisation without the Sales engagement package), read once per request."""
    counts = getattr(request, _CACHE, None)
    if counts is None:
        user = getattr(request, "user", None)
        organization = current_org(request)
        if (
            user is None
            or not user.is_authenticated
            or organization is None
            or not organization.has_package("engage")
        ):
            counts = ActionCounts()
        else:
            counts = action_counts(user=user)
        setattr(request, _CACHE, counts)
    return counts


def actions(request: HttpRequest) -> dict:
    return {"action_counts": SimpleLazyObject(lambda: request_action_counts(request))}
