"""Building Salesflows: flows, their steps and the template library (issue 13, points 1 and 2).

Every write is atomic, checks that the actor may make it (``engage.salesflows.access``) and
raises ``ValidationError`` with the message on the field it is about. Subjects and bodies are
checked with the merge-field language (``engage.salesflows.merge.validate``) when saved.

Steps keep dense positions 1..n among the live ones (a deleted step is kept, soft-deleted, so the
history of sends and events keeps its step). Editing a step changes what is sent from then on:
sends already made keep what they sent. Deleting a step that enrolments are due on asks first
(``step_delete`` without ``confirmed`` only counts them); confirmed, they move on to the next step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from copilot.services.audit import audit_record
from engage.models import Enrolment, Salesflow, SalesflowStep, SalesflowTemplate
from engage.models.salesflows import EMAIL_KINDS, DelayUnit, StepKind
from engage.salesflows import merge
from engage.salesflows.access import check_flow_editable, template_editable_by
from engage.salesflows.events import ExitReason, enrolments_exit, enrolments_move_past

if TYPE_CHECKING:
    from copilot.models import User

NAME_MAX = 200
# The longest delay a step may have, per unit (a year, give or take).
DELAY_MAX = {
    DelayUnit.MINUTES: 60 * 24 * 365,
    DelayUnit.HOURS: 24 * 365,
    DelayUnit.DAYS: 365,
    DelayUnit.BUSINESS_DAYS: 260,
}
# Positions are moved out of the way first when steps are renumbered (the unique constraint on
# (flow, position) is checked row by row).
_OUT_OF_THE_WAY = 1_000_000

NO_PREVIOUS_EMAIL = (
    "This is the first email of the Salesflow, so it cannot be a reply in the thread of an earlier one."
)


# --- Flows --------------------------------------------------------------------------------------
def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the Salesflow a name."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"Keep the name under {NAME_MAX} characters."})
    return name


def _check_name_free(organization_id: int, name: str, *, exclude: int | None = None) -> None:
    taken = Salesflow.objects.for_org(organization_id).filter(name__iexact=name, archived_at__isnull=True)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ValidationError({"name": f"There is already a Salesflow called “{name}”. Choose another name."})


def _check_choice(field: str, value: str, choices: Sequence[str], message: str) -> None:
    if value not in choices:
        raise ValidationError({field: message})


def _save_flow(flow: Salesflow, fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            if fields is None:
                flow.save()
            else:
                flow.save(update_fields=fields)
    except IntegrityError as exc:  # the same name saved by someone else a moment ago
        raise ValidationError(
            {"name": f"There is already a Salesflow called “{flow.name}”. Choose another name."}
        ) from exc


@transaction.atomic
def flow_create(
    *,
    owner: User,
    name: str,
    visibility: str = Salesflow.Visibility.PRIVATE,
    exit_company_on_reply: str = Salesflow.OnReply.NONE,
) -> Salesflow:
    if owner.organization_id is None:
        raise PermissionDenied("Only members of an organisation have Salesflows.")
    name = _clean_name(name)
    _check_choice("visibility", visibility, Salesflow.Visibility.values, "Choose who sees the Salesflow.")
    _check_choice(
        "exit_company_on_reply",
        exit_company_on_reply,
        Salesflow.OnReply.values,
        "Choose what happens to the others at a company when one replies.",
    )
    _check_name_free(owner.organization_id, name)
    flow = Salesflow(
        organization_id=owner.organization_id,
        owner=owner,
        name=name,
        visibility=visibility,
        exit_company_on_reply=exit_company_on_reply,
    )
    _save_flow(flow)
    audit_record(
        organization=owner.organization,
        actor=owner,
        action="salesflow.created",
        target=name,
        data={"id": flow.pk},
    )
    return flow


@transaction.atomic
def flow_update(
    *,
    flow: Salesflow,
    actor: User,
    name: str | None = None,
    visibility: str | None = None,
    exit_company_on_reply: str | None = None,
) -> Salesflow:
    check_flow_editable(flow, actor)
    if flow.archived_at is not None:
        raise ValidationError("This Salesflow is archived; it cannot be changed.")
    fields = []
    if name is not None:
        name = _clean_name(name)
        if name != flow.name:
            _check_name_free(flow.organization_id, name, exclude=flow.pk)
            flow.name = name
            fields.append("name")
    if visibility is not None:
        _check_choice("visibility", visibility, Salesflow.Visibility.values, "Choose who sees the Salesflow.")
        flow.visibility = visibility
        fields.append("visibility")
    if exit_company_on_reply is not None:
        _check_choice(
            "exit_company_on_reply",
            exit_company_on_reply,
            Salesflow.OnReply.values,
            "Choose what happens to the others at a company when one replies.",
        )
        flow.exit_company_on_reply = exit_company_on_reply
        fields.append("exit_company_on_reply")
    if fields:
        flow.updated_at = timezone.now()
        _save_flow(flow, [*fields, "updated_at"])
    return flow


@transaction.atomic
def flow_archive(*, flow: Salesflow, actor: User, now: datetime | None = None) -> int:
    """Archive the flow: nobody can be enrolled in it any more, and the contacts still in it leave
    it (exit reason ``flow_archived``). Returns how many left."""
    check_flow_editable(flow, actor)
    now = now or timezone.now()
    locked = Salesflow.objects.for_org(flow.organization_id).select_for_update().get(pk=flow.pk)
    if locked.archived_at is not None:
        flow.archived_at = locked.archived_at
        return 0
    flow.archived_at = flow.updated_at = now
    Salesflow.objects.filter(pk=flow.pk).update(archived_at=now, updated_at=now)
    live = Enrolment.objects.for_org(flow.organization_id).filter(flow=flow, state__in=Enrolment.LIVE_STATES)
    left = enrolments_exit(
        organization_id=flow.organization_id,
        enrolment_ids=live.values_list("pk", flat=True),
        reason=ExitReason.FLOW_ARCHIVED,
        actor=actor,
        now=now,
    )
    audit_record(
        organization=actor.organization,
        actor=actor,
        action="salesflow.archived",
        target=flow.name,
        data={"id": flow.pk, "enrolments_exited": left},
    )
    return left


# --- Steps --------------------------------------------------------------------------------------
def live_steps(flow: Salesflow) -> list[SalesflowStep]:
    return list(
        SalesflowStep.objects.for_org(flow.organization_id)
        .filter(flow=flow, deleted_at__isnull=True)
        .order_by("position", "id")
    )


def _locked_flow(flow: Salesflow, actor: User) -> Salesflow:
    check_flow_editable(flow, actor)
    flow = Salesflow.objects.for_org(flow.organization_id).select_for_update().get(pk=flow.pk)
    if flow.archived_at is not None:
        raise ValidationError("This Salesflow is archived; its steps cannot be changed.")
    return flow


def _renumber(steps: list[SalesflowStep]) -> None:
    """Give ``steps`` (all the flow's live steps, in their new order) positions 1..n: two
    UPDATEs whatever their number."""
    if not steps:
        return
    for step in steps:
        step.position += _OUT_OF_THE_WAY
    SalesflowStep.objects.bulk_update(steps, ["position"])
    for index, step in enumerate(steps, start=1):
        step.position = index
    SalesflowStep.objects.bulk_update(steps, ["position"])


def _merge_errors(field: str, text: str, *, subject: bool = False) -> dict[str, list[str]]:
    problems = merge.validate(text, subject=subject)
    return {field: [str(p) for p in problems]} if problems else {}


@dataclass(frozen=True)
class StepContent:
    """What a seller writes into a step (the builder's form, cleaned)."""

    kind: str
    delay_amount: int = 0
    delay_unit: str = DelayUnit.DAYS
    subject: str = ""
    body_html: str = ""
    body_text: str = ""
    reply_in_thread: bool = False
    task_text: str = ""

    FIELDS = (
        "kind",
        "delay_amount",
        "delay_unit",
        "subject",
        "body_html",
        "body_text",
        "reply_in_thread",
        "task_text",
    )

    @classmethod
    def of(cls, step: SalesflowStep, **changes: Any) -> StepContent:
        values = {name: getattr(step, name) for name in cls.FIELDS}
        unknown = set(changes) - set(cls.FIELDS)
        if unknown:
            raise TypeError(f"Not a step field: {', '.join(sorted(unknown))}")
        values.update(changes)
        return cls(**values)


def _clean_step(content: StepContent, *, email_before: bool) -> dict[str, Any]:
    """The step's fields to store, or ValidationError naming each field that is wrong."""
    errors: dict[str, list[str]] = {}
    kind = content.kind
    if kind not in StepKind.values:
        raise ValidationError({"kind": "Choose the kind of step."})
    unit = content.delay_unit
    amount = content.delay_amount
    if unit not in DelayUnit.values:
        errors["delay_unit"] = ["Choose minutes, hours, days or business days."]
    elif not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        errors["delay_amount"] = ["The wait must be a whole number, 0 or more."]
    elif amount > DELAY_MAX[unit]:
        errors["delay_amount"] = [f"Wait at most {DELAY_MAX[unit]:,} {DelayUnit(unit).label}."]
    values: dict[str, Any] = {"kind": kind, "delay_amount": amount, "delay_unit": unit}
    subject = " ".join((content.subject or "").split())
    body_html = (content.body_html or "").strip()
    body_text = (content.body_text or "").strip()
    task_text = (content.task_text or "").strip()
    if kind in EMAIL_KINDS:
        reply = bool(content.reply_in_thread)
        if reply and not email_before:
            errors["reply_in_thread"] = [NO_PREVIOUS_EMAIL]
        if kind == StepKind.AUTO_EMAIL:
            if not subject and not reply:
                errors.setdefault("subject", []).append("Write a subject.")
            if not body_html and not body_text:
                errors.setdefault("body_html", []).append("Write the email.")
        if len(subject) > 500:
            errors.setdefault("subject", []).append("Keep the subject under 500 characters.")
        for field, problems in (
            _merge_errors("subject", subject, subject=True)
            | _merge_errors("body_html", body_html)
            | _merge_errors("body_text", body_text)
        ).items():
            errors.setdefault(field, []).extend(problems)
        values |= {
            "subject": subject,
            "body_html": body_html,
            "body_text": body_text,
            "reply_in_thread": reply,
            "task_text": task_text,
        }
    else:
        if kind == StepKind.TASK and not task_text:
            errors["task_text"] = ["Say what the task is, e.g. “Connect on LinkedIn”."]
        values |= {
            "subject": "",
            "body_html": "",
            "body_text": "",
            "reply_in_thread": False,
            "task_text": task_text,
        }
    if errors:
        raise ValidationError(errors)
    return values


def _email_before(steps: Sequence[SalesflowStep]) -> bool:
    return any(s.kind in EMAIL_KINDS for s in steps)


def _check_threading(steps: Sequence[SalesflowStep], *, field: str) -> None:
    """The first email step of ``steps`` (a flow's new order) must not be a threaded reply."""
    first = next((s for s in steps if s.kind in EMAIL_KINDS), None)
    if first is not None and first.reply_in_thread:
        raise ValidationError(
            {
                field: f"Step “{first.subject or first.get_kind_display()}” is sent as a reply to an earlier "
                "email: keep an email before it, or turn its reply off first."
            }
        )


@transaction.atomic
def step_add(
    *, flow: Salesflow, actor: User, content: StepContent, position: int | None = None
) -> SalesflowStep:
    """Add a step at ``position`` (1 = first; None or past the end: last)."""
    flow = _locked_flow(flow, actor)
    steps = live_steps(flow)
    index = len(steps) if position is None else min(max(position, 1), len(steps) + 1) - 1
    values = _clean_step(content, email_before=_email_before(steps[:index]))
    now = timezone.now()
    step = SalesflowStep.objects.create(
        organization_id=flow.organization_id,
        flow=flow,
        position=2 * _OUT_OF_THE_WAY + len(steps),
        created_at=now,
        updated_at=now,
        **values,
    )
    steps.insert(index, step)
    _renumber(steps)
    _touch(flow, now)
    return step


@transaction.atomic
def step_update(*, step: SalesflowStep, actor: User, **changes: Any) -> SalesflowStep:
    """Change a live step's content (any of ``StepContent.FIELDS``). Applies to what is sent from
    now on."""
    flow = _locked_flow(step.flow, actor)
    steps = live_steps(flow)
    mine = next((s for s in steps if s.pk == step.pk), None)
    if mine is None:
        raise ValidationError("This step has been deleted.")
    index = steps.index(mine)
    values = _clean_step(StepContent.of(mine, **changes), email_before=_email_before(steps[:index]))
    if values["kind"] not in EMAIL_KINDS and mine.kind in EMAIL_KINDS:
        # A later step replying in this one's thread may now have no earlier email.
        after = [*steps[:index], SalesflowStep(kind=values["kind"]), *steps[index + 1 :]]
        _check_threading(after, field="kind")
    now = timezone.now()
    for name, value in values.items():
        setattr(mine, name, value)
    mine.updated_at = now
    mine.save(update_fields=[*values, "updated_at"])
    _touch(flow, now)
    return mine


@transaction.atomic
def step_move(*, step: SalesflowStep, actor: User, position: int) -> list[SalesflowStep]:
    """Move a step to ``position`` (1 = first); the others close up. Returns the new order."""
    flow = _locked_flow(step.flow, actor)
    steps = live_steps(flow)
    mine = next((s for s in steps if s.pk == step.pk), None)
    if mine is None:
        raise ValidationError("This step has been deleted.")
    steps.remove(mine)
    index = min(max(position, 1), len(steps) + 1) - 1
    steps.insert(index, mine)
    _check_threading(steps, field="position")
    _renumber(steps)
    _touch(flow, timezone.now())
    return steps


@dataclass(frozen=True)
class StepDeleteResult:
    deleted: bool
    due: int  # live enrolments whose next step it is (moved on when deleted)
    unthreaded: SalesflowStep | None = None  # the step no longer sent as a reply: no email before it


@transaction.atomic
def step_delete(
    *, step: SalesflowStep, actor: User, confirmed: bool = False, now: datetime | None = None
) -> StepDeleteResult:
    """Delete a step. When enrolments are due on it and the seller has not ``confirmed``, nothing
    is deleted and ``due`` says how many (the page asks first). Confirmed, they move on to the step
    that follows, due its delay after their previous step (or finish, if it was the last). An email
    step that was a reply to the deleted one and now has no email before it is sent on its own."""
    flow = _locked_flow(step.flow, actor)
    now = now or timezone.now()
    steps = live_steps(flow)
    mine = next((s for s in steps if s.pk == step.pk), None)
    if mine is None:
        return StepDeleteResult(deleted=False, due=0)
    due = (
        Enrolment.objects.for_org(flow.organization_id)
        .filter(current_step=mine, state__in=Enrolment.LIVE_STATES)
        .count()
    )
    if due and not confirmed:
        return StepDeleteResult(deleted=False, due=due)
    index = steps.index(mine)
    steps.remove(mine)
    mine.deleted_at = mine.updated_at = now
    mine.save(update_fields=["deleted_at", "updated_at"])
    _renumber(steps)
    unthreaded = None
    first_email = next((s for s in steps if s.kind in EMAIL_KINDS), None)
    if first_email is not None and first_email.reply_in_thread:
        first_email.reply_in_thread, first_email.updated_at = False, now
        first_email.save(update_fields=["reply_in_thread", "updated_at"])
        unthreaded = first_email
    following = steps[index] if index < len(steps) else None
    moved = enrolments_move_past(step=mine, following=following, actor=actor, now=now) if due else 0
    _touch(flow, now)
    audit_record(
        organization=actor.organization,
        actor=actor,
        action="salesflow.step_deleted",
        target=flow.name,
        data={"flow": flow.pk, "step": mine.pk, "kind": mine.kind, "enrolments_moved_on": moved},
    )
    return StepDeleteResult(deleted=True, due=moved, unthreaded=unthreaded)


def _touch(flow: Salesflow, now: datetime) -> None:
    flow.updated_at = now
    flow.save(update_fields=["updated_at"])


# --- Templates ----------------------------------------------------------------------------------
def _clean_template(
    *, name: str, shared: str, subject: str, body_html: str, body_text: str
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = ["Give the template a name."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"Keep the name under {NAME_MAX} characters."]
    if shared not in SalesflowTemplate.Sharing.values:
        errors["shared"] = ["Choose who may use the template."]
    subject = " ".join((subject or "").split())
    body_html, body_text = (body_html or "").strip(), (body_text or "").strip()
    if not body_html and not body_text:
        errors["body_html"] = ["Write the email."]
    for field, problems in (
        _merge_errors("subject", subject, subject=True)
        | _merge_errors("body_html", body_html)
        | _merge_errors("body_text", body_text)
    ).items():
        errors.setdefault(field, []).extend(problems)
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "shared": shared,
        "subject": subject,
        "body_html": body_html,
        "body_text": body_text,
    }


@transaction.atomic
def template_create(
    *,
    owner: User,
    name: str,
    subject: str,
    body_html: str,
    body_text: str = "",
    shared: str = SalesflowTemplate.Sharing.PERSONAL,
) -> SalesflowTemplate:
    if owner.organization_id is None:
        raise PermissionDenied("Only members of an organisation have templates.")
    values = _clean_template(
        name=name, shared=shared, subject=subject, body_html=body_html, body_text=body_text
    )
    return SalesflowTemplate.objects.create(organization_id=owner.organization_id, owner=owner, **values)


@transaction.atomic
def template_update(*, template: SalesflowTemplate, actor: User, **changes: Any) -> SalesflowTemplate:
    """Change any of name, shared, subject, body_html, body_text."""
    if not template_editable_by(template, actor):
        raise PermissionDenied(
            "Only the template's owner (or an administrator, for a shared one) may change it."
        )
    fields = ("name", "shared", "subject", "body_html", "body_text")
    unknown = set(changes) - set(fields)
    if unknown:
        raise TypeError(f"Not a template field: {', '.join(sorted(unknown))}")
    values = _clean_template(**{f: changes.get(f, getattr(template, f)) for f in fields})
    for name, value in values.items():
        setattr(template, name, value)
    template.updated_at = timezone.now()
    template.save(update_fields=[*values, "updated_at"])
    return template


@transaction.atomic
def template_delete(*, template: SalesflowTemplate, actor: User) -> None:
    if not template_editable_by(template, actor):
        raise PermissionDenied(
            "Only the template's owner (or an administrator, for a shared one) may delete it."
        )
    template.delete()


def step_from_template(template: SalesflowTemplate) -> dict[str, str]:
    """A template's content for a new or edited email step."""
    return {"subject": template.subject, "body_html": template.body_html, "body_text": template.body_text}
