"""The seller's Actions queue (F4): the Salesflow calls, tasks and manual emails waiting for them.

The page only reads (``engage.salesflows.actions``); each control POSTs to one service of that
module and comes back to the page it was used on (the queue with its filters, or Today) with a
message saying what happened — or that nothing did, when the step had been done already (a
double submit, a second tab). An action is found only among the signed-in seller's own
enrolments in their organisation: anyone else's id answers 404.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from copilot.templatetags.when import moment
from copilot.tenancy import member_required
from engage.context_processors import request_action_counts
from engage.forms.actions import ActionForm, CallLogForm, ManualEmailForm, SnoozeForm
from engage.models import CallLog, Enrolment
from engage.models.salesflows import StepKind
from engage.salesflows import actions as queue
from engage.services.email import EmailNotSent, email_unavailable_reason
from engage.signatures import signature_html


def _back(request: HttpRequest) -> str:
    """Where a control was used (``next``, posted or in the link: a page of this site), else the
    queue."""
    url = (request.POST if request.method == "POST" else request.GET).get("next", "")
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


RESULT_OPTIONS = format_html_join(
    "", '<option value="{}">{}</option>', [("", "Choose…"), *CallLog.Result.choices]
)


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
    counts = request_action_counts(request)
    # Those needing attention head the first page (one more query, only when there are some).
    attention = (
        queue.attention_rows(user=user, now=now)
        if counts.attention and page.is_first and filters.shows_attention
        else []
    )
    tomorrow = timezone.localtime(queue.snooze_tomorrow(user, now=now))
    here = request.get_full_path()
    return {
        "page": page,
        "filters": filters,
        "counts": counts,
        "attention": attention,
        "attention_more": counts.attention > len(attention),
        "kinds": list(queue.KIND_FILTERS.items()),
        "whens": list(queue.WHENS.items()),
        "snooze_tomorrow": tomorrow,
        "snooze_min": tomorrow.date().isoformat(),
        "here": here,
        # What every row's forms repeat, built once: a page has about a hundred forms.
        "hidden": format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}"><input type="hidden" name="next" value="{}">',
            get_token(request),
            here,
        ),
        "result_options": RESULT_OPTIONS,
        "urls": {
            "contacts": reverse("engage:contacts"),
            "accounts": reverse("engage:accounts"),
            "actions": reverse("engage:actions"),
            "call": reverse("engage:action_call"),
            "done": reverse("engage:action_done"),
            "skip": reverse("engage:action_skip"),
            "snooze": reverse("engage:action_snooze"),
            "retry": reverse("engage:action_retry"),
            "remove": reverse("engage:action_remove"),
        },
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
ALREADY_HANDLED = (
    "This was already tried again, skipped or removed (another tab, or a second click): nothing changed."
)
RETRY_SOON = timedelta(minutes=1)  # the send run's beat


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
def action_retry(request: HttpRequest) -> HttpResponse:
    """Try an email needing attention again (after the contact was fixed): the next send run makes
    it afresh and sends it, or it comes back naming what is still missing."""
    form = ActionForm(request.POST)
    enrolment = _target(request, form)
    now = timezone.now()
    result = queue.action_retry(enrolment, actor=request.user, step_id=form.cleaned_data["step"], now=now)
    if not result.done:
        messages.info(request, ALREADY_HANDLED)
        return redirect(_back(request))
    due = result.enrolment.due_at
    when = (
        "within a minute"
        if due is None or due <= now + RETRY_SOON
        else f"at {moment(due)}, when sending hours open"
    )
    messages.success(
        request,
        f"The email to {enrolment.contact} will be tried again {when}. "
        "If something is still missing it comes back here, saying what.",
    )
    return redirect(_back(request))


@member_required
@require_POST
def action_remove(request: HttpRequest) -> HttpResponse:
    """Take the contact out of the Salesflow (asked first in the page)."""
    form = ActionForm(request.POST)
    enrolment = _target(request, form)
    result = queue.action_remove(enrolment, actor=request.user, step_id=form.cleaned_data["step"])
    if result.done:
        messages.success(request, f"Removed {enrolment.contact} from “{enrolment.flow.name}”.")
    else:
        messages.info(request, ALREADY_HANDLED)
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


@member_required
def action_email(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    """Write the manual email of a step: the composer opens with the step filled for the contact;
    sending goes through the Salesflow send path and the flow moves on. Bad input, a field the
    contact has no value for, or a mailbox that cannot send come back with everything typed."""
    user = request.user
    enrolment = queue.action_of(user=user, enrolment_id=enrolment_id)
    if enrolment is None:
        raise Http404("No such action.")
    step = enrolment.current_step
    due = (
        enrolment.state == Enrolment.State.ACTIVE and step is not None and step.kind == StepKind.MANUAL_EMAIL
    )
    back = _back(request)
    if request.method == "POST":
        form = ManualEmailForm(request.POST)
        if form.is_valid() and (not due or form.cleaned_data["step"] != step.pk):
            messages.info(request, ALREADY)
            return redirect(back)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = queue.action_send_email(
                    enrolment,
                    actor=user,
                    step_id=data["step"],
                    subject=data["subject"],
                    html=data["body_html"],
                )
            except EmailNotSent as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                form.add_error(None, exc)  # by field when it names them
            else:
                if result.done:
                    messages.success(request, _moved_on(result, f"Email to {enrolment.contact} sent."))
                else:
                    messages.info(request, ALREADY)
                return redirect(back)
        draft = None
    elif due:
        draft = queue.email_draft(enrolment)
        form = ManualEmailForm(initial={"step": step.pk, "subject": draft.subject, "body_html": draft.html})
    else:
        draft, form = None, None
    return render(
        request,
        "engage/actions/email.html",
        {
            "enrolment": enrolment,
            "step": step,
            "due": due,
            "form": form,
            "draft": draft,
            "signature": draft.signature if draft else signature_html(user),
            "signature_tag": queue.SIGNATURE_TAG,
            "unavailable": "" if form is None or form.is_bound else email_unavailable_reason(user=user),
            "next": back,
        },
    )
