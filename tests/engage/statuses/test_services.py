"""The status-list services (F3): every write an admin makes, and the CRM as the list's source."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from copilot.models import AuditEvent
from engage.models import DEFAULT_STATUSES, Contact, ContactStatus
from engage.services.statuses import (
    StatusesManagedByCrm,
    status_create,
    status_default,
    status_delete,
    status_list,
    status_move,
    status_set_default,
    status_update,
    statuses_from_crm,
    statuses_set_crm_source,
    statuses_sync_from_crm,
)
from tests.factories import ContactFactory


def names(org) -> list[str]:
    return [s.name for s in status_list(organization=org)]


def status(org, name: str) -> ContactStatus:
    return ContactStatus.objects.get(organization=org, name=name)


def test_a_new_organisation_starts_with_the_default_list(acme):
    assert names(acme) == [name for name, _ in DEFAULT_STATUSES]
    assert status_default(organization=acme).name == "New"


def test_an_admin_adds_a_status_at_the_end(acme, owner):
    created = status_create(organization=acme, actor=owner, name="  Negotiating ", color="#FF8800")
    assert created.name == "Negotiating" and created.color == "#ff8800"
    assert names(acme)[-1] == "Negotiating"
    event = AuditEvent.objects.get(organization=acme, action="status.created")
    assert event.actor == owner and event.target == "Negotiating"


@pytest.mark.parametrize(
    ("name", "color", "field", "message"),
    [
        ("", "#112233", "name", "Give the status a name."),
        ("   ", "#112233", "name", "Give the status a name."),
        ("x" * 81, "#112233", "name", "80 characters or fewer"),
        ("open", "#112233", "name", "There is already a status called “open”."),
        ("Fine", "red", "color", "#rrggbb"),
        ("Fine", "#12345", "color", "#rrggbb"),
        ("Fine", "#12345g", "color", "#rrggbb"),
    ],
)
def test_bad_names_and_colours_are_refused(acme, owner, name, color, field, message):
    with pytest.raises(ValidationError) as exc:
        status_create(organization=acme, actor=owner, name=name, color=color)
    assert message in " ".join(exc.value.message_dict[field])
    assert len(names(acme)) == len(DEFAULT_STATUSES)


def test_names_are_unique_per_organisation_only(acme, globex, owner, outsider):
    status_create(organization=globex, actor=outsider, name="Negotiating", color="#000000")
    status_create(organization=acme, actor=owner, name="Negotiating", color="#000000")
    assert "Negotiating" in names(acme) and "Negotiating" in names(globex)


def test_rename_and_recolour(acme, owner):
    target = status(acme, "Open")
    status_update(status=target, actor=owner, name="Working", color="#00AA00")
    target.refresh_from_db()
    assert (target.name, target.color) == ("Working", "#00aa00")
    event = AuditEvent.objects.get(organization=acme, action="status.updated")
    assert event.data == {"name": ["Open", "Working"], "color": ["#7c3aed", "#00aa00"]}


def test_a_status_may_change_only_the_case_of_its_own_name(acme, owner):
    target = status(acme, "Open")
    status_update(status=target, actor=owner, name="OPEN", color=target.color)
    assert status(acme, "OPEN").pk == target.pk


def test_renaming_onto_another_status_name_is_refused(acme, owner):
    target = status(acme, "Open")
    with pytest.raises(ValidationError) as exc:
        status_update(status=target, actor=owner, name="closed", color=target.color)
    assert "already a status called" in exc.value.message_dict["name"][0]
    target.refresh_from_db()
    assert target.name == "Open"


def test_moving_swaps_neighbours_and_renumbers_densely(acme, owner):
    ContactStatus.objects.filter(organization=acme, name="Closed").update(position=50)  # a gap
    before = names(acme)
    status_move(status=status(acme, "Open"), actor=owner, direction="up")
    after = names(acme)
    i = before.index("Open")
    assert after[i - 1] == "Open"
    positions = [s.position for s in status_list(organization=acme)]
    assert positions == list(range(len(positions)))


def test_moving_the_first_up_or_the_last_down_changes_nothing(acme, owner):
    before = names(acme)
    status_move(status=status(acme, before[0]), actor=owner, direction="up")
    status_move(status=status(acme, before[-1]), actor=owner, direction="down")
    assert names(acme) == before
    assert not AuditEvent.objects.filter(action="status.moved").exists()


def test_moving_needs_a_direction(acme, owner):
    with pytest.raises(ValidationError):
        status_move(status=status(acme, "Open"), actor=owner, direction="sideways")


def test_setting_the_default_moves_the_badge(acme, owner):
    status_set_default(status=status(acme, "Open"), actor=owner)
    assert status_default(organization=acme).name == "Open"
    assert ContactStatus.objects.filter(organization=acme, is_default=True).count() == 1
    assert AuditEvent.objects.get(action="status.default_set").data == {"previous": "New"}


def test_deleting_moves_its_contacts_and_stamps_them(acme, owner):
    contacted, opened = status(acme, "Contacted"), status(acme, "Open")
    moving = ContactFactory.create_batch(3, organization=acme, status=contacted)
    staying = ContactFactory(organization=acme)
    old_stamp = moving[0].updated_at

    moved = status_delete(status=contacted, move_to=opened, actor=owner)

    assert moved == 3
    assert not ContactStatus.objects.filter(pk=contacted.pk).exists()
    assert set(Contact.objects.filter(status=opened).values_list("pk", flat=True)) == {c.pk for c in moving}
    moving[0].refresh_from_db()
    assert moving[0].updated_at > old_stamp
    staying.refresh_from_db()
    assert staying.status.name == "New"
    event = AuditEvent.objects.get(action="status.deleted")
    assert event.target == "Contacted" and event.data == {"contacts_moved": 3, "moved_to": "Open"}
    positions = [s.position for s in status_list(organization=acme)]
    assert positions == list(range(len(positions)))


def test_an_unused_status_is_deleted_without_a_target(acme, owner):
    assert status_delete(status=status(acme, "Closed"), move_to=None, actor=owner) == 0
    assert "Closed" not in names(acme)


def test_a_used_status_needs_a_target_of_the_same_organisation(acme, globex, owner):
    contacted = status(acme, "Contacted")
    ContactFactory(organization=acme, status=contacted)
    with pytest.raises(ValidationError) as exc:
        status_delete(status=contacted, move_to=None, actor=owner)
    assert "move_to" in exc.value.message_dict
    with pytest.raises(ValidationError):
        status_delete(status=contacted, move_to=status(globex, "Open"), actor=owner)
    with pytest.raises(ValidationError):
        status_delete(status=contacted, move_to=contacted, actor=owner)
    assert ContactStatus.objects.filter(pk=contacted.pk).exists()


def test_the_default_status_cannot_be_deleted(acme, owner):
    with pytest.raises(ValidationError) as exc:
        status_delete(status=status(acme, "New"), move_to=status(acme, "Open"), actor=owner)
    assert "Make another status the default first" in exc.value.messages[0]
    assert "New" in names(acme)


def test_the_last_status_cannot_be_deleted(acme, owner):
    ContactStatus.objects.filter(organization=acme).exclude(name="New").delete()
    with pytest.raises(ValidationError) as exc:
        status_delete(status=status(acme, "New"), move_to=None, actor=owner)
    assert "only status left" in exc.value.messages[0]


def test_every_write_is_refused_while_the_list_comes_from_the_crm(acme, owner):
    statuses_set_crm_source(organization=acme, enabled=True, actor=owner)
    opened = status(acme, "Open")
    before = list(ContactStatus.objects.filter(organization=acme).values_list("name", "color", "position"))
    writes = [
        lambda: status_create(organization=acme, actor=owner, name="X", color="#000000"),
        lambda: status_update(status=opened, actor=owner, name="X", color="#000000"),
        lambda: status_move(status=opened, actor=owner, direction="up"),
        lambda: status_set_default(status=opened, actor=owner),
        lambda: status_delete(status=opened, move_to=None, actor=owner),
    ]
    for write in writes:
        with pytest.raises(StatusesManagedByCrm, match="Lead Status picklist"):
            write()
    after = list(ContactStatus.objects.filter(organization=acme).values_list("name", "color", "position"))
    assert after == before
    assert status_default(organization=acme).name == "New"


def test_the_crm_source_switch_is_audited_once_per_change(acme, owner):
    statuses_set_crm_source(organization=acme, enabled=True, actor=owner)
    statuses_set_crm_source(organization=acme, enabled=True, actor=owner)
    assert statuses_from_crm(organization=acme)
    statuses_set_crm_source(organization=acme, enabled=False, actor=owner)
    assert not statuses_from_crm(organization=acme)
    actions = list(AuditEvent.objects.filter(organization=acme).values_list("action", flat=True))
    assert sorted(actions) == ["statuses.crm_source_off", "statuses.crm_source_on"]


PICKLIST = [
    ("Open - Not Contacted", "Open", True),
    ("Working - Contacted", "Working", False),
    ("Closed - Converted", "Converted", False),
    ("Closed - Not Converted", "Closed", False),
]


def test_sync_from_crm_mirrors_the_picklist(acme, owner):
    opened, closed, prospecting = status(acme, "Open"), status(acme, "Closed"), status(acme, "Prospecting")
    on_open = ContactFactory(organization=acme, status=opened)
    on_prospecting = ContactFactory(organization=acme, status=prospecting)

    result = statuses_sync_from_crm(organization=acme, values=PICKLIST, actor=owner)

    # Matching names adopted the existing rows (and so their contacts), in the picklist's order;
    # a status the picklist lacks stays at the end while contacts use it; unused ones are gone.
    assert names(acme) == ["Open", "Working", "Converted", "Closed", "Prospecting"]
    assert status(acme, "Open").pk == opened.pk and status(acme, "Closed").pk == closed.pk
    assert status(acme, "Open").crm_value == "Open - Not Contacted"
    on_open.refresh_from_db()
    on_prospecting.refresh_from_db()
    assert (on_open.status_id, on_prospecting.status_id) == (opened.pk, prospecting.pk)
    assert status_default(organization=acme).name == "Open"
    assert ContactStatus.objects.filter(organization=acme, is_default=True).count() == 1
    assert (result.created, result.updated, result.removed) == (2, 2, 5)
    assert result.kept_unlisted == ["Prospecting"]
    positions = [s.position for s in status_list(organization=acme)]
    assert positions == list(range(5))
    assert statuses_from_crm(organization=acme)
    assert AuditEvent.objects.filter(organization=acme, action="statuses.synced_from_crm").count() == 1


def test_a_later_sync_follows_renames_and_reorders_by_api_value(acme, owner):
    statuses_sync_from_crm(organization=acme, values=PICKLIST, actor=owner)
    working = status(acme, "Working")
    contact = ContactFactory(organization=acme, status=working)
    # Labels swap between two values and the order changes: rows follow their api value.
    statuses_sync_from_crm(
        organization=acme,
        values=[
            ("Closed - Not Converted", "Converted", False),
            ("Closed - Converted", "Closed", False),
            ("Working - Contacted", "In progress", True),
            ("Open - Not Contacted", "Open", False),
        ],
    )
    assert names(acme) == ["Converted", "Closed", "In progress", "Open"]
    assert status(acme, "Converted").crm_value == "Closed - Not Converted"
    contact.refresh_from_db()
    assert contact.status.name == "In progress"
    assert status_default(organization=acme).name == "In progress"


def test_a_picklist_without_a_default_makes_its_first_value_the_default(acme):
    statuses_sync_from_crm(organization=acme, values=[("A", "Alpha", False), ("B", "Beta", False)])
    assert status_default(organization=acme).name == "Alpha"


def test_a_kept_status_gives_up_a_name_the_picklist_now_uses(acme):
    statuses_sync_from_crm(organization=acme, values=[("A", "Alpha", True), ("B", "Beta", False)])
    ContactFactory(organization=acme, status=status(acme, "Beta"))
    # B leaves the picklist while A takes B's label.
    statuses_sync_from_crm(organization=acme, values=[("A", "Beta", True)])
    listed = names(acme)
    assert listed[0] == "Beta" and listed[1].startswith("Beta (not in CRM")
    assert status(acme, "Beta").crm_value == "A"


def test_a_status_whose_api_value_changed_is_adopted_by_its_label(acme):
    statuses_sync_from_crm(organization=acme, values=[("A", "Alpha", True), ("B", "Beta", False)])
    beta = status(acme, "Beta")
    statuses_sync_from_crm(organization=acme, values=[("A", "Alpha", True), ("C", "Beta", False)])
    assert status(acme, "Beta").pk == beta.pk and status(acme, "Beta").crm_value == "C"


def test_duplicate_values_and_labels_in_the_picklist_are_kept_apart(acme):
    statuses_sync_from_crm(
        organization=acme, values=[("A", "Same", True), ("A", "Again", False), ("B", "same", False)]
    )
    assert names(acme) == ["Same", "same (B)"]


def test_an_empty_picklist_leaves_the_list_alone(acme):
    with pytest.raises(ValidationError, match="no values"):
        statuses_sync_from_crm(organization=acme, values=[])
    assert names(acme) == [name for name, _ in DEFAULT_STATUSES]
    assert not statuses_from_crm(organization=acme)
