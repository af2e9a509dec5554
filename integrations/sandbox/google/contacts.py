"""A user's Google Contacts: people in contact groups, with the change counter People's sync
tokens are built from (as ``calendars`` does for events).

Deleting a contact leaves a tombstone that incremental syncs return with ``metadata.deleted``.
Sync tokens expire 7 days after they were issued, or all at once when ``epoch`` moves.
"""

# Reference: https://developers.google.com/people/api/rest/v1/people.connections/list

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from integrations.sandbox.google.clock import Clock, rfc3339
from integrations.sandbox.google.sequences import IdSequence

SYNC_TOKEN_LIFETIME = 7 * 86400
SYSTEM_GROUPS = (("myContacts", "My Contacts"), ("starred", "Starred"))
_FIRST_NUMBER = 7_120_000_000_000_000_000
_NUMBERS = IdSequence(_FIRST_NUMBER)
_GROUP_ID_DIGITS = 12  # a contact group's id: the number's last 12 hex digits


@dataclass(eq=False)
class Contact:
    id: str  # "c7120…": resourceName is "people/<id>"
    fields: dict[str, Any]  # names, emailAddresses, phoneNumbers, organizations, …
    groups: list[str]  # contact group ids
    seq: int = 0
    updated: float = 0.0
    deleted: bool = False
    ordinal: int = 0

    @property
    def resource_name(self) -> str:
        return f"people/{self.id}"

    @property
    def etag(self) -> str:
        return f"%EgUBAi43PRoEAQIFByIM{self.seq:08d}"


@dataclass
class ContactGroup:
    id: str
    name: str
    system: bool = False
    formatted_name: str = ""
    updated: float = 0.0


@dataclass
class ContactBook:
    email: str
    clock: Clock
    contacts: dict[str, Contact] = field(default_factory=dict)
    groups: dict[str, ContactGroup] = field(default_factory=dict)
    seq: int = 0
    epoch: int = 0

    def __post_init__(self) -> None:
        for group_id, formatted in SYSTEM_GROUPS:
            self.groups[group_id] = ContactGroup(group_id, group_id, True, formatted, self.clock.now())

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Loaded from a state file: new contact and group numbers continue after its own."""
        self.__dict__.update(state)
        base = _FIRST_NUMBER - _FIRST_NUMBER % 16**_GROUP_ID_DIGITS
        used = [int(contact_id[1:]) for contact_id in self.contacts]
        used += [base + int(g.id, 16) for g in self.groups.values() if not g.system]
        if used:
            _NUMBERS.skip_past(max(used))

    def group_named(self, name: str) -> ContactGroup:
        group = next((g for g in self.groups.values() if not g.system and g.name == name), None)
        if group is None:
            group = ContactGroup(f"{_NUMBERS.take():x}"[-_GROUP_ID_DIGITS:], name, updated=self.clock.now())
            self.groups[group.id] = group
        return group

    def add(self, fields: dict[str, Any], group_names: Sequence[str] = ()) -> Contact:
        groups = ["myContacts", *(self.group_named(name).id for name in group_names)]
        contact = Contact(id=f"c{_NUMBERS.take()}", fields=fields, groups=groups, ordinal=len(self.contacts))
        self.contacts[contact.id] = contact
        self.touch(contact)
        return contact

    def touch(self, contact: Contact) -> None:
        self.seq += 1
        contact.seq, contact.updated = self.seq, self.clock.now()

    def delete(self, contact: Contact) -> None:
        contact.deleted = True
        self.touch(contact)

    def find_by_email(self, address: str) -> Contact | None:
        address = address.lower()
        for contact in self.contacts.values():
            emails = [e.get("value", "").lower() for e in contact.fields.get("emailAddresses", [])]
            if not contact.deleted and address in emails:
                return contact
        return None

    def member_count(self, group_id: str) -> int:
        return sum(1 for c in self.contacts.values() if not c.deleted and group_id in c.groups)

    def group_json(self, group: ContactGroup) -> dict[str, Any]:
        body: dict[str, Any] = {
            "resourceName": f"contactGroups/{group.id}",
            "etag": f"sbx{group.updated:.0f}",
            "metadata": {"updateTime": rfc3339(group.updated)},
            "groupType": "SYSTEM_CONTACT_GROUP" if group.system else "USER_CONTACT_GROUP",
            "name": group.name,
            "formattedName": group.formatted_name or group.name,
        }
        count = self.member_count(group.id)
        if count:
            body["memberCount"] = count
        return body
