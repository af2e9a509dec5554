"""``{% load audit %}``: ``{{ event|audit_sentence }}`` says what an audit event did as a sentence."""

from __future__ import annotations

from django import template

from copilot import audit_sentences
from copilot.models import AuditEvent

register = template.Library()


@register.filter
def audit_sentence(event: AuditEvent) -> str:
    return audit_sentences.audit_sentence(event)
