"""The contacts list pages by keyset: every contact appears exactly once, in order, whichever
sort, forwards and backwards, and a page costs the same number of queries wherever it is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from engage import selectors
from engage.models import Contact
from tests.factories import ContactFactory


@pytest.fixture
def many_contacts(acme, owner):
    now = timezone.now()
    names = ["adams", "Baker", "baker", "Çelik", "davis", "", "Evans"]
    contacts = []
    for i in range(23):
        # Ties on purpose: several contacts share a timestamp and a name, so the id decides.
        contacts.append(
            ContactFactory(
                organization=acme,
                owner=owner if i % 2 else None,
                last_name=names[i % len(names)],
                first_name=f"P{i % 3}",
                updated_at=now - timedelta(minutes=i // 3),
                created_at=now - timedelta(hours=i // 4),
            )
        )
    return contacts


def _walk(organization, filters, size):
    seen, after, pages = [], "", 0
    while True:
        page = selectors.contact_list_page(organization=organization, filters=filters, after=after, size=size)
        pages += 1
        seen.extend(page.rows)
        if not page.next_cursor:
            return seen, pages, page
        after = page.next_cursor


def _key(sort: str, c: Contact):
    if sort == "updated":
        return (-c.updated_at.timestamp(), -c.id)
    if sort == "created":
        return (-c.created_at.timestamp(), -c.id)
    return (c.last_name.lower(), c.first_name.lower(), c.id)


@pytest.mark.parametrize("sort", ["updated", "created", "name", "-name"])
def test_walking_every_page_lists_each_contact_once_in_order(acme, many_contacts, sort):
    seen, pages, _ = _walk(acme, selectors.ContactFilters(sort=sort), size=5)
    assert len(seen) == 23 and len({c.pk for c in seen}) == 23
    assert pages == 5
    if sort in ("updated", "created"):
        assert seen == sorted(many_contacts, key=lambda c: _key(sort, c))
    else:
        # Case-insensitive name order (the database's lower(), which leaves Ç after the ASCII letters).
        lowered = [(c.last_name.lower(), c.first_name.lower()) for c in seen]
        assert lowered == sorted(lowered, reverse=sort == "-name")


def test_previous_goes_back_to_the_same_rows(acme, many_contacts):
    filters = selectors.ContactFilters()
    first = selectors.contact_list_page(organization=acme, filters=filters, size=5)
    second = selectors.contact_list_page(organization=acme, filters=filters, after=first.next_cursor, size=5)
    back = selectors.contact_list_page(organization=acme, filters=filters, before=second.prev_cursor, size=5)
    assert [c.pk for c in back.rows] == [c.pk for c in first.rows]
    assert back.is_first and back.prev_cursor is None
    assert not second.is_first


def test_filters_narrow_the_list_and_the_count(acme, many_contacts, owner):
    mine, _, last = _walk(acme, selectors.ContactFilters(owner=owner.pk), size=4)
    assert {c.owner_id for c in mine} == {owner.pk} and len(mine) == 11
    assert last.count == 11 and last.count_label == "11 contacts"
    unowned, _, _ = _walk(acme, selectors.ContactFilters(owner="none"), size=50)
    assert len(unowned) == 12


def test_search_matches_every_word_in_any_field(acme, owner):
    ContactFactory(organization=acme, first_name="Ada", last_name="Lovelace", company="Engines Ltd")
    ContactFactory(organization=acme, first_name="Ada", last_name="Byron", company="Poetry Inc")
    page = selectors.contact_list_page(organization=acme, filters=selectors.ContactFilters(q="ada engines"))
    assert [c.last_name for c in page.rows] == ["Lovelace"]


def test_a_garbled_cursor_shows_the_first_page(acme, many_contacts):
    filters = selectors.ContactFilters()
    for cursor in ["nonsense", "W10", "WyJ4IiwgMV0", "=="]:
        page = selectors.contact_list_page(organization=acme, filters=filters, after=cursor, size=5)
        assert page.is_first and len(page.rows) == 5


def test_the_count_stops_at_the_cap(acme, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for _ in range(5):
        ContactFactory(organization=acme)
    page = selectors.contact_list_page(organization=acme, filters=selectors.ContactFilters())
    assert page.count == 4 and page.count_label == "3+ contacts"


def test_other_organisations_contacts_never_appear(acme, globex, many_contacts):
    ContactFactory(organization=globex, email="theirs@globex.example")
    seen, _, _ = _walk(acme, selectors.ContactFilters(), size=50)
    assert "theirs@globex.example" not in {c.email for c in seen}
