"""Flows for the Salesflow tests, built through the builder's services."""

from __future__ import annotations

from engage.models import Salesflow, SalesflowStep
from engage.salesflows.builder import StepContent, flow_create, step_add

Kind = SalesflowStep.Kind
Unit = SalesflowStep.Unit


def email(
    subject: str = "Hello {{ first_name|there }}",
    body: str = "<p>Hi {{ first_name|there }},</p><p>a word from {{ sender.company }}.</p>",
    *,
    delay: int = 0,
    unit: str = Unit.DAYS,
    reply: bool = False,
    kind: str = Kind.AUTO_EMAIL,
) -> StepContent:
    return StepContent(
        kind=kind, subject=subject, body_html=body, delay_amount=delay, delay_unit=unit, reply_in_thread=reply
    )


def call(*, delay: int = 1, unit: str = Unit.DAYS, notes: str = "") -> StepContent:
    return StepContent(kind=Kind.CALL, delay_amount=delay, delay_unit=unit, task_text=notes)


def task(text: str = "Connect on LinkedIn", *, delay: int = 1, unit: str = Unit.DAYS) -> StepContent:
    return StepContent(kind=Kind.TASK, delay_amount=delay, delay_unit=unit, task_text=text)


def make_flow(owner, *steps: StepContent, name: str = "Outbound", team: bool = True) -> Salesflow:
    flow = flow_create(
        owner=owner,
        name=name,
        visibility=Salesflow.Visibility.TEAM if team else Salesflow.Visibility.PRIVATE,
    )
    for content in steps or (email(),):
        step_add(flow=flow, actor=owner, content=content)
    return flow


def positions(flow: Salesflow) -> list[tuple[int, str]]:
    """The flow's live steps as (position, what they say), in order."""
    return [
        (s.position, s.subject or s.task_text or s.kind)
        for s in SalesflowStep.objects.filter(flow=flow, deleted_at__isnull=True).order_by("position")
    ]
