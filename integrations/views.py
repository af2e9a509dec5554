"""Admin Portal › Integrations: the catalog, the Connected tab, and governing each mail/calendar
app (toggle, disconnect, "Manage users' sync data", retrying a failed mailbox); a person's own
Google/Microsoft disconnect from Settings › Integrations.

Provider-specific pages (connect, callback, details) live in each provider's ``views.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from copilot.models import Organization
from copilot.tenancy import admin_required, member_required, org_object_or_404
from integrations import governance, selectors, services
from integrations.base import get_provider, user_connections_url
from integrations.models import Connection, ConnectionApp, Provider, SyncState
from integrations.records import APP_OF_KIND, APPS, KINDS, kinds_of_app
from integrations.salesforce.provider import SALESFORCE
from integrations.sync import states as sync_states
from integrations.sync.health import apps_health


@dataclass(frozen=True)
class Tile:
    key: str  # "gmail", "google_calendar", "outlook", "microsoft_calendar", "salesforce"
    name: str
    description: str
    provider: str
    app: str  # "email" | "calendar"; "" for a CRM
    package: str
    keywords: str = ""  # more words the search matches

    @property
    def search_text(self) -> str:
        return f"{self.name} {self.description} {self.keywords}".lower()


TILES = (
    Tile(
        "gmail",
        "Gmail",
        "Your team's Gmail threads with customers on the activity timeline, and sending from Cadence.",
        Provider.GOOGLE,
        "email",
        "copilot",
        "google workspace email mail",
    ),
    Tile(
        "google_calendar",
        "Google Calendar",
        "Meetings with customers on the activity timeline, with join links; address books as people.",
        Provider.GOOGLE,
        "calendar",
        "copilot",
        "google workspace calendar meetings contacts",
    ),
    Tile(
        "outlook",
        "Microsoft Outlook",
        "Your team's Outlook mail with customers on the activity timeline, and sending from Cadence.",
        Provider.MICROSOFT,
        "email",
        "copilot",
        "microsoft 365 office email mail exchange",
    ),
    Tile(
        "microsoft_calendar",
        "Microsoft Calendar",
        "Outlook meetings with customers on the activity timeline, with join links; address books as people.",
        Provider.MICROSOFT,
        "calendar",
        "copilot",
        "microsoft 365 office outlook calendar meetings contacts",
    ),
    Tile(
        SALESFORCE.key,
        SALESFORCE.name,
        SALESFORCE.description,
        Provider.SALESFORCE,
        "",
        SALESFORCE.package,
        "crm leads contacts accounts",
    ),
)


def _matches(tile: Tile, q: str) -> bool:
    return all(word in tile.search_text for word in q.lower().split())


def _tile_context(organization: Organization, tile: Tile, org_wide: dict[str, Connection]) -> dict[str, Any]:
    provider = get_provider(tile.provider)
    assert provider is not None  # every tile's provider is registered in IntegrationsConfig.ready
    connection = org_wide.get(tile.provider)
    context: dict[str, Any] = {
        "tile": tile,
        "lock_reason": organization.package_lock_reason(tile.package),
        "connection": connection,
        "configured": provider.is_configured(),
        "not_configured_reason": provider.not_configured_reason(),
    }
    if tile.provider == Provider.SALESFORCE:
        context["user_connections"] = list(selectors.user_connections(organization, tile.key))
        return context
    app_row = None
    if connection is not None:
        app_row = next((row for row in connection.apps.all() if row.app == tile.app and row.installed), None)
    context.update(
        app_row=app_row,
        connect_url=reverse(f"integrations:{tile.provider}_connect") + f"?app={tile.app}",
    )
    return context


@admin_required
def catalog(request: HttpRequest) -> HttpResponse:
    """All integrations (searchable: ``?q=``, filtered at once in the browser too) or the
    Connected tab (``?tab=connected``) with each connection's health and actions."""
    organization = request.organization
    tab = "connected" if request.GET.get("tab") == "connected" else "all"
    q = request.GET.get("q", "").strip()[:100]
    org_wide = selectors.org_connections(organization)
    context: dict[str, Any] = {"tab": tab, "q": q}
    if tab == "all":
        context["tiles"] = [
            _tile_context(organization, tile, org_wide) for tile in TILES if _matches(tile, q)
        ]
    else:
        context.update(_connected_context(organization, org_wide))
    return render(request, "integrations/catalog.html", context)


def _connected_context(organization: Organization, org_wide: dict[str, Connection]) -> dict[str, Any]:
    mail_connections = [org_wide[p] for p in selectors.MAIL_PROVIDERS if p in org_wide]
    own_mail = list(
        selectors.user_connections(organization, *selectors.MAIL_PROVIDERS).prefetch_related("apps")
    )
    health = apps_health([*mail_connections, *own_mail])
    rows = []
    for connection in mail_connections:
        for app_row in selectors.installed_apps(connection):
            rows.append(
                {
                    "connection": connection,
                    "app_row": app_row,
                    "name": selectors.app_name(connection.provider, app_row.app),
                    "health": health.get((connection.pk, app_row.app)),
                    "scope": (connection.details or {}).get("scope") or {},
                }
            )
    own_rows = [
        {
            "connection": connection,
            "apps": ", ".join(selectors.installed_app_names(connection)),
            "health": [health[(connection.pk, app)] for app in APPS if (connection.pk, app) in health],
        }
        for connection in own_mail
    ]
    return {"rows": rows, "salesforce": org_wide.get(Provider.SALESFORCE), "own_rows": own_rows}


# --- One app: toggle, disconnect -----------------------------------------------------------------
def _app_or_404(request: HttpRequest, connection_app_id: int) -> ConnectionApp:
    return org_object_or_404(
        request,
        ConnectionApp.objects.select_related("connection__organization").filter(
            connection__scope=Connection.Scope.ORGANIZATION, connection__provider__in=selectors.MAIL_PROVIDERS
        ),
        pk=connection_app_id,
    )


def _app_context(app_row: ConnectionApp) -> dict[str, Any]:
    connection = app_row.connection
    return {
        "app_row": app_row,
        "connection": connection,
        "name": selectors.app_name(connection.provider, app_row.app),
        "provider_name": connection.get_provider_display(),
        "is_email": app_row.app == ConnectionApp.App.EMAIL,
    }


def _back_to_connected() -> HttpResponse:
    return redirect(reverse("integrations:catalog") + "?tab=connected")


@admin_required
def app_toggle(request: HttpRequest, connection_app_id: int) -> HttpResponse:
    """Confirmation with the warning (B5), then the toggle. ``enabled`` ("on"/"off") is the new state."""
    app_row = _app_or_404(request, connection_app_id)
    if not app_row.installed:
        messages.error(request, "This app is disconnected: connect it again first.")
        return _back_to_connected()
    wanted = request.POST.get("enabled", request.GET.get("enabled", ""))
    enable = (not app_row.enabled) if wanted not in ("on", "off") else wanted == "on"
    context = _app_context(app_row)
    if request.method == "POST":
        governance.app_toggle(connection_app=app_row, enabled=enable, actor=request.user)
        if enable:
            messages.success(request, f"{context['name']} is ON: every user is included in sync again.")
        else:
            messages.success(request, f"{context['name']} is OFF: syncing has stopped.")
        return _back_to_connected()
    context.update(
        enable=enable,
        opt_outs=app_row.connection.opt_outs.filter(app=app_row.app).count() if enable else 0,
    )
    return render(request, "integrations/app_toggle.html", context)


@admin_required
def app_disconnect(request: HttpRequest, connection_app_id: int) -> HttpResponse:
    """Confirmation saying exactly what stops (B6), then the disconnect."""
    app_row = _app_or_404(request, connection_app_id)
    context = _app_context(app_row)
    if request.method == "POST":
        if app_row.installed:
            governance.app_disconnect(connection_app=app_row, actor=request.user)
        messages.success(request, f"{context['name']} is disconnected.")
        return _back_to_connected()
    context["last_app"] = (
        not ConnectionApp.objects.filter(connection=app_row.connection, installed=True)
        .exclude(pk=app_row.pk)
        .exists()
    )
    return render(request, "integrations/app_disconnect.html", context)


# --- Manage users' sync data ---------------------------------------------------------------------
@admin_required
def manage_users(request: HttpRequest, connection_app_id: int) -> HttpResponse:
    """Every org user with a checkbox (synced / opted out), why they are not synced, and their
    mailbox's state; "Save changes" writes the opt-outs (B4)."""
    app_row = _app_or_404(request, connection_app_id)
    connection = app_row.connection
    rows = selectors.eligibility(connection=connection, app=app_row.app, app_row=app_row)
    if request.method == "POST":
        synced = {int(pk) for pk in request.POST.getlist("synced") if pk.isdigit()}
        opted_out = [row.user.pk for row in rows if row.user.pk not in synced]
        governance.opt_outs_set(
            connection=connection, app=app_row.app, opted_out_user_ids=opted_out, actor=request.user
        )
        messages.success(request, "Sync settings saved.")
        return redirect("integrations:manage_users", connection_app_id=app_row.pk)
    states = selectors.mailbox_states(connection, kinds_of_app(app_row.app))
    context = _app_context(app_row)
    context.update(
        rows=[
            {
                "user": row.user,
                "syncing": row.syncing,
                "reason": row.reason,
                "opted_out": row.opted_out,
                "states": states.get(row.user.pk, []),
            }
            for row in rows
        ],
        scope=(connection.details or {}).get("scope") or {},
        syncing_count=sum(1 for row in rows if row.syncing),
    )
    return render(request, "integrations/manage_users.html", context)


@admin_required
@require_POST
def mailbox_retry(request: HttpRequest, sync_state_id: int) -> HttpResponse:
    """ "Retry now" for a failed mailbox: clears its backoff and runs it at once."""
    state = org_object_or_404(
        request, SyncState.objects.select_related("connection").filter(kind__in=KINDS), pk=sync_state_id
    )
    sync_states.sync_state_retry_now(sync_state=state, actor=request.user)
    messages.success(request, f"A new sync of {state.object_name.split(':', 1)[-1]} has started.")
    app_row = None
    if state.connection.is_org_wide:
        app_row = selectors.app_row(state.connection, APP_OF_KIND[state.kind])
    if app_row is None:
        return _back_to_connected()
    return redirect("integrations:manage_users", connection_app_id=app_row.pk)


# --- Whole connections ---------------------------------------------------------------------------
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


@member_required
def own_disconnect(request: HttpRequest) -> HttpResponse:
    """A person disconnects their own Google or Microsoft connection (both apps, B3):
    confirmation page (GET ``?provider=``), then POST."""
    provider = request.POST.get("provider") or request.GET.get("provider", "")
    connection = None
    if provider in selectors.MAIL_PROVIDERS:
        connection = selectors.user_connection(request.user, provider)
    if connection is None or connection.status == Connection.Status.DISCONNECTED:
        messages.info(request, "You have no connection of your own to disconnect there.")
        return redirect(user_connections_url())
    if request.method == "POST":
        services.connection_disconnect(connection=connection, actor=request.user)
        messages.success(
            request,
            f"Your {connection.get_provider_display()} mailbox and calendar are disconnected and "
            "Cadence's access is revoked.",
        )
        return redirect(user_connections_url())
    return render(
        request,
        "integrations/own_disconnect.html",
        {
            "connection": connection,
            "apps": selectors.installed_app_names(connection),
        },
    )
