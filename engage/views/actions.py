"""The seller's Actions queue (F4): the Salesflow calls, tasks and manual emails waiting for them.

The page only reads (``engage.salesflows.actions``); each control POSTs to one service of that
module and comes back to the page it was used on (the queue with its filters, or Today) with a
message saying what happened — or that nothing did, when the step had been done already (a
double submit, a second tab). An action is found only among the signed-in seller's own
enrolments in their organisation: anyone else's id answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from copilot.templatetags.when import moment
from copilot.tenancy import member_required
from engage.context_processors import request_action_counts
from engage.forms.actions import ActionForm, CallLogForm, SnoozeForm
from engage.models import CallLog, Enrolment
from engage.salesflows import actions as queue


def _back(request: HttpRequest) -> str:
    """Where a control was used (``next``: a page of this site), else the queue."""
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("engage:actions")


def _target(request: HttpRequest, form: ActionForm) -> Enrolment:
    """The seller's own enrolment the form names (404 for anyone else's, or none)."""
    if not form.is_valid() and ("enrolment" in form.errors or "step" in form.errors):
        raise Http404("No such action.")
    enrolment = queue.action_of(user=request.user, enrolment_id=form.cleaned_data.get("enrolment"))
    if enrolment is None:
        raise Http404("No such action.")
    return enrolment


def _page_context(request: HttpRequest) -> dict:
    user = request.user
    now = timezone.now()
    filters = queue.ActionFilters.from_params(request.GET)
    page = queue.action_page(
        user=user,
        filters=filters,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        now=now,
    )
    tomorrow = timezone.localtime(queue.snooze_tomorrow(user, now=now))
    return {
        "page": page,
        "filters": filters,
        "counts": request_action_counts(request),
        "kinds": list(queue.KIND_FILTERS.items()),
        "whens": list(queue.WHENS.items()),
        "results": CallLog.Result.choices,
        "snooze_tomorrow": tomorrow,
        "snooze_min": tomorrow.date().isoformat(),
        "here": request.get_full_path(),
    }


@member_required
def actions(request: HttpRequest) -> HttpResponse:
    """The queue: overdue first, then today, then upcoming; filtered by kind and by when."""
    return render(request, "engage/actions/list.html", _page_context(request))


def _moved_on(result: queue.ActionResult, what: str) -> str:
    enrolment = result.enrolment
    contact = enrolment.contact
    if result.finished:
        return f"{what} That was the last step: {contact} has finished {enrolment.flow}."
    step = enrolment.current_step
    if enrolment.state != Enrolment.State.ACTIVE or step is None:
        return what
    return f"{what} Next for {contact}: step {step.position}, {step.get_kind_display().lower()}, due {moment(enrolment.due_at)}."


ALREADY = "This step was already done, skipped or snoozed (another tab, or a second click): nothing changed."


@member_required
@require_POST
def action_call(request: HttpRequest) -> HttpResponse:
    """Log the call of a call step; the flow moves on. Bad input comes back on its own page."""
    form = CallLogForm(request.POST)
    enrolment = _target(request, form)
    if not form.is_valid():
        return render(
            request,
            "engage/actions/call.html",
            {"form": form, "enrolment": enrolment, "next": _back(request)},
        )
    data = form.cleaned_data
    try:
        result = queue.action_complete_call(
            enrolment,
            actor=request.user,
            step_id=data["step"],
            subject=data["subject"],
            result=data["result"],
            comments=data["comments"],
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return render(
            request,
            "engage/actions/call.html",
            {"form": form, "enrolment": enrolment, "next": _back(request)},
        )
    if result.done:
        messages.success(request, _moved_on(result, f"Call with {enrolment.contact} logged."))
    else:
        messages.info(request, ALREADY)
    return redirect(_back(request))


@member_required
@require_POST
def action_done(request: HttpRequest) -> HttpResponse:
    """Mark a task done; the flow moves on."""
    form = ActionForm(request.POST)
    enrolment = _target(request, form)
    result = queue.action_complete_task(enrolment, actor=request.user, step_id=form.cleaned_data["step"])
    if result.done:
        messages.success(request, _moved_on(result, f"Task for {enrolment.contact} done."))
    else:
        messages.info(request, ALREADY)
    return redirect(_back(request))


@member_required
@require_POST
def action_skip(request: HttpRequest) -> HttpResponse:
    """Skip a step without doing it; the flow moves on."""
    form = ActionForm(request.POST)
    enrolment = _target(request, form)
    result = queue.action_skip(enrolment, actor=request.user, step_id=form.cleaned_data["step"])
    if result.done:
        messages.success(request, _moved_on(result, f"Step skipped for {enrolment.contact}."))
    else:
        messages.info(request, ALREADY)
    return redirect(_back(request))


@member_required
@require_POST
def action_snooze(request: HttpRequest) -> HttpResponse:
    """Put an action off until tomorrow morning or a chosen day (9:00 in the seller's zone)."""
    user = request.user
    now = timezone.now()
    form = SnoozeForm(request.POST, today=now.astimezone(queue.seller_zone(user)).date())
    enrolment = _target(request, form)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("until", ["Choose a day after today."])))
        return redirect(_back(request))
    until = queue.snooze_moment(user, form.cleaned_data["until"])
    result = queue.action_snooze(
        enrolment, actor=user, step_id=form.cleaned_data["step"], until=until, now=now
    )
    if result.done:
        messages.success(
            request, f"Snoozed until {moment(until)}: the action for {enrolment.contact} comes back then."
        )
    else:
        messages.info(request, ALREADY)
    return redirect(_back(request))
