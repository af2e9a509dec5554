"""Admin Portal › CRM › Poll historical data (G6): how many records match the sync rule, "Poll
now" (after a confirmation), the live progress (htmx polls the status block every second, as
the CSV import does), Cancel, and the summary with the reasons of records that failed."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from copilot.tenancy import admin_required, org_object_or_404
from engage.crm import pages
from engage.models import CrmPoll
from engage.services.crm import configuration as crm_services
from engage.services.crm import poll as poll_services
from engage.views.crm import crm_connection, crm_page

OBJECT_LABELS = pages.OBJECT_LABELS


def _object_or_404(sobject: str) -> str:
    if sobject not in poll_services.POLL_OBJECTS:
        raise Http404("Cadence polls Leads and Contacts only.")
    return sobject


def _status_context(poll: CrmPoll) -> dict:
    return {"poll": poll, "object_label": OBJECT_LABELS[poll.sobject]}


@admin_required
def crm_poll(request: HttpRequest, sobject: str) -> HttpResponse:
    _object_or_404(sobject)
    organization = request.organization
    if request.method == "POST":
        try:
            poll = poll_services.poll_start(organization=organization, sobject=sobject, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            resumed = getattr(poll, "resume_message", "")
            messages.success(
                request, resumed or f"Polling {OBJECT_LABELS[sobject]}: the progress shows below."
            )
        return redirect("engage:crm_poll", sobject=sobject)

    connection = crm_connection(request)
    latest = poll_services.poll_latest(organization=organization, sobject=sobject)
    if latest is not None:
        poll_services.poll_for_page(poll=latest)
    count, problem = None, ""
    if connection is not None and (latest is None or not latest.active):
        count, problem = poll_services.poll_matching_count(organization=organization, sobject=sobject)
    return crm_page(
        request,
        "engage/portal/crm/poll.html",
        f"poll-{sobject}",
        sobject=sobject,
        object_label=OBJECT_LABELS[sobject],
        singular=sobject.lower(),
        count=count,
        problem=problem,
        confirm=request.GET.get("confirm") == "1" and bool(count),
        has_rule=bool(crm_services.rule_for(organization=organization, sobject=sobject).conditions),
        poll=latest,
    )


@admin_required
def crm_poll_progress(request: HttpRequest, poll_id: int) -> HttpResponse:
    """htmx: the status block alone; without its polling trigger once the poll has finished."""
    poll = org_object_or_404(request, CrmPoll.objects.select_related("started_by"), pk=poll_id)
    poll_services.poll_for_page(poll=poll)
    return render(request, "engage/portal/crm/_poll_status.html", _status_context(poll))


@admin_required
@require_POST
def crm_poll_cancel(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = org_object_or_404(request, CrmPoll, pk=poll_id)
    poll = poll_services.poll_cancel(poll=poll, actor=request.user)
    if request.headers.get("HX-Request"):
        return render(request, "engage/portal/crm/_poll_status.html", _status_context(poll))
    if poll.status == CrmPoll.Status.CANCELLED:
        messages.info(request, "The poll is cancelled.")
    elif poll.active:
        messages.info(request, "Cancelling: the poll stops after the page it is on.")
    else:
        messages.info(request, "The poll had already finished.")
    return redirect("engage:crm_poll", sobject=poll.sobject)
