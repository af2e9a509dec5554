"""The organisation's contact-status list (F3). Every organisation starts with
``DEFAULT_STATUSES``; ``statuses_ensure_defaults`` makes them on first use, so organisations
created before Engage existed get them too.

Admins edit the list in the Admin Portal unless it comes from the CRM
(``EngageSettings.statuses_from_crm``): then it mirrors the CRM's Lead Status picklist and every
other write here refuses with ``StatusesManagedByCrm``. The list never switches by itself: a
picklist the list does not mirror waits (``crm_picklist_waiting``, worked out on every read from
what Salesforce has now, never stored) until an admin maps each status to a value and applies it
(``statuses_apply_crm_mapping``). ``statuses_sync_from_crm`` is the direct mirror, for scripts and
set-ups that need no mapping.

Longer than our ~400 lines on purpose: every write of the status list is in this one module, so
its invariants (one default, unique names, CRM-managed or not) are kept in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from copilot.models import Organization, User
from copilot.services.audit import audit_record
from engage.models import DEFAULT_STATUSES, Contact, ContactStatus, EngageSettings

NAME_MAX_LENGTH = 80
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
CRM_READ_ONLY_MESSAGE = "Statuses come from your CRM's Lead Status picklist; change them there."


class StatusesManagedByCrm(PermissionDenied):
    """The list mirrors the CRM's picklist, so Cadence does not edit it."""

    def __init__(self) -> None:
        super().__init__(CRM_READ_ONLY_MESSAGE)


# --- Reads ----------------------------------------------------------------------------------------


def engage_settings_for(organization: Organization) -> EngageSettings:
    settings_row, _ = EngageSettings.objects.get_or_create(organization=organization)
    return settings_row


def statuses_from_crm(*, organization: Organization) -> bool:
    return EngageSettings.objects.filter(organization=organization, statuses_from_crm=True).exists()


def status_list(*, organization: Organization) -> QuerySet[ContactStatus]:
    """The ordered list, each with ``contact_count`` (one query however long the list is)."""
    return (
        ContactStatus.objects.for_org(organization)
        .annotate(contact_count=Count("contacts"))
        .order_by("position", "id")
    )


def statuses_ensure_defaults(*, organization: Organization) -> None:
    """Create the default list unless the organisation has statuses already (idempotent, and
    safe when two requests race: the unique constraints make the loser's insert a no-op)."""
    if ContactStatus.objects.for_org(organization).exists():
        return
    try:
        with transaction.atomic():
            ContactStatus.objects.bulk_create(
                ContactStatus(
                    organization=organization,
                    name=name,
                    color=color,
                    position=position,
                    is_default=position == 0,
                )
                for position, (name, color) in enumerate(DEFAULT_STATUSES)
            )
    except IntegrityError:
        pass  # another request made them first


def status_default(*, organization: Organization) -> ContactStatus:
    """The status new contacts get."""
    statuses_ensure_defaults(organization=organization)
    qs = ContactStatus.objects.for_org(organization)
    return qs.filter(is_default=True).first() or qs.order_by("position", "id").first()


# --- Checks ---------------------------------------------------------------------------------------


def _check_editable(organization: Organization) -> None:
    if statuses_from_crm(organization=organization):
        raise StatusesManagedByCrm()


def _check_name(*, organization: Organization, name: str, exclude_pk: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the status a name."})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": f"Keep the name to {NAME_MAX_LENGTH} characters or fewer."})
    clash = ContactStatus.objects.for_org(organization).filter(name__iexact=name)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": f"There is already a status called “{name}”."})
    return name


def _check_color(color: str) -> str:
    color = (color or "").strip()
    if not COLOR_RE.match(color):
        raise ValidationError({"color": "Pick a colour written as #rrggbb, for example #2563eb."})
    return color.lower()


def _locked(organization: Organization) -> list[ContactStatus]:
    """The organisation's statuses in order, locked until the transaction ends."""
    return list(ContactStatus.objects.for_org(organization).select_for_update().order_by("position", "id"))


def _renumber(statuses: list[ContactStatus]) -> None:
    """Dense positions 0..n-1 in the given order (writes only the rows that change)."""
    changed = []
    for position, status in enumerate(statuses):
        if status.position != position:
            status.position = position
            changed.append(status)
    if changed:
        ContactStatus.objects.bulk_update(changed, ["position"])


# --- Writes by admins -----------------------------------------------------------------------------


@transaction.atomic
def status_create(*, organization: Organization, actor: User | None, name: str, color: str) -> ContactStatus:
    """Add a status at the end of the list."""
    _check_editable(organization)
    name = _check_name(organization=organization, name=name)
    color = _check_color(color)
    last = ContactStatus.objects.for_org(organization).aggregate(last=Max("position"))["last"]
    try:
        with transaction.atomic():
            status = ContactStatus.objects.create(
                organization=organization, name=name, color=color, position=0 if last is None else last + 1
            )
    except IntegrityError as exc:  # a concurrent create with the same name
        raise ValidationError({"name": f"There is already a status called “{name}”."}) from exc
    audit_record(
        organization=organization, actor=actor, action="status.created", target=name, data={"color": color}
    )
    return status


@transaction.atomic
def status_update(*, status: ContactStatus, actor: User | None, name: str, color: str) -> ContactStatus:
    """Rename and/or recolour."""
    organization = status.organization
    _check_editable(organization)
    new_name = _check_name(organization=organization, name=name, exclude_pk=status.pk)
    new_color = _check_color(color)
    changes = {}
    if new_name != status.name:
        changes["name"] = [status.name, new_name]
    if new_color != status.color:
        changes["color"] = [status.color, new_color]
    if not changes:
        return status
    status.name, status.color = new_name, new_color
    try:
        with transaction.atomic():
            status.save(update_fields=["name", "color"])
    except IntegrityError as exc:
        raise ValidationError({"name": f"There is already a status called “{new_name}”."}) from exc
    audit_record(
        organization=organization, actor=actor, action="status.updated", target=new_name, data=changes
    )
    return status


@transaction.atomic
def status_move(*, status: ContactStatus, actor: User | None, direction: str) -> ContactStatus:
    """Swap the status with its neighbour ("up" or "down"); positions are renumbered densely.
    Moving the first up or the last down changes nothing."""
    if direction not in ("up", "down"):
        raise ValidationError("Move a status up or down.")
    organization = status.organization
    _check_editable(organization)
    ordered = _locked(organization)
    index = next((i for i, s in enumerate(ordered) if s.pk == status.pk), None)
    if index is None:
        raise ValidationError("That status no longer exists.")
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
        audit_record(
            organization=organization,
            actor=actor,
            action="status.moved",
            target=status.name,
            data={"direction": direction, "position": other},
        )
    _renumber(ordered)
    status.position = next(s.position for s in ordered if s.pk == status.pk)
    return status


@transaction.atomic
def status_set_default(*, status: ContactStatus, actor: User | None) -> ContactStatus:
    """New contacts get this status from now on; existing contacts keep theirs."""
    organization = status.organization
    _check_editable(organization)
    _locked(organization)
    if status.is_default:
        return status
    previous = ContactStatus.objects.for_org(organization).filter(is_default=True).first()
    # Clear first: the database allows one default per organisation at any moment.
    ContactStatus.objects.for_org(organization).filter(is_default=True).update(is_default=False)
    status.is_default = True
    status.save(update_fields=["is_default"])
    audit_record(
        organization=organization,
        actor=actor,
        action="status.default_set",
        target=status.name,
        data={"previous": previous.name if previous else ""},
    )
    return status


@transaction.atomic
def status_delete(*, status: ContactStatus, move_to: ContactStatus | None, actor: User | None) -> int:
    """Delete ``status``, first moving its contacts to ``move_to`` (one UPDATE, which also sets
    their ``updated_at``). Returns how many contacts moved. The default status and the last
    status cannot be deleted."""
    organization = status.organization
    _check_editable(organization)
    ordered = _locked(organization)
    current = next((s for s in ordered if s.pk == status.pk), None)
    if current is None:
        raise ValidationError("That status no longer exists.")
    if len(ordered) == 1:
        raise ValidationError("This is the only status left; an organisation needs at least one.")
    if current.is_default:
        raise ValidationError(
            f"“{current.name}” is the default status for new contacts. "
            "Make another status the default first, then delete this one."
        )
    moved = 0
    contacts = Contact.objects.for_org(organization).filter(status=current)
    if contacts.exists():
        if move_to is None:
            raise ValidationError({"move_to": "Choose the status its contacts move to."})
        if move_to.organization_id != organization.pk or move_to.pk == current.pk:
            raise ValidationError({"move_to": "Choose another status of your organisation."})
        moved = contacts.update(status=move_to, updated_at=timezone.now())
    current.delete()
    _renumber([s for s in ordered if s.pk != current.pk])
    audit_record(
        organization=organization,
        actor=actor,
        action="status.deleted",
        target=current.name,
        data={"contacts_moved": moved, "moved_to": move_to.name if moved and move_to else ""},
    )
    return moved


# --- The CRM as the source of the list ------------------------------------------------------------


@transaction.atomic
def statuses_set_crm_source(
    *, organization: Organization, enabled: bool, actor: User | None
) -> EngageSettings:
    """Whether the list comes from the CRM (read-only here) or is edited in Cadence."""
    settings_row = EngageSettings.objects.select_for_update().get_or_create(organization=organization)[0]
    if settings_row.statuses_from_crm != enabled:
        settings_row.statuses_from_crm = enabled
        settings_row.save(update_fields=["statuses_from_crm"])
        audit_record(
            organization=organization,
            actor=actor,
            action="statuses.crm_source_on" if enabled else "statuses.crm_source_off",
            target="Contact statuses",
        )
    return settings_row


@dataclass(frozen=True)
class CrmSyncResult:
    created: int
    updated: int
    removed: int
    kept_unlisted: list[str]  # no longer in the picklist, kept because contacts still use them


@transaction.atomic
def statuses_sync_from_crm(
    *,
    organization: Organization,
    values: list[tuple[str, str, bool]],
    actor: User | None = None,
) -> CrmSyncResult:
    """Mirror the CRM's Lead Status picklist: ``values`` are ``(api_value, label, is_default)``
    in picklist order. A status is matched by its ``crm_value``, else by its name (so the first
    sync adopts the matching default statuses and their contacts). Matched statuses take the
    label as name and the picklist's order; unmatched values are created. Statuses the picklist
    no longer has are deleted when no contact uses them, otherwise kept at the end of the list.
    Turns ``statuses_from_crm`` on."""
    picklist = _picklist(values)
    # Lock first, count after: PostgreSQL refuses FOR UPDATE together with GROUP BY.
    existing = _locked(organization)
    used = set(
        Contact.objects.for_org(organization)
        .filter(status__in=existing)
        .values_list("status_id", flat=True)
        .distinct()
    )
    matched = _match_picklist(existing, picklist)
    claimed = {s.pk for s in matched.values()}
    leftovers = [s for s in existing if s.pk not in claimed]
    unused = [s for s in leftovers if s.pk not in used]
    kept = [s for s in leftovers if s.pk in used]
    created = _write_picklist(organization, picklist, matched, unused, kept)

    settings_row = engage_settings_for(organization)
    settings_row.statuses_from_crm = True
    settings_row.crm_picklist_applied = _as_rows(picklist)
    settings_row.save(update_fields=["statuses_from_crm", "crm_picklist_applied"])
    result = CrmSyncResult(
        created=len(created),
        updated=len(matched),
        removed=len(unused),
        kept_unlisted=[s.name for s in kept],
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="statuses.synced_from_crm",
        target="Lead Status picklist",
        data={
            "created": result.created,
            "updated": result.updated,
            "removed": result.removed,
            "kept_unlisted": result.kept_unlisted,
        },
    )
    return result


def _picklist(values: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """The picklist's values cleaned: blank and repeated API values dropped, names trimmed and
    kept apart when two values share a label. ValidationError when nothing is left."""
    picklist: list[tuple[str, str, bool]] = []
    seen_values: set[str] = set()
    seen_names: set[str] = set()
    for api_value, label, is_default in values:
        api_value = (api_value or "").strip()
        if not api_value or api_value in seen_values:
            continue
        name = " ".join((label or api_value).split())[:NAME_MAX_LENGTH]
        if name.lower() in seen_names:  # two values with the same label: keep them apart
            name = f"{name} ({api_value})"[:NAME_MAX_LENGTH]
        seen_values.add(api_value)
        seen_names.add(name.lower())
        picklist.append((api_value, name, bool(is_default)))
    if not picklist:
        raise ValidationError(
            "The CRM's Lead Status picklist has no values; the status list was left as it is."
        )
    return picklist


def _match_picklist(
    existing: list[ContactStatus], picklist: list[tuple[str, str, bool]]
) -> dict[str, ContactStatus]:
    """Which existing status each picklist value takes over: by ``crm_value`` first, then by
    name among the statuses not yet claimed."""
    by_value = {s.crm_value: s for s in existing if s.crm_value}
    matched: dict[str, ContactStatus] = {}
    for api_value, _name, _default in picklist:
        if api_value in by_value:
            matched[api_value] = by_value[api_value]
    claimed = {s.pk for s in matched.values()}
    by_name = {s.name.lower(): s for s in existing if s.pk not in claimed}
    for api_value, name, _default in picklist:
        if api_value not in matched and name.lower() in by_name and by_name[name.lower()].pk not in claimed:
            matched[api_value] = by_name[name.lower()]
            claimed.add(matched[api_value].pk)
    return matched


def _write_picklist(
    organization: Organization,
    picklist: list[tuple[str, str, bool]],
    matched: dict[str, ContactStatus],
    unused: list[ContactStatus],
    kept: list[ContactStatus],
) -> list[ContactStatus]:
    """Store the mirrored list: delete ``unused``, rename and reorder ``matched``, create the
    rest, move ``kept`` to the end, with exactly one default throughout. Returns the created."""
    ContactStatus.objects.for_org(organization).filter(is_default=True).update(is_default=False)
    ContactStatus.objects.filter(pk__in=[s.pk for s in unused]).delete()
    # Renames may swap names between rows; park the matched rows on unique placeholder names so
    # the case-insensitive unique constraint never sees two rows with the same name mid-way.
    parked = list(matched.values())
    for status in parked:
        status.name = f"~sync~{status.pk}"
    ContactStatus.objects.bulk_update(parked, ["name"])

    has_default = any(is_default for _v, _n, is_default in picklist)
    final: list[ContactStatus] = []
    created = []
    for position, (api_value, name, is_default) in enumerate(picklist):
        status = matched.get(api_value)
        if status is None:
            status = ContactStatus(organization=organization, color="#64748b")
            created.append(status)
        status.name, status.crm_value, status.position = name, api_value, position
        status.is_default = is_default if has_default else position == 0
        final.append(status)
    # At most one default: the first the picklist flags.
    defaults = [s for s in final if s.is_default]
    for status in defaults[1:]:
        status.is_default = False
    final_names = {s.name.lower() for s in final}
    for offset, status in enumerate(kept, start=len(final)):
        status.position = offset
        status.is_default = False
        if status.name.lower() in final_names:  # its name now belongs to a picklist value
            status.name = f"{status.name[: NAME_MAX_LENGTH - 20]} (not in CRM {status.pk})"

    default_row = defaults[0]
    default_row.is_default = False  # set last, after every other row has let go of it
    # Kept rows first: one may be giving up its name to a picklist value.
    ContactStatus.objects.bulk_update(kept, ["name", "position", "is_default"])
    ContactStatus.objects.bulk_update(
        [s for s in final if s.pk], ["name", "crm_value", "position", "is_default"]
    )
    ContactStatus.objects.bulk_create(created)
    default_row.is_default = True
    ContactStatus.objects.filter(pk=default_row.pk).update(is_default=True)
    return created


# --- Mapping the list onto the CRM's picklist (F3) -------------------------------------------------
# Nothing switches silently: a picklist seen in Salesforce that the list does not follow waits
# until an admin maps each status to a value and applies the mapping
# (``statuses_apply_crm_mapping``). What waits is worked out on read from the picklist Salesforce
# has now and ``EngageSettings.crm_picklist_applied`` (what the admin last applied): the pages
# that show it write nothing.


def _as_rows(picklist: list[tuple[str, str, bool]]) -> list[list]:
    return [[api_value, name, bool(is_default)] for api_value, name, is_default in picklist]


def _waiting(
    organization: Organization, settings_row: EngageSettings | None, values: list[tuple[str, str, bool]]
) -> list[tuple[str, str, bool]]:
    if not values:
        return []
    try:
        seen = _picklist(values)
    except ValidationError:  # no usable value: nothing to map onto
        return []
    if settings_row is not None and settings_row.statuses_from_crm:
        applied = settings_row.crm_picklist_applied
        if _as_rows(seen) == applied:
            return []
        if not applied and _mirrors(organization, _as_rows(seen)):
            return []  # a list that mirrored the picklist before mappings were asked for
    return seen


def crm_picklist_waiting(
    *, organization: Organization, values: list[tuple[str, str, bool]]
) -> list[tuple[str, str, bool]]:
    """The Lead Status picklist waiting for an admin's mapping, given ``values``, the picklist as
    Salesforce has it now (``(api_value, label, is_default)`` in picklist order; empty when the
    Lead mapping takes status from no picklist). Empty when nothing waits: no picklist, or the
    list follows it already (the admin applied it, or the list mirrored it before mappings were
    asked for). Reads only: one query, two for a list that predates mappings."""
    settings_row = EngageSettings.objects.filter(organization=organization).first()
    return _waiting(organization, settings_row, values)


def _mirrors(organization: Organization, picklist: list[list]) -> bool:
    current = list(
        ContactStatus.objects.for_org(organization)
        .order_by("position", "id")
        .values_list("crm_value", "name")
    )
    return current == [(v, n) for v, n, _d in picklist]


def _suggest(name: str, picklist: list[tuple[str, str, bool]]) -> str:
    """The picklist value a status is suggested to become: the same name (case-insensitive),
    else a value whose label contains the name or is contained in it, else the default value."""
    lowered = name.lower()
    for api_value, label, _d in picklist:
        if lowered in (label.lower(), api_value.lower()):
            return api_value
    for api_value, label, _d in picklist:
        if lowered in label.lower() or label.lower() in lowered:
            return api_value
    return next((v for v, _n, d in picklist if d), picklist[0][0])


@dataclass(frozen=True)
class MappingChoice:
    status: ContactStatus  # with ``contact_count``
    suggested: str  # the picklist's API value


def statuses_mapping_suggestions(
    *, organization: Organization, picklist: list[tuple[str, str, bool]]
) -> list[MappingChoice]:
    """Each status (in order, with its contact count) and the value of ``picklist`` (the one
    waiting, ``crm_picklist_waiting``) suggested for it; empty when nothing waits. One query
    however long the list is."""
    if not picklist:
        return []
    return [
        MappingChoice(status=s, suggested=_suggest(s.name, picklist))
        for s in status_list(organization=organization)
    ]


@dataclass(frozen=True)
class MappingResult:
    moved: dict[str, int]  # picklist label -> contacts moved onto it
    retired: list[str]  # statuses no longer in the list


@transaction.atomic
def statuses_apply_crm_mapping(
    *,
    organization: Organization,
    values: list[tuple[str, str, bool]],
    mapping: dict[int, str],
    actor: User | None,
) -> MappingResult:
    """Apply the admin's mapping (status id -> picklist API value) onto ``values``, the Lead
    Status picklist as Salesforce has it now, in one transaction: contacts move to their
    status's value (one UPDATE per value), the list becomes the picklist (its order and default)
    and remembers it as applied, and statuses that map onto another value leave the list.
    ValidationError when the list follows the picklist already or a status has no valid value."""
    settings_row = EngageSettings.objects.select_for_update().get_or_create(organization=organization)[0]
    picklist = _waiting(organization, settings_row, values)
    if not picklist:
        raise ValidationError("No Salesforce Lead Status mapping is waiting: the list is up to date.")
    existing = _locked(organization)
    chosen = {int(pk): str(value) for pk, value in mapping.items()}
    values = {v for v, _n, _d in picklist}
    missing = [s.name for s in existing if chosen.get(s.pk) not in values]
    if missing:
        raise ValidationError(f"Choose a Salesforce Lead Status for {', '.join(missing)}.")

    # The row that carries each value: a status mapped onto it that already mirrors it or has
    # its name keeps its id (and its contacts); every other value gets a new row.
    carriers: dict[str, ContactStatus] = {}
    for api_value, name, _d in picklist:
        mapped = [s for s in existing if chosen[s.pk] == api_value]
        carrier = next((s for s in mapped if s.crm_value == api_value), None) or next(
            (s for s in mapped if s.name.lower() == name.lower()), None
        )
        if carrier is not None:
            carriers[api_value] = carrier
    kept = {s.pk for s in carriers.values()}
    retired = [s for s in existing if s.pk not in kept]

    # Park every name first: the case-insensitive unique constraint must never see two rows
    # with one name mid-way (a retired status may give its name to a new value).
    originals = {s.pk: s.name for s in existing}
    ContactStatus.objects.for_org(organization).filter(is_default=True).update(is_default=False)
    for status in existing:
        status.name, status.is_default = f"~map~{status.pk}", False
    ContactStatus.objects.bulk_update(existing, ["name", "is_default"])
    default_value = next((v for v, _n, d in picklist if d), picklist[0][0])
    final, created = [], []
    for position, (api_value, name, _d) in enumerate(picklist):
        status = carriers.get(api_value)
        if status is None:
            status = ContactStatus(organization=organization, color=_color_for(name))
            created.append(status)
        status.name, status.crm_value, status.position = name, api_value, position
        final.append(status)
    ContactStatus.objects.bulk_update([s for s in final if s.pk], ["name", "crm_value", "position"])
    ContactStatus.objects.bulk_create(created)
    target = {s.crm_value: s for s in final}
    ContactStatus.objects.filter(pk=target[default_value].pk).update(is_default=True)

    moved: dict[str, int] = {}
    now = timezone.now()
    for api_value, name, _d in picklist:
        sources = [s.pk for s in retired if chosen[s.pk] == api_value]
        if sources:
            count = (
                Contact.objects.for_org(organization)
                .filter(status_id__in=sources)
                .update(status=target[api_value], updated_at=now)
            )
            if count:
                moved[name] = count
    # Every contact of a retired status has moved, so nothing needs it any more.
    ContactStatus.objects.filter(pk__in=[s.pk for s in retired]).delete()

    settings_row.statuses_from_crm = True
    settings_row.crm_picklist_applied = _as_rows(picklist)
    settings_row.save(update_fields=["statuses_from_crm", "crm_picklist_applied"])
    labels = {v: n for v, n, _d in picklist}
    result = MappingResult(moved=moved, retired=[originals[s.pk] for s in retired])
    audit_record(
        organization=organization,
        actor=actor,
        action="statuses.crm_mapping_applied",
        target="Lead Status picklist",
        data={
            "mapping": {originals[s.pk]: labels[chosen[s.pk]] for s in existing},
            "moved": moved,
            "retired": result.retired,
            "default": labels[default_value],
        },
    )
    return result


def _color_for(name: str) -> str:
    """A default status's colour when the value has its name, else slate."""
    return next((c for n, c in DEFAULT_STATUSES if n.lower() == name.lower()), "#64748b")
