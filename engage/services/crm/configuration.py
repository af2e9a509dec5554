"""The organisation's Salesforce configuration (G2, G3, G4, G7): CRM settings, field mapping and
sync rules. Reads and writes go through here; mappings and rules are verified against the
object's live describe (``engage.services.crm.gateway``) before they are stored.

When the Lead mapping takes Contact Status from a picklist (Lead Status by default), a picklist
the status list does not mirror yet waits for an admin to map it (F3: Admin Portal › CRM ›
Statuses); nothing switches by itself. What waits is read from the describe each time a page
asks (``crm_statuses_pending``), never stored on a GET. Saving a Lead mapping without one gives
the list back to the admins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from copilot.models import Organization, User
from copilot.services.audit import audit_record
from engage.crm.describe import Describe, picklist_for_statuses, relationship_field
from engage.crm.fields import MAPPED_OBJECTS
from engage.crm.mapping import (
    DEFAULT_MAPPINGS,
    LEAD,
    MappingRow,
    as_row,
    status_picklist_field,
    validate_mapping,
)
from engage.crm.soql_rules import check_conditions, compile_where
from engage.models import CrmSettings, FieldMapping, SyncRule
from engage.services.crm import gateway
from engage.services.statuses import (
    MappingResult,
    crm_picklist_waiting,
    statuses_apply_crm_mapping,
    statuses_from_crm,
    statuses_mapping_suggestions,
    statuses_set_crm_source,
)
from integrations.models import Connection

RULE_OBJECTS = ("Lead", "Contact")
SETTINGS_FIELDS = (
    "new_prospects_as",
    "create_activities",
    "sync_enabled",
    "engage_created_handling",
    "auto_associate_accounts",
    "log_calls",
    "log_emails",
    "fallback_owner",
)


class MappingInvalid(ValidationError):
    """The mapping cannot be saved; ``row_errors`` are keyed by row index (``"__all__"`` for
    the mapping as a whole)."""

    def __init__(self, row_errors: dict[int | str, list[str]]) -> None:
        self.row_errors = row_errors
        count = sum(len(v) for v in row_errors.values())
        super().__init__(f"The mapping has {count} problem{'s' if count != 1 else ''}: see each row.")


class RuleInvalid(ValidationError):
    """The rule cannot be saved; ``condition_errors`` are keyed by condition index."""

    def __init__(self, condition_errors: dict[int, str], messages: list[str] | None = None) -> None:
        self.condition_errors = condition_errors
        super().__init__(messages or [f"Condition {i + 1}: {m}" for i, m in sorted(condition_errors.items())])


def _check_object(sobject: str, allowed: tuple[str, ...]) -> None:
    if sobject not in allowed:
        raise ValidationError(f"Cadence does not configure {sobject} records.")


def _live_describe(organization: Organization, sobject: str) -> Describe:
    """The live describe, or ValidationError saying why there is none."""
    try:
        return gateway.describe_for(organization, sobject)
    except (gateway.CrmNotConnected, gateway.CrmUnavailable) as exc:
        raise ValidationError(str(exc)) from exc


# --- Settings -------------------------------------------------------------------------------------


def crm_settings_for(organization: Organization) -> CrmSettings:
    settings_row, _ = CrmSettings.objects.get_or_create(organization=organization)
    return settings_row


@transaction.atomic
def crm_settings_update(*, organization: Organization, actor: User | None, **values: Any) -> CrmSettings:
    """Change some of the settings (keyword per field of ``SETTINGS_FIELDS``); audited with the
    before/after of each field that changed."""
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Not CRM settings: {sorted(unknown)}")
    settings_row = CrmSettings.objects.select_for_update().get_or_create(organization=organization)[0]
    if (
        values.get("sync_enabled")
        and not settings_row.sync_enabled
        and gateway.org_connection(organization) is None
    ):
        raise ValidationError({"sync_enabled": "Connect Salesforce before turning sync on."})
    changes = {}
    if "fallback_owner" in values:
        owner = values.pop("fallback_owner")
        if owner is not None and (owner.organization_id != organization.pk or not owner.is_active):
            raise ValidationError({"fallback_owner": "Choose one of your organisation's active users."})
        if settings_row.fallback_owner_id != (owner.pk if owner else None):
            before = settings_row.fallback_owner
            changes["fallback_owner"] = [before.email if before else None, owner.email if owner else None]
            settings_row.fallback_owner = owner
    for name, value in values.items():
        field = CrmSettings._meta.get_field(name)
        if field.choices and value not in {c[0] for c in field.choices}:
            raise ValidationError({name: "Choose one of the options."})
        if getattr(settings_row, name) != value:
            changes[name] = [getattr(settings_row, name), value]
            setattr(settings_row, name, value)
    if changes:
        settings_row.save(update_fields=[*changes, "updated_at"])
        audit_record(
            organization=organization,
            actor=actor,
            action="crm.settings_updated",
            target="CRM settings",
            data=changes,
        )
    return settings_row


# --- Field mapping --------------------------------------------------------------------------------


def mapping_rows(*, organization: Organization, sobject: str) -> list[MappingRow]:
    """The object's saved mapping in order, or the defaults when none is saved."""
    _check_object(sobject, MAPPED_OBJECTS)
    saved = FieldMapping.objects.for_org(organization).filter(sobject=sobject).order_by("position", "id")
    rows = [as_row(m) for m in saved]
    return rows or list(DEFAULT_MAPPINGS[sobject])


def mapping_is_default(*, organization: Organization, sobject: str) -> bool:
    return not FieldMapping.objects.for_org(organization).filter(sobject=sobject).exists()


def _related_describes(
    organization: Organization, describe: Describe, rows: list[MappingRow]
) -> dict[str, Describe]:
    """Describes (cached like the object's own) of the objects the rows read through
    (``Account.Name`` on Contact: Account). A row whose related object could not be described is
    refused by ``validate_mapping``, never trusted."""
    targets: set[str] = set()
    for row in rows:
        relationship = row.crm_field.split(".", 1)[0] if "." in row.crm_field else ""
        reference = relationship_field(describe, relationship) if relationship else None
        if reference is not None:
            targets.update(str(name) for name in reference.get("referenceTo") or [])
    related: dict[str, Describe] = {}
    for name in sorted(targets):
        try:
            related[name] = gateway.describe_for(organization, name)
        except (gateway.CrmNotConnected, gateway.CrmUnavailable):
            continue
    return related


def _status_picklist(describe: Describe, rows: list[MappingRow]) -> list[tuple[str, str, bool]]:
    """The picklist ``rows`` take Contact Status from, as ``(api_value, label, is_default)`` per
    active value (empty when they take it from no picklist)."""
    field = status_picklist_field(rows, describe)
    return picklist_for_statuses(field) if field is not None else []


def _follow_status_picklist(
    *, organization: Organization, describe: Describe, rows: list[MappingRow], actor: User | None
) -> None:
    """F3, when an admin saves or resets the Lead mapping: one that takes status from no picklist
    gives the list back to the admins. A new picklist is not stored: it waits, read from the
    describe, until the admin applies a mapping."""
    if not _status_picklist(describe, rows):
        statuses_set_crm_source(organization=organization, enabled=False, actor=actor)


@transaction.atomic
def mapping_save(
    *, organization: Organization, sobject: str, rows: list[Any], actor: User | None
) -> list[MappingRow]:
    """Verify the rows against the object's live describe and store them in the given order.
    ``MappingInvalid`` (with per-row errors) when any row is wrong; ValidationError when
    Salesforce cannot be asked."""
    _check_object(sobject, MAPPED_OBJECTS)
    clean = [as_row(r) for r in rows]
    describe = _live_describe(organization, sobject)
    errors = validate_mapping(clean, describe, related=_related_describes(organization, describe, clean))
    if errors:
        raise MappingInvalid(errors)
    FieldMapping.objects.for_org(organization).filter(sobject=sobject).delete()
    FieldMapping.objects.bulk_create(
        FieldMapping(
            organization=organization,
            sobject=sobject,
            engage_field=row.engage_field,
            crm_field=row.crm_field,
            default_value=row.default_value,
            direction=row.direction,
            position=position,
        )
        for position, row in enumerate(clean)
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="crm.mapping_saved",
        target=f"{sobject} field mapping",
        data={"rows": [[r.engage_field, r.crm_field, r.direction] for r in clean if r.crm_field]},
    )
    if sobject == LEAD:
        _follow_status_picklist(organization=organization, describe=describe, rows=clean, actor=actor)
    return clean


@transaction.atomic
def mapping_reset(*, organization: Organization, sobject: str, actor: User | None) -> list[MappingRow]:
    """Back to the default mapping. For Leads, the status list then follows the default
    (Lead Status) when Salesforce answers; otherwise it is left as it is."""
    _check_object(sobject, MAPPED_OBJECTS)
    deleted, _ = FieldMapping.objects.for_org(organization).filter(sobject=sobject).delete()
    audit_record(
        organization=organization,
        actor=actor,
        action="crm.mapping_reset",
        target=f"{sobject} field mapping",
        data={"rows_removed": deleted},
    )
    rows = list(DEFAULT_MAPPINGS[sobject])
    if sobject == LEAD:
        try:
            describe = gateway.describe_for(organization, sobject)
        except (gateway.CrmNotConnected, gateway.CrmUnavailable):
            return rows
        _follow_status_picklist(organization=organization, describe=describe, rows=rows, actor=actor)
    return rows


def crm_status_picklist(
    *, organization: Organization, connection: Connection | None = None
) -> list[tuple[str, str, bool]]:
    """F3: the picklist the Lead mapping takes Contact Status from (Lead Status by default), read
    from the describe (cached), as ``(api_value, label, is_default)`` per active value; empty
    when the mapping takes status from no picklist. ValidationError when Salesforce cannot be
    asked."""
    try:
        describe = gateway.describe_for(organization, LEAD, connection=connection)
    except (gateway.CrmNotConnected, gateway.CrmUnavailable) as exc:
        raise ValidationError(str(exc)) from exc
    return _status_picklist(describe, mapping_rows(organization=organization, sobject=LEAD))


def crm_statuses_pending(
    *, organization: Organization, connection: Connection | None = None
) -> list[tuple[str, str, bool]]:
    """F3, worked out on read: the Lead Status picklist waiting for the admin's mapping, empty
    when none waits, Salesforce is not connected or cannot be asked just now. Writes nothing:
    the CRM pages, the Contact Status page and the mapping page show it on GET (the integrations
    app cannot tell Engage when Salesforce is connected, so every page asks)."""
    connection = connection or gateway.org_connection(organization)
    if connection is None:
        return []
    try:
        values = crm_status_picklist(organization=organization, connection=connection)
    except ValidationError:
        return []
    return crm_picklist_waiting(organization=organization, values=values)


def crm_statuses_apply_mapping(
    *, organization: Organization, mapping: dict[int, str], actor: User | None
) -> MappingResult:
    """The admin's mapping (status id -> Lead Status API value) of the picklist Salesforce has
    now, applied (``statuses_apply_crm_mapping``, audited). ValidationError when Salesforce
    cannot be asked, nothing waits, or a status has no valid value."""
    values = crm_status_picklist(organization=organization)
    return statuses_apply_crm_mapping(organization=organization, values=values, mapping=mapping, actor=actor)


def crm_statuses_follow_mapping(*, organization: Organization, actor: User | None) -> bool:
    """Apply the suggested mapping of the waiting picklist at once — for set-up scripts and
    tests that need a Salesforce-mirrored list; the product never calls it (admins apply
    mappings on the Statuses page). Returns whether the list comes from Salesforce."""
    try:
        values = crm_status_picklist(organization=organization)
    except ValidationError:
        return statuses_from_crm(organization=organization)
    picklist = crm_picklist_waiting(organization=organization, values=values)
    if picklist:
        choices = statuses_mapping_suggestions(organization=organization, picklist=picklist)
        statuses_apply_crm_mapping(
            organization=organization,
            values=values,
            mapping={c.status.pk: c.suggested for c in choices},
            actor=actor,
        )
    return statuses_from_crm(organization=organization)


# --- Sync rules -----------------------------------------------------------------------------------


def rule_for(*, organization: Organization, sobject: str) -> SyncRule:
    """The object's rule (unsaved and empty when none is stored: every record matches)."""
    _check_object(sobject, RULE_OBJECTS)
    rule = SyncRule.objects.for_org(organization).filter(sobject=sobject).first()
    return rule or SyncRule(organization=organization, sobject=sobject, combinator=SyncRule.Combinator.AND)


def _compile(describe: Describe, combinator: str, conditions: list[dict[str, Any]]) -> str:
    errors = check_conditions(conditions, describe)
    if errors:
        raise RuleInvalid(errors)
    try:
        return compile_where(conditions, combinator, describe)
    except ValidationError as exc:
        raise RuleInvalid({}, exc.messages) from exc


def _clean_conditions(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "field": str(c.get("field") or "").strip(),
            "operator": str(c.get("operator") or ""),
            "value": c.get("value", ""),
        }
        for c in conditions
    ]


@transaction.atomic
def rule_save(
    *,
    organization: Organization,
    sobject: str,
    combinator: str,
    conditions: list[dict[str, Any]],
    actor: User | None,
) -> tuple[SyncRule, str]:
    """Verify the conditions against the live describe and store the rule. Returns the rule and
    its compiled WHERE. ``RuleInvalid`` when a condition is wrong."""
    _check_object(sobject, RULE_OBJECTS)
    conditions = _clean_conditions(conditions)
    describe = _live_describe(organization, sobject)
    where = _compile(describe, combinator, conditions)
    rule, created = SyncRule.objects.select_for_update().get_or_create(
        organization=organization,
        sobject=sobject,
        defaults={"combinator": combinator, "conditions": conditions},
    )
    if not created:
        rule.combinator, rule.conditions = combinator, conditions
        rule.save(update_fields=["combinator", "conditions", "updated_at"])
    audit_record(
        organization=organization,
        actor=actor,
        action="crm.rule_saved",
        target=f"{sobject} sync rule",
        data={"combinator": combinator, "conditions": conditions, "where": where},
    )
    return rule, where


@dataclass(frozen=True)
class Preview:
    count: int | None
    where: str
    error: str = ""


def rule_preview_count(
    *, organization: Organization, sobject: str, combinator: str, conditions: list[dict[str, Any]]
) -> Preview:
    """How many records the (unsaved) rule matches, counted by Salesforce; or a plain message
    saying why it cannot be counted."""
    _check_object(sobject, RULE_OBJECTS)
    conditions = _clean_conditions(conditions)
    try:
        describe = _live_describe(organization, sobject)
        where = _compile(describe, combinator, conditions)
    except ValidationError as exc:
        return Preview(count=None, where="", error=" ".join(exc.messages))
    try:
        return Preview(count=gateway.count_matching(organization, sobject, where), where=where)
    except (gateway.CrmNotConnected, gateway.CrmUnavailable) as exc:
        return Preview(count=None, where=where, error=str(exc))


def rule_where(*, organization: Organization, sobject: str) -> str:
    """The stored rule compiled against the live describe: the WHERE the sync uses (``""`` for
    every record). ValidationError when Salesforce cannot be asked or the rule no longer fits
    the object (a field was deleted in Salesforce)."""
    rule = rule_for(organization=organization, sobject=sobject)
    if not rule.conditions:
        return ""
    describe = _live_describe(organization, sobject)
    return _compile(describe, rule.combinator, list(rule.conditions))
