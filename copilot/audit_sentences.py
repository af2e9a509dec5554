"""Audit events as sentences a person reads (issue 12): "Olive Owner connected Salesforce
(organisation-wide)." rather than ``integration.connected``.

Each action code written by a service (``audit_record``) has a sentence here; a code nobody has
given one yet is still shown as a sentence ("Olive Owner: mailbox retry — Google."), never as the
code. The sentences are plain text: the page escapes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from copilot.models import AuditEvent, Role

SYSTEM = "Cadence"  # who did it when no person did (a sync, a worker)

Sentence = Callable[[str, str, Mapping[str, Any]], str]


def _role(code: Any) -> str:
    return Role(code).label if code in Role.values else str(code or "no role")


def _plural(count: Any, word: str) -> str:
    try:
        number = int(count)
    except (TypeError, ValueError):
        number = 0
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def _connection(target: str) -> str:
    """ "Salesforce (Organisation-wide (admin-managed))" -> "Salesforce (organisation-wide)"."""
    provider, _, scope = target.partition(" (")
    scope = scope.lower()
    if scope.startswith("organisation-wide"):
        return f"{provider} (organisation-wide)"
    if scope.startswith("one user"):
        return f"{provider} (a personal connection)"
    return target


def _on(flag: Any, yes: str, no: str) -> str:
    return yes if flag else no


def _counts(data: Mapping[str, Any], *names: str) -> str:
    parts = [f"{int(data.get(name) or 0):,} {name}" for name in names if data.get(name) is not None]
    return ", ".join(parts)


SENTENCES: dict[str, Sentence] = {
    # The organisation and its people
    "organization.created": lambda who, target, data: f"{who} created the organisation {target}.",
    "organization.renamed": lambda who, target, data: f"{who} renamed the organisation to {target}.",
    "organization.reactivated": lambda who, target, data: f"{who} reactivated the organisation {target}.",
    "organization.deactivated": lambda who, target, data: f"{who} deactivated the organisation {target}.",
    "user.role_changed": lambda who, target, data: (
        f"{who} changed the role of {target} from {_role(data.get('from'))} to {_role(data.get('to'))}."
    ),
    "user.on_behalf_changed": lambda who, target, data: (
        f"{who} {_on(data.get('allowed'), 'allowed', 'stopped')} {target} "
        f"{_on(data.get('allowed'), 'to start', 'from starting')} Salesflows on behalf of others."
    ),
    "user.updated": lambda who, target, data: f"{who} updated the details of {target}.",
    "user.deleted": lambda who, target, data: f"{who} removed the user {target}.",
    "group.created": lambda who, target, data: f"{who} created the group {target}.",
    "group.updated": lambda who, target, data: f"{who} changed the group {target}.",
    "group.deleted": lambda who, target, data: f"{who} deleted the group {target}.",
    "invitation.created": lambda who, target, data: f"{who} invited {target}.",
    "invitation.resent": lambda who, target, data: f"{who} sent the invitation to {target} again.",
    "invitation.revoked": lambda who, target, data: f"{who} revoked the invitation to {target}.",
    "invitation.accepted": lambda who, target, data: f"{target} accepted their invitation and joined.",
    "profile.phone_verified": lambda who, target, data: f"{who} verified their phone number for the dialer.",
    # Connections
    "integration.connected": lambda who, target, data: f"{who} connected {_connection(target)}.",
    "integration.reconnected": lambda who, target, data: f"{who} reconnected {_connection(target)}.",
    "integration.disconnected": lambda who, target, data: f"{who} disconnected {_connection(target)}.",
    "integration.needs_reconnect": lambda who, target, data: (
        f"{_connection(target)} needs to be reconnected: the provider refused Cadence's access."
    ),
    "integration.paused": lambda who, target, data: f"Syncing {_connection(target)} was paused.",
    "integration.resumed": lambda who, target, data: f"Syncing {_connection(target)} resumed.",
    "integration.app_installed": lambda who, target, data: (
        f"{who} installed {str(data.get('app') or 'an app').capitalize()} on {_connection(target)}."
    ),
    "integration.app_enabled": lambda who, target, data: (
        f"{who} turned on {str(data.get('app') or 'an app').capitalize()} for {_connection(target)}."
    ),
    "integration.app_disabled": lambda who, target, data: (
        f"{who} turned off {str(data.get('app') or 'an app').capitalize()} for {_connection(target)}."
    ),
    "integration.app_disconnected": lambda who, target, data: (
        f"{who} disconnected {str(data.get('app') or 'an app').capitalize()} from {_connection(target)}."
    ),
    "integration.scope_set": lambda who, target, data: (
        f"{who} changed who {_connection(target)} syncs for"
        + (f" ({_plural(data.get('members'), 'member')})." if data.get("members") else ".")
    ),
    "integration.domains_set": lambda who, target, data: (
        f"{_connection(target)} verified domains: {', '.join(data.get('domains') or []) or 'none'}."
    ),
    "integration.opt_outs_changed": lambda who, target, data: (
        f"{who} changed who is left out of syncing {_connection(target)}."
    ),
    "integration.mailbox_retry": lambda who, target, data: (
        f"{who} asked {_connection(target)} to sync {data.get('object_name') or 'a mailbox'} again now."
    ),
    # Revenue intelligence
    "intelligence.mail_rule_added": lambda who, target, data: (
        f"{who} added {target} to the {_on(data.get('action') == 'block', 'block', 'ignore')} list."
    ),
    "intelligence.mail_rule_removed": lambda who, target, data: (
        f"{who} removed {target} from the {_on(data.get('action') == 'block', 'block', 'ignore')} list."
    ),
    "intelligence.mail_rules_defaults_restored": lambda who, target, data: (
        f"{who} restored the default ignore list ({_plural(len(data.get('added') or []), 'entry')} added)."
        if data.get("added") is not None
        else f"{who} restored the default ignore list."
    ),
    "intelligence.settings_updated": lambda who, target, data: (
        f"{who} {_on(data.get('keep_email_bodies'), 'turned on', 'turned off')} keeping email bodies."
    ),
    # Sales engagement
    "status.created": lambda who, target, data: f"{who} added the contact status {target}.",
    "status.updated": lambda who, target, data: f"{who} changed the contact status {target}.",
    "status.moved": lambda who, target, data: (
        f"{who} moved the contact status {target} {data.get('direction') or 'in the list'}."
    ),
    "status.default_set": lambda who, target, data: f"{who} made {target} the default contact status.",
    "status.deleted": lambda who, target, data: (
        f"{who} deleted the contact status {target}"
        + (
            f" and moved {_plural(data.get('contacts_moved'), 'contact')} to {data.get('moved_to')}."
            if data.get("contacts_moved")
            else "."
        )
    ),
    "statuses.crm_source_on": lambda who, target, data: (
        f"{who} made Salesforce's Lead Status the contact statuses."
    ),
    "statuses.crm_source_off": lambda who, target, data: (
        f"{who} stopped taking the contact statuses from Salesforce's Lead Status."
    ),
    "statuses.crm_mapping_pending": lambda who, target, data: (
        "Salesforce's Lead Status picklist changed: the contact statuses wait for an admin to map "
        f"them ({_plural(len(data.get('values') or []), 'value')})."
    ),
    "statuses.crm_mapping_applied": lambda who, target, data: (
        f"{who} mapped the contact statuses to Salesforce's Lead Status "
        f"({_plural(data.get('moved'), 'contact')} moved, {len(data.get('retired') or [])} retired)."
    ),
    "statuses.synced_from_crm": lambda who, target, data: (
        f"{who} took the contact statuses from Salesforce's Lead Status picklist "
        f"({_counts(data, 'created', 'updated', 'removed')})."
    ),
    "crm.settings_updated": lambda who, target, data: f"{who} changed the CRM settings.",
    "crm.mapping_saved": lambda who, target, data: f"{who} saved the {target}.",
    "crm.mapping_reset": lambda who, target, data: f"{who} reset the {target} to the default.",
    "crm.rule_saved": lambda who, target, data: f"{who} saved the {target}.",
    "crm.poll_started": lambda who, target, data: f"{who} started the {target}.",
    "crm.poll_resumed": lambda who, target, data: f"{who} carried on the {target}.",
    "crm.poll_cancelled": lambda who, target, data: f"{who} stopped the {target}.",
    "crm.poll_finished": lambda who, target, data: (
        f"The {target} finished ({_counts(data, 'created', 'updated', 'unchanged', 'errors')})."
    ),
    "contact.deleted": lambda who, target, data: f"{who} deleted the contact {target}.",
    "contact.crm_linked": lambda who, target, data: (
        f"{who} linked {target} to Salesforce {data.get('crm_type') or 'record'} {data.get('crm_id') or ''}".rstrip()
        + "."
    ),
    "contact.crm_checked": lambda who, target, data: f"{who} looked up {target} in Salesforce.",
    "contact.email_opted_out": lambda who, target, data: f"{who} opted {target} out of email.",
    "contacts.bulk_updated": lambda who, target, data: f"{who} changed {target} at once.",
    "contacts.list_view_imported": lambda who, target, data: f"{who} imported the Salesforce {target}.",
    "contact_import.started": lambda who, target, data: (
        f"{who} started importing {target}"
        + (f" ({_plural(data.get('rows'), 'row')})." if data.get("rows") is not None else ".")
    ),
    "contact_import.finished": lambda who, target, data: (
        f"The import of {target} finished ({_counts(data, 'created', 'updated', 'skipped', 'errors')})."
    ),
}


def actor_name(event: AuditEvent) -> str:
    """The person who did it: their name, else the email kept on the event, else Cadence."""
    actor = event.actor
    if actor is not None:
        return actor.get_full_name() or actor.email
    return event.actor_email or SYSTEM


def humanise(code: str) -> str:
    """ "integration.mailbox_retry" -> "mailbox retry" (the last part, words spaced)."""
    last = code.rsplit(".", 1)[-1]
    return re.sub(r"[_\-]+", " ", last).strip().lower() or code


def audit_sentence(event: AuditEvent) -> str:
    who = actor_name(event)
    target = (event.target or "").strip()
    data = event.data if isinstance(event.data, Mapping) else {}
    sentence = SENTENCES.get(event.action)
    if sentence is not None:
        try:
            return sentence(who, target, data)
        except (TypeError, ValueError, KeyError, AttributeError):
            pass  # a row written before its data changed shape: say it the plain way
    text = f"{who}: {humanise(event.action)}"
    return f"{text} — {target}." if target else f"{text}."
