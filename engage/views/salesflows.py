"""Salesflow pages (F4, issue 13 points 1, 2 and 8): the list of flows, the flow builder (steps on
a timeline of days, each step's editor with merge fields and templates, reorder by keyboard and
by drag, delete, preview, the flow's settings and archiving) and the template library.

Every write goes through ``engage.salesflows.builder`` on POST; GETs only read. Rows are found
with ``org_object_or_404`` (another organisation's id is a 404) and then ``access.py`` decides:
a flow the viewer may not see is a 404 too, one they may see but not change is shown read-only
and its writes answer 403. A service's ``ValidationError`` is shown on the form's fields with
what the seller typed kept."""

from __future__ import annotations

import html as html_lib
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from copilot.tenancy import member_required, org_object_or_404
from copilot.views.helpers import apply_validation_error
from engage.forms.salesflows import (
    FlowCreateForm,
    FlowSettingsForm,
    SaveAsTemplateForm,
    StepForm,
    TemplateForm,
    sanitize_email_html,
)
from engage.models import Enrolment, Salesflow, SalesflowStep, SalesflowTemplate
from engage.models.salesflows import EMAIL_KINDS, StepKind
from engage.salesflows import builder, merge
from engage.salesflows import selectors as flow_selectors
from engage.salesflows.access import flow_editable_by, flow_usable_by, template_editable_by
from engage.salesflows.builder import NO_PREVIOUS_EMAIL, StepContent

FLOW_PARAMS = ("scope", "state", "q")
STEP_FIELDS = StepContent.FIELDS


# --- Lookups ------------------------------------------------------------------------------------
def _flow(request: HttpRequest, flow_id: int) -> Salesflow:
    """The flow, if the viewer may see it (its owner, anyone for a team flow, an administrator)."""
    flow = org_object_or_404(request, Salesflow.objects.select_related("owner"), pk=flow_id)
    if not (flow_usable_by(flow, request.user) or flow_editable_by(flow, request.user)):
        raise Http404("No such Salesflow.")
    return flow


def _step(request: HttpRequest, step_id: int) -> SalesflowStep:
    step = org_object_or_404(
        request,
        SalesflowStep.objects.select_related("flow__owner"),
        pk=step_id,
        deleted_at__isnull=True,
    )
    flow = step.flow
    if not (flow_usable_by(flow, request.user) or flow_editable_by(flow, request.user)):
        raise Http404("No such step.")
    return step


def _editable(flow: Salesflow, request: HttpRequest) -> bool:
    return flow.archived_at is None and flow_editable_by(flow, request.user)


def _check_editable(flow: Salesflow, request: HttpRequest) -> None:
    if not flow_editable_by(flow, request.user):
        raise PermissionDenied("Only the Salesflow's owner or an administrator may change it.")


def _template(request: HttpRequest, template_id: int) -> SalesflowTemplate:
    template = org_object_or_404(request, SalesflowTemplate.objects.select_related("owner"), pk=template_id)
    user = request.user
    if template.owner_id != user.pk and template.shared != SalesflowTemplate.Sharing.TEAM:
        raise Http404("No such template.")
    return template


def _builder_url(flow: Salesflow, step: SalesflowStep | None = None) -> str:
    url = reverse("engage:salesflow_detail", args=[flow.pk])
    return f"{url}#step-{step.pk}" if step else url


def _enrolments_url(flow: Salesflow) -> str:
    """The flow's enrolments page, once it exists (another part of the feature builds it)."""
    try:
        return reverse("engage:salesflow_enrolments", args=[flow.pk])
    except NoReverseMatch:
        return ""


def _who(user: Any) -> str:
    if user is None:
        return "nobody (a former member)"
    return user.get_full_name() or user.email


# --- The list -----------------------------------------------------------------------------------
def _flow_filters(query: QueryDict) -> flow_selectors.FlowFilters:
    scope = query.get("scope", "")
    state = query.get("state", "")
    return flow_selectors.FlowFilters(
        scope=scope if scope in dict(flow_selectors.SCOPES) else "mine",
        state=state if state in dict(flow_selectors.STATES) else "active",
        q=query.get("q", "").strip()[:100],
    )


def _query(query: QueryDict, names: tuple[str, ...], **changes: str) -> str:
    values = {k: query[k] for k in names if query.get(k)}
    values.update({k: v for k, v in changes.items() if v})
    for k in [k for k, v in changes.items() if not v]:
        values.pop(k, None)
    return urlencode(values)


@member_required
@require_GET
def salesflow_list(request: HttpRequest) -> HttpResponse:
    filters = _flow_filters(request.GET)
    page = flow_selectors.flow_list_page(
        viewer=request.user,
        filters=filters,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    context = {
        "page": page,
        "filters": filters,
        "scopes": [
            (value, label, _query(request.GET, ("state", "q"), scope=value))
            for value, label in flow_selectors.SCOPES
        ],
        "states": flow_selectors.STATES,
        "filter_query": _query(request.GET, FLOW_PARAMS),
        "flows_url": reverse("engage:salesflows"),
    }
    template = (
        "engage/salesflows/_list_results.html"
        if request.htmx and request.htmx.target == "results"
        else "engage/salesflows/list.html"
    )
    return render(request, template, context)


@member_required
def salesflow_create(request: HttpRequest) -> HttpResponse:
    form = FlowCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            flow = builder.flow_create(owner=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Created the Salesflow {flow.name}. Add its first step.")
            return redirect("engage:salesflow_detail", flow_id=flow.pk)
    return render(request, "engage/salesflows/new.html", {"form": form})


# --- The builder --------------------------------------------------------------------------------
def _builder_context(request: HttpRequest, flow: Salesflow, **extra: Any) -> dict[str, Any]:
    steps = flow_selectors.flow_steps(flow)
    return {
        "flow": flow,
        "can_edit": _editable(flow, request),
        "owner_name": _who(flow.owner),
        "timeline": flow_selectors.timeline(steps),
        "has_business_days": any(s.delay_unit == SalesflowStep.Unit.BUSINESS_DAYS for s in steps),
        "kinds": StepKind.choices,
        "enrolments_url": _enrolments_url(flow),
        "templates_url": reverse("engage:salesflow_templates"),
        **extra,
    }


@member_required
def salesflow_detail(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = _flow(request, flow_id)
    context = _builder_context(
        request, flow, settings_form=FlowSettingsForm(initial=FlowSettingsForm.initial_for(flow))
    )
    return render(request, "engage/salesflows/builder.html", context)


@member_required
@require_POST
def salesflow_settings(request: HttpRequest, flow_id: int) -> HttpResponse:
    """The flow's name, who sees it and what a reply does to the rest of a company."""
    flow = _flow(request, flow_id)
    _check_editable(flow, request)
    form = FlowSettingsForm(request.POST)
    if form.is_valid():
        try:
            builder.flow_update(flow=flow, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Saved the Salesflow's settings.")
            return redirect(f"{_builder_url(flow)}#settings")
        flow.refresh_from_db()
    context = _builder_context(request, flow, settings_form=form)
    return render(request, "engage/salesflows/builder.html", context)


@member_required
def salesflow_archive(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = _flow(request, flow_id)
    if flow.archived_at is not None:
        messages.info(request, f"{flow.name} is already archived.")
        return redirect(_builder_url(flow))
    _check_editable(flow, request)
    if request.method == "POST":
        left = builder.flow_archive(flow=flow, actor=request.user)
        ended = f" {left:,} contact{'s' if left != 1 else ''} left it." if left else ""
        messages.success(request, f"Archived {flow.name}.{ended}")
        return redirect("engage:salesflows")
    return render(
        request,
        "engage/salesflows/archive.html",
        {"flow": flow, "live": flow_selectors.flow_live_enrolments(flow)},
    )


# --- Steps --------------------------------------------------------------------------------------
def _content(data: dict[str, Any]) -> StepContent:
    return StepContent(**{name: data.get(name) for name in STEP_FIELDS if name in data})


def _merge_tags_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "merge_groups": merge.fields_by_group(),
        "template_choices": flow_selectors.template_choices(request.user),
    }


def _step_page(
    request: HttpRequest,
    *,
    flow: Salesflow,
    form: StepForm,
    step: SalesflowStep | None,
    template_form: SaveAsTemplateForm | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    steps = flow_selectors.flow_steps(flow)
    number = steps.index(step) + 1 if step in steps else len(steps) + 1
    context = {
        "flow": flow,
        "step": step,
        "number": number,
        "form": form,
        "can_edit": _editable(flow, request),
        "template_form": template_form or SaveAsTemplateForm(),
        "no_previous_email": NO_PREVIOUS_EMAIL,
        "notice": notice,
        "preview_enrolments": flow_selectors.preview_enrolments(flow) if step and step.is_email else [],
        **_merge_tags_context(request),
    }
    return render(request, "engage/salesflows/step_form.html", context, status=status)


def _email_before(flow: Salesflow, step: SalesflowStep | None) -> bool:
    steps = flow_selectors.flow_steps(flow)
    before = steps[: steps.index(step)] if step in steps else steps
    return any(s.kind in EMAIL_KINDS for s in before)


def _step_form_post(
    request: HttpRequest, *, flow: Salesflow, step: SalesflowStep | None
) -> HttpResponse | None:
    """The editor's buttons: insert a template, save the email as a template, or save the step.
    Returns the response, or None when the form is to be shown again as it is."""
    _check_editable(flow, request)
    if flow.archived_at is not None:
        messages.error(request, "This Salesflow is archived: its steps cannot be changed.")
        return redirect(_builder_url(flow))
    form = StepForm(request.POST, email_before=_email_before(flow, step))
    action = request.POST.get("_action", "save")
    if action == "insert_template":
        return _insert_template(request, flow=flow, step=step, form=form)
    if action == "save_template":
        return _save_as_template(request, flow=flow, step=step, form=form)
    if not form.is_valid():
        return _step_page(request, flow=flow, form=form, step=step)
    data = form.cleaned_data
    try:
        if step is None:
            step = builder.step_add(flow=flow, actor=request.user, content=_content(data))
            messages.success(request, f"Added step {step.position}: {step.get_kind_display()}.")
        else:
            builder.step_update(step=step, actor=request.user, **{k: data[k] for k in STEP_FIELDS})
            messages.success(request, f"Saved step {step.position}.")
    except ValidationError as exc:
        apply_validation_error(form, exc)
        return _step_page(request, flow=flow, form=form, step=step)
    return redirect(_builder_url(flow, step))


def _rebound(form: StepForm | TemplateForm, **values: str) -> QueryDict:
    data = form.data.copy()
    for name, value in values.items():
        data[name] = value
    return data


def _insert_template(
    request: HttpRequest, *, flow: Salesflow, step: SalesflowStep | None, form: StepForm
) -> HttpResponse:
    """The chosen template's subject and email in place of the form's (nothing is saved)."""
    template_id = request.POST.get("template", "")
    template = None
    if template_id.isdigit():
        template = flow_selectors.template_choices_by_id(request.user, int(template_id))
    if template is None:
        form.is_valid()
        form.add_error(None, "Choose one of the templates to insert.")
        return _step_page(request, flow=flow, form=form, step=step)
    content = builder.step_from_template(template)
    form = StepForm(_rebound(form, **content), email_before=form.email_before)
    form.is_valid()
    return _step_page(
        request,
        flow=flow,
        form=form,
        step=step,
        notice=f"Inserted the template {template.name}. Save the step to keep it.",
    )


def _save_as_template(
    request: HttpRequest, *, flow: Salesflow, step: SalesflowStep | None, form: StepForm
) -> HttpResponse:
    """The form's subject and email stored as a new template; the step itself is not saved."""
    template_form = SaveAsTemplateForm(request.POST)
    form.is_valid()  # the email's HTML cleaned; the step's own checks wait for Save
    if template_form.is_valid():
        name = template_form.cleaned_data["template_name"]
        try:
            template = builder.template_create(
                owner=request.user,
                name=name,
                shared=template_form.cleaned_data["template_shared"] or SalesflowTemplate.Sharing.PERSONAL,
                subject=form.cleaned_data.get("subject", form.data.get("subject", "")),
                body_html=form.cleaned_data.get("body_html", ""),
                body_text=form.cleaned_data.get("body_text", ""),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                target = {"name": "template_name", "shared": "template_shared"}.get(field)
                if target:
                    template_form.add_error(target, errors)
                elif field in form.fields:
                    form.add_error(field, errors)
                else:
                    template_form.add_error(None, errors)
        else:
            return _step_page(
                request,
                flow=flow,
                form=form,
                step=step,
                template_form=SaveAsTemplateForm(),
                notice=f"Saved the template {template.name}. The step itself is not saved yet.",
            )
    return _step_page(request, flow=flow, form=form, step=step, template_form=template_form)


@member_required
def salesflow_step_add(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = _flow(request, flow_id)
    if request.method == "POST":
        return _step_form_post(request, flow=flow, step=None)
    if not _editable(flow, request):
        return redirect(_builder_url(flow))
    kind = request.GET.get("kind", "")
    initial = {"kind": kind if kind in StepKind.values else StepKind.AUTO_EMAIL}
    form = StepForm(initial=initial, email_before=_email_before(flow, None))
    return _step_page(request, flow=flow, form=form, step=None)


@member_required
def salesflow_step_edit(request: HttpRequest, step_id: int) -> HttpResponse:
    step = _step(request, step_id)
    flow = step.flow
    if request.method == "POST":
        return _step_form_post(request, flow=flow, step=step)
    form = StepForm(initial=StepForm.initial_for(step), email_before=_email_before(flow, step))
    return _step_page(request, flow=flow, form=form, step=step)


@member_required
@require_POST
def salesflow_step_move(request: HttpRequest, step_id: int) -> HttpResponse:
    """Move a step up, down (the keyboard's buttons) or to a position (dropped there)."""
    step = _step(request, step_id)
    flow = step.flow
    _check_editable(flow, request)
    direction = request.POST.get("direction", "")
    position = request.POST.get("position", "")
    if direction in ("up", "down"):
        target = step.position - 1 if direction == "up" else step.position + 1
    elif position.isdigit():
        target = int(position)
    else:
        target = step.position
    error = ""
    try:
        builder.step_move(step=step, actor=request.user, position=max(target, 1))
    except ValidationError as exc:
        error = " ".join(exc.messages)
    step.refresh_from_db()
    notice = "" if error else f"Moved “{_step_title(step)}” to step {step.position}."
    if request.htmx:
        context = _builder_context(
            request, flow, notice=notice, error=error, focus=f"step-{step.pk}-{direction or 'handle'}"
        )
        return render(request, "engage/salesflows/_steps.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(_builder_url(flow, step))


def _step_title(step: SalesflowStep) -> str:
    if step.is_email and step.subject:
        return step.subject
    if step.task_text:
        return step.task_text.splitlines()[0][:80]
    return step.get_kind_display()


@member_required
def salesflow_step_delete(request: HttpRequest, step_id: int) -> HttpResponse:
    """Delete at once when nobody is due on the step; otherwise say how many are and what happens
    to them, and delete when confirmed."""
    step = _step(request, step_id)
    flow = step.flow
    _check_editable(flow, request)
    if request.method == "POST":
        try:
            result = builder.step_delete(
                step=step, actor=request.user, confirmed=request.POST.get("confirmed") == "1"
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(_builder_url(flow))
        if result.deleted:
            text = f"Deleted step {step.position} ({_step_title(step)})."
            if result.due:
                text += f" {result.due:,} contact{'s' if result.due != 1 else ''} moved on to the next step."
            if result.unthreaded is not None:
                text += (
                    f" “{_step_title(result.unthreaded)}” is now sent as a new email: "
                    "there is no email before it to reply to."
                )
            messages.success(request, text)
            return redirect(_builder_url(flow))
        due = result.due
    else:
        due = flow_selectors.step_due_count(step)
    steps = flow_selectors.flow_steps(flow)
    index = next((i for i, s in enumerate(steps) if s.pk == step.pk), 0)
    following = steps[index + 1] if index + 1 < len(steps) else None
    return render(
        request,
        "engage/salesflows/step_delete.html",
        {"flow": flow, "step": step, "title": _step_title(step), "due": due, "following": following},
    )


# --- Preview ------------------------------------------------------------------------------------
MISSING_OPEN, MISSING_CLOSE = "\ue000", "\ue001"


def _example_values(viewer: Any) -> merge.MergeContext:
    values: dict[str, object] = {
        key: f.example for key, f in merge.FIELDS.items() if f.group in ("contact", "account")
    }
    return merge.MergeContext({**values, **merge.sender_values(viewer)})


def _mark_missing(text: str) -> str:
    """Put each missing value's marker in a highlight saying which field has no value."""
    out = []
    rest = text
    while MISSING_OPEN in rest:
        before, _, after = rest.partition(MISSING_OPEN)
        key, _, rest = after.partition(MISSING_CLOSE)
        out.append(before)
        tag = html_lib.escape("{{ " + key + " }}")
        out.append(f'<mark class="merge-missing">{tag} has no value</mark>')
    out.append(rest)
    return "".join(out)


def _filled(text: str, context: merge.MergeContext, *, as_html: bool) -> tuple[SafeString, list[str]]:
    """``text`` rendered for one recipient, each missing value shown as such (never "Hi ,"), as
    safe HTML; and the fields that are missing."""
    if not text:
        return mark_safe(""), []
    problems = merge.validate(text)
    if problems:
        return mark_safe(html_lib.escape("; ".join(str(p) for p in problems))), []  # noqa: S308
    missing = merge.missing_for(text, context)
    values = dict(context.values)
    for key in missing:
        values[key] = f"{MISSING_OPEN}{key}{MISSING_CLOSE}"
    rendered = merge.render(text, merge.MergeContext(values), html=as_html)
    # The body was cleaned when saved and every value is escaped; clean it again all the same.
    safe = sanitize_email_html(rendered) if as_html else html_lib.escape(rendered)
    return mark_safe(_mark_missing(safe)), missing  # noqa: S308


@member_required
def salesflow_step_preview(request: HttpRequest, step_id: int) -> HttpResponse:
    """A saved email step as one enrolled contact would get it (or with example values)."""
    step = _step(request, step_id)
    flow = step.flow
    enrolment = None
    enrolment_id = request.GET.get("enrolment", "")
    if enrolment_id.isdigit():
        enrolment = (
            Enrolment.objects.for_org(request.organization)
            .filter(flow=flow, pk=int(enrolment_id))
            .select_related("contact__account", "sender__organization")
            .first()
        )
    if enrolment is not None:
        sender = enrolment.sender or flow.owner or request.user
        context = merge.context_for(enrolment.contact, sender)
        who = str(enrolment.contact)
    else:
        context = _example_values(request.user)
        who = ""
    subject, subject_missing = _filled(step.subject, context, as_html=False)
    body, body_missing = _filled(step.body_html, context, as_html=True)
    text, text_missing = _filled(step.body_text, context, as_html=False)
    missing = list(dict.fromkeys([*subject_missing, *body_missing, *text_missing]))
    page = {
        "flow": flow,
        "step": step,
        "enrolment": enrolment,
        "who": who,
        "subject": subject,
        "body": body,
        "text": text,
        "missing": ["{{ " + key + " }}" for key in missing],
        "preview_enrolments": flow_selectors.preview_enrolments(flow),
    }
    template = "engage/salesflows/_preview.html" if request.htmx else "engage/salesflows/step_preview.html"
    return render(request, template, page)


# --- Templates ----------------------------------------------------------------------------------
@member_required
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    scope = request.GET.get("scope", "")
    scope = scope if scope in ("mine", "team") else "mine"
    q = request.GET.get("q", "").strip()[:100]
    page = flow_selectors.template_list_page(
        viewer=request.user,
        scope=scope,
        q=q,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    context = {
        "page": page,
        "scope": scope,
        "q": q,
        "scopes": [
            ("mine", "My templates", _query(request.GET, ("q",), scope="mine")),
            ("team", "Team templates", _query(request.GET, ("q",), scope="team")),
        ],
        "filter_query": _query(request.GET, ("scope", "q")),
        "editable": {t.pk for t in page.rows if template_editable_by(t, request.user)},
    }
    return render(request, "engage/salesflows/templates.html", context)


def _template_page(
    request: HttpRequest, *, form: TemplateForm, template: SalesflowTemplate | None, can_edit: bool
) -> HttpResponse:
    return render(
        request,
        "engage/salesflows/template_form.html",
        {
            "form": form,
            "template": template,
            "can_edit": can_edit,
            # The stored body was cleaned when saved; it is cleaned again to be shown as HTML.
            "body_preview": mark_safe(sanitize_email_html(template.body_html)) if template else "",  # noqa: S308
            **_merge_tags_context(request),
        },
    )


@member_required
def template_create(request: HttpRequest) -> HttpResponse:
    form = TemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = builder.template_create(owner=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Saved the template {template.name}.")
            return redirect(f"{reverse('engage:salesflow_templates')}?scope={_scope_of(template)}")
    return _template_page(request, form=form, template=None, can_edit=True)


def _scope_of(template: SalesflowTemplate) -> str:
    return "team" if template.shared == SalesflowTemplate.Sharing.TEAM else "mine"


@member_required
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    can_edit = template_editable_by(template, request.user)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(
                "Only the template's owner (or an administrator, for a shared one) may change it."
            )
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                builder.template_update(template=template, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, f"Saved the template {template.name}.")
                return redirect(f"{reverse('engage:salesflow_templates')}?scope={_scope_of(template)}")
    else:
        form = TemplateForm(initial=TemplateForm.initial_for(template))
    return _template_page(request, form=form, template=template, can_edit=can_edit)


@member_required
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    if not template_editable_by(template, request.user):
        raise PermissionDenied(
            "Only the template's owner (or an administrator, for a shared one) may delete it."
        )
    if request.method == "POST":
        scope = _scope_of(template)
        builder.template_delete(template=template, actor=request.user)
        messages.success(request, f"Deleted the template {template.name}.")
        return redirect(f"{reverse('engage:salesflow_templates')}?scope={scope}")
    return render(request, "engage/salesflows/template_delete.html", {"template": template})
