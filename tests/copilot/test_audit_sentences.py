"""Audit events in the Admin Portal are sentences, not codes (issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

from django.urls import reverse

from copilot.audit_sentences import SENTENCES, audit_sentence
from copilot.models import AuditEvent, Role
from copilot.services.audit import audit_record
from tests.integrations.salesforce.factories import ConnectionFactory

ROOT = Path(__file__).resolve().parents[2]
AUDIT_CODE = re.compile(
    r'"((?:organization|user|group|invitation|profile|integration|intelligence|status|statuses|crm|contact'
    r'|contacts|contact_import)\.[a-z_]+)"'
)


def _connection_target(connection) -> str:
    # As integrations.services._audit writes it.
    return f"{connection.get_provider_display()} ({connection.get_scope_display()})"


def test_the_company_page_lists_recent_changes_as_sentences(owner_client, acme, owner, teammate):
    salesforce = ConnectionFactory(organization=acme, provider="salesforce", scope="organization")
    audit_record(
        organization=acme, actor=owner, action="integration.connected", target=_connection_target(salesforce)
    )
    audit_record(
        organization=acme,
        actor=owner,
        action="user.role_changed",
        target=teammate.email,
        data={"from": Role.CONTRIBUTOR, "to": Role.ADMINISTRATOR},
    )
    audit_record(
        organization=acme,
        actor=None,
        action="integration.needs_reconnect",
        target=_connection_target(salesforce),
    )
    audit_record(organization=acme, actor=owner, action="sync.something_new", target="Inbox")

    text = owner_client.get(reverse("copilot:company")).text

    assert "Olive Owner connected Salesforce (organisation-wide)." in text
    assert "Olive Owner changed the role of teammate@acme.example from Contributor to Administrator." in text
    assert "Salesforce (organisation-wide) needs to be reconnected" in text
    assert "Olive Owner: something new — Inbox." in text  # a code without a sentence yet, humanised
    for code in ("integration.connected", "user.role_changed", "sync.something_new"):
        assert code not in text


def test_a_deleted_actor_is_named_by_the_email_kept_and_a_system_change_by_cadence(acme):
    gone = AuditEvent(
        organization=acme, actor=None, actor_email="left@acme.example", action="group.created", target="EMEA"
    )
    assert audit_sentence(gone) == "left@acme.example created the group EMEA."
    system = AuditEvent(
        organization=acme,
        actor=None,
        action="crm.poll_finished",
        target="Lead historical poll",
        data={"created": 1200, "updated": 3, "unchanged": 0, "errors": 1},
    )
    assert (
        audit_sentence(system)
        == "The Lead historical poll finished (1,200 created, 3 updated, 0 unchanged, 1 errors)."
    )


def test_data_of_an_unexpected_shape_falls_back_to_the_plain_sentence(acme, owner):
    odd = AuditEvent(
        organization=acme, actor=owner, action="user.role_changed", target="x@acme.example", data=[]
    )
    assert audit_sentence(odd).startswith("Olive Owner changed the role of x@acme.example")


def test_every_audit_action_the_services_write_has_a_sentence():
    codes = set()
    for app in ("copilot", "engage", "integrations"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or "sandbox" in path.parts:
                continue
            lines = path.read_text().splitlines()
            for i, line in enumerate(lines):
                if "logger" in line or "extra=" in line:
                    continue
                context = " ".join(lines[max(0, i - 3) : i + 1])
                if re.search(r"action|_audit\(|_mark_unhealthy\(|audit_record", context):
                    codes.update(AUDIT_CODE.findall(line))
    assert {"integration.connected", "user.role_changed", "crm.poll_finished"} <= codes  # the scan works
    assert codes - set(SENTENCES) == set(), (
        "give these audit actions a sentence in copilot/audit_sentences.py"
    )
