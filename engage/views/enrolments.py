"""Enrolling and enrolments (F4, issue 13 points 3, 6, 8): the Add to Salesflow dialog (from a
contact, a selection of the contacts list, or everyone matching the list's filters), the
background enrolment's progress, a flow's enrolments with their bulk and per-row actions (the
contact page's Salesflow card, fed by ``enrolment_selectors.contact_salesflow_history``, uses
the per-row ones too).

The dialog is a page that works without JavaScript; htmx loads it into a <dialog> on the
contacts pages. "Check" is a GET and writes nothing (``enrolment_check``); "Start" is a POST that
makes the plan again and starts only when it is still the plan the seller saw."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from copilot.templatetags.when import moment
from copilot.tenancy import member_required, org_object_or_404, scoped
from engage import selectors
from engage.forms.enrolment import BulkEnrolmentForm, EnrolForm, PauseForm
from engage.jobs import job_is_dead, job_is_stale
from engage.models import Contact, Enrolment, EnrolmentJob, Salesflow
from engage.salesflows import events
from engage.salesflows.access import flow_usable_by, flows_for
from engage.salesflows.enrolment import (
    ENROL_STALE_AFTER,
    WORKER_LOST,
    EnrolmentPlan,
    enrolment_check,
    enrolment_start,
)
from engage.salesflows.enrolment_selectors import (
    PLAN_NAMED,
    actable,
    flow_enrolments_page,
    job_refusals,
    may_act_on,
    plan_summary,
)
from engage.views.contacts import FILTER_PARAMS, filters_from

MAX_CHOSEN = 1_000  # contacts chosen one by one (the list's pages hold 50)
JobStatus = EnrolmentJob.Status


def _plural(n: int, word: str = "contact") -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _people(n: int) -> str:
    return f"{n:,} {'person' if n == 1 else 'people'}"


def _safe_next(request: HttpRequest, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Leave the dialog for ``url``: a whole-page visit when htmx asked."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- Who is being added -------------------------------------------------------------------------
@dataclass
class ContactSource:
    """The contacts the dialog is for: chosen one by one (``ids``) or every contact matching the
    contacts list's filters (``filter_params``), carried through the dialog's forms."""

    ids: list[int] = field(default_factory=list)
    everyone: bool = False
    filter_params: list[tuple[str, str]] = field(default_factory=list)
    queryset: QuerySet[Contact] | None = None
    named: list[Contact] = field(default_factory=list)
    count: int = 0

    @property
    def hidden(self) -> list[tuple[str, str]]:
        if self.everyone:
            return [("scope", "all"), *self.filter_params]
        return [("contact", str(i)) for i in self.ids]

    @property
    def query(self) -> str:
        return urlencode(self.hidden)

    @property
    def contacts(self) -> list[int] | QuerySet[Contact]:
        return self.queryset if self.everyone and self.queryset is not None else self.ids

    @property
    def label(self) -> str:
        if self.everyone:
            matching = " matching your filters" if self.filter_params else " in your organisation"
            return f"All {_plural(self.count)}{matching}"
        if len(self.named) == 1:
            contact = self.named[0]
            return f"{contact}" + (f" ({contact.email})" if contact.email and contact.full_name else "")
        return f"{_plural(self.count)} selected"


def _source(request: HttpRequest, data: QueryDict) -> ContactSource:
    """The contacts of ``data``; a contact id that is not the organisation's is a 404."""
    if data.get("scope") == "all":
        filters = filters_from(data, user_id=request.user.pk)
        queryset = selectors.contacts_filtered(organization=request.organization, filters=filters)
        params = [(k, data[k]) for k in FILTER_PARAMS if data.get(k) and k != "sort"]
        return ContactSource(everyone=True, filter_params=params, queryset=queryset, count=queryset.count())
    ids = list(dict.fromkeys(int(v) for v in data.getlist("contact") if v.isdigit()))[:MAX_CHOSEN]
    if not ids:
        return ContactSource()
    chosen = scoped(request, Contact).filter(pk__in=ids)
    if chosen.count() != len(ids):
        raise Http404("No such contact in your organisation.")
    found = list(chosen.order_by("last_name", "first_name", "pk")[:4])
    return ContactSource(ids=ids, named=found, count=len(ids))


def _default_next(source: ContactSource) -> str:
    if len(source.ids) == 1 and not source.everyone:
        return reverse("engage:contact_detail", args=[source.ids[0]])
    query = urlencode(source.filter_params)
    return reverse("engage:contacts") + (f"?{query}" if query else "")


def _guard_flow(request: HttpRequest, data: QueryDict) -> None:
    """A flow id that is not one the viewer sees (another organisation's, a teammate's private
    one) is a 404, as any other object of theirs would be."""
    value = data.get("flow", "")
    if value.isdigit() and not flows_for(request.user).filter(pk=int(value)).exists():
        raise Http404("No such Salesflow.")


def _check(request: HttpRequest, form: EnrolForm, source: ContactSource) -> EnrolmentPlan | None:
    """The plan for the valid ``form``, or None with the reason on the form."""
    data = form.cleaned_data
    try:
        return enrolment_check(
            data["flow"],
            source.contacts,
            sender=data["sender"],
            enrolled_by=request.user,
            start_at=data["start_at"],
        )
    except ValidationError as exc:
        form.add_error("start_at" if "start_at" in getattr(exc, "error_dict", {}) else "flow", exc.messages)
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or "You may not use this Salesflow.")
    return None


@member_required
def enrol(request: HttpRequest) -> HttpResponse:
    """The Add to Salesflow dialog. GET: the choices and, with ``check``, the plan (nothing
    written). POST: start, when the plan made again is still the one the seller saw."""
    data = request.POST if request.method == "POST" else request.GET
    source = _source(request, data)
    _guard_flow(request, data)
    next_url = _safe_next(request, data.get("next")) or _default_next(source)
    submitted = request.method == "POST" or "check" in data
    form = EnrolForm(data if submitted else None, user=request.user, initial={"flow": data.get("flow")})
    plan = summary = None
    error = ""
    if submitted and form.is_valid() and source.count:
        plan = _check(request, form, source)
        summary = plan_summary(plan) if plan else None
    if request.method == "POST" and summary is not None:
        if data.get("digest") != summary.digest:
            error = (
                "Something changed since you checked (a contact, the Salesflow or the sender). "
                "Here is the plan as it is now: look it over and start again."
            )
        else:
            try:
                started = enrolment_start(summary.plan, override_warnings=data.get("override") == "1")
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                return _started(request, summary.plan, started, next_url)
    context = {
        "form": form,
        "source": source,
        "summary": summary,
        "error": error,
        "next": next_url,
        "named_limit": PLAN_NAMED,
        "contacts_url": reverse("engage:contacts"),
    }
    template = (
        "engage/salesflows/enrolments/_dialog.html"
        if request.htmx
        else "engage/salesflows/enrolments/dialog.html"
    )
    return render(request, template, context)


def _started(request: HttpRequest, plan: EnrolmentPlan, started, next_url: str) -> HttpResponse:
    if started.job is not None:
        return _go(request, reverse("engage:salesflow_enrol_job", args=[started.job.pk]))
    count = len(started.enrolments)
    first_due = min((e.due_at for e in started.enrolments if e.due_at), default=None)
    sender = (
        ""
        if plan.sender.pk == request.user.pk
        else f" from {plan.sender.get_full_name() or plan.sender.email}'s mailbox"
    )
    when = f" The first step is due {moment(first_due)}." if first_due else ""
    messages.success(request, f"Added {_plural(count)} to “{plan.flow.name}”{sender}.{when}")
    return _go(request, next_url)


@member_required
def enrol_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """A background enrolment's progress; the block is polled while it runs and comes back
    without its polling trigger once it has finished."""
    job = org_object_or_404(request, EnrolmentJob.objects.select_related("flow", "sender"), pk=job_id)
    if not (flow_usable_by(job.flow, request.user) or job.enrolled_by_id == request.user.pk):
        raise Http404("No such enrolment.")
    running = (JobStatus.RUNNING,)
    # A job silent for longer than its task may run is shown stopped (the minute sweep records
    # it so; a page only reads); one whose worker just died is shown being taken over.
    stale = job_is_stale(job, running=running, after=ENROL_STALE_AFTER)
    finished = stale or job.status in (JobStatus.DONE, JobStatus.FAILED)
    context = {
        "job": job,
        "running": not finished,
        "stale": stale,
        "worker_lost": WORKER_LOST,
        "resuming": not finished and job_is_dead(job, running=running),
        "percent": int(100 * job.processed / job.total) if job.total else 0,
        "refusals": job_refusals(job) if finished else [],
    }
    if request.htmx and request.htmx.target == "enrol-progress":
        return render(request, "engage/salesflows/enrolments/_progress.html", context)
    return render(request, "engage/salesflows/enrolments/progress.html", context)


# --- A flow's enrolments ------------------------------------------------------------------------
STATE_TABS = [("", "All"), *Enrolment.State.choices]


@member_required
def flow_enrolments(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = get_object_or_404(flows_for(request.user), pk=flow_id)
    state = request.GET.get("state", "")
    state = state if state in Enrolment.State.values else ""
    page = flow_enrolments_page(
        flow=flow,
        viewer=request.user,
        state=state,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    here = request.get_full_path()
    return render(
        request,
        "engage/salesflows/enrolments/list.html",
        {
            "flow": flow,
            "page": page,
            "state": state,
            "state_query": urlencode({"state": state}) if state else "",
            "tabs": [(value, label, page.counts.get(value or "all", 0)) for value, label in STATE_TABS],
            "here": here,
            "contacts_url": reverse("engage:contacts"),
            "any_actable": any(row.can_act for row in page.rows),
        },
    )


def _back_to_flow(request: HttpRequest, flow: Salesflow) -> str:
    return _safe_next(request, request.POST.get("next")) or reverse(
        "engage:salesflow_enrolments", args=[flow.pk]
    )


@member_required
@require_POST
def flow_enrolments_bulk(request: HttpRequest, flow_id: int) -> HttpResponse:
    """Pause, resume or remove the selected enrolments (removing asks first). Only those the
    viewer may act on are changed; the rest are counted and said."""
    flow = get_object_or_404(flows_for(request.user), pk=flow_id)
    back = _back_to_flow(request, flow)
    form = BulkEnrolmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    action, ids = form.cleaned_data["action"], form.cleaned_data["ids"]
    chosen = Enrolment.objects.for_org(request.organization).filter(flow=flow, pk__in=ids)
    rows = list(actable(chosen, flow, request.user).select_related("contact").order_by("pk"))
    not_yours = len(ids) - len(rows)
    if action == "remove" and not form.cleaned_data["confirmed"]:
        live = [e for e in rows if e.is_live]
        return render(
            request,
            "engage/salesflows/enrolments/remove_confirm.html",
            {"flow": flow, "rows": live, "named": live[:PLAN_NAMED], "next": back, "not_yours": not_yours},
        )
    actor = request.user
    if action == "remove":
        changed = events.enrolments_exit(
            organization_id=request.organization.pk,
            enrolment_ids=[e.pk for e in rows],
            reason=Enrolment.ExitReason.REMOVED,
            actor=actor,
        )
        done = f"Removed {_people(changed)} from “{flow.name}”"
    else:
        wanted = Enrolment.State.ACTIVE if action == "pause" else Enrolment.State.PAUSED
        with transaction.atomic():  # all of them or none
            for enrolment in rows:
                if enrolment.state != wanted:
                    continue
                if action == "pause":
                    events.enrolment_pause(enrolment, actor=actor)
                else:
                    events.enrolment_resume(enrolment, actor=actor)
        changed = sum(1 for e in rows if e.state == wanted)
        verb = "Paused" if action == "pause" else "Resumed"
        done = f"{verb} {_people(changed)}"
    skipped = len(rows) - changed
    if skipped:
        state = {"pause": "not active", "resume": "not paused", "remove": "already out of it"}[action]
        done += f"; {skipped} {'was' if skipped == 1 else 'were'} {state}"
    if not_yours:
        done += (
            f"; {not_yours} left as they were: only the Salesflow's owner, an administrator, "
            "the sender or whoever added them may change them"
        )
    messages.success(request, done + ".")
    return redirect(back)


# --- One enrolment ------------------------------------------------------------------------------
def _enrolment(request: HttpRequest, enrolment_id: int) -> Enrolment:
    """The enrolment, if the viewer sees it (404 otherwise) and may act on it (403 otherwise)."""
    enrolment = org_object_or_404(
        request, Enrolment.objects.select_related("flow", "contact", "current_step"), pk=enrolment_id
    )
    acts = may_act_on(enrolment, enrolment.flow, request.user)
    if not (acts or flow_usable_by(enrolment.flow, request.user)):
        raise Http404("No such enrolment.")
    if not acts:
        raise PermissionDenied(
            "Only the Salesflow's owner, an administrator, the sender or whoever added them may change this."
        )
    return enrolment


def _back(request: HttpRequest, enrolment: Enrolment) -> str:
    return _safe_next(request, request.POST.get("next") or request.GET.get("next")) or reverse(
        "engage:salesflow_enrolments", args=[enrolment.flow_id]
    )


@member_required
@require_POST
def enrolment_pause(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    enrolment = _enrolment(request, enrolment_id)
    form = PauseForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("until", [])))
    elif enrolment.state != Enrolment.State.ACTIVE:
        messages.info(
            request, f"{enrolment.contact} is not active in “{enrolment.flow.name}”: nothing to pause."
        )
    else:
        until = form.cleaned_data["until"]
        try:
            events.enrolment_pause(enrolment, until=until, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            then = f" until {moment(until)}" if until else ""
            messages.success(request, f"Paused {enrolment.contact} in “{enrolment.flow.name}”{then}.")
    return redirect(_back(request, enrolment))


@member_required
@require_POST
def enrolment_resume(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    enrolment = _enrolment(request, enrolment_id)
    if enrolment.state != Enrolment.State.PAUSED:
        messages.info(request, f"{enrolment.contact} is not paused in “{enrolment.flow.name}”.")
    else:
        enrolment = events.enrolment_resume(enrolment, actor=request.user)
        due = f" The next step is due {moment(enrolment.due_at)}." if enrolment.due_at else ""
        messages.success(request, f"Resumed {enrolment.contact} in “{enrolment.flow.name}”.{due}")
    return redirect(_back(request, enrolment))


@member_required
@require_POST
def enrolment_skip(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    enrolment = _enrolment(request, enrolment_id)
    step = enrolment.current_step
    if not enrolment.is_live or step is None:
        messages.info(request, f"{enrolment.contact} has no step to skip in “{enrolment.flow.name}”.")
        return redirect(_back(request, enrolment))
    wanted = request.POST.get("step", "")
    if wanted and wanted != str(step.pk):  # a second click, or a page shown before the step moved on
        messages.info(
            request,
            f"Step {step.position} is already the next step for {enrolment.contact}: nothing skipped.",
        )
        return redirect(_back(request, enrolment))
    enrolment = events.enrolment_skip_step(enrolment, actor=request.user)
    after = (
        f" Next: step {enrolment.current_step.position}."
        if enrolment.current_step is not None
        else " That was the last step: they have finished the Salesflow."
    )
    messages.success(request, f"Skipped step {step.position} for {enrolment.contact}.{after}")
    return redirect(_back(request, enrolment))


@member_required
def enrolment_remove(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    """GET asks first (the page without JavaScript); POST takes the contact out of the flow."""
    enrolment = _enrolment(request, enrolment_id)
    back = _back(request, enrolment)
    if request.method != "POST":
        return render(
            request, "engage/salesflows/enrolments/remove_one.html", {"enrolment": enrolment, "next": back}
        )
    if enrolment.is_live:
        events.enrolment_remove(enrolment, actor=request.user)
        messages.success(request, f"Removed {enrolment.contact} from “{enrolment.flow.name}”.")
    else:
        messages.info(request, f"{enrolment.contact} is no longer in “{enrolment.flow.name}”.")
    return redirect(back)
